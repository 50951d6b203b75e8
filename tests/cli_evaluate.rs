//! `evaluate` and transfer with `train --genome-from`, on 16x16 data.

mod common;

use common::{text, unet_nas};

use std::path::Path;

fn tiny_search(run: &Path) {
    let output = unet_nas(&[
        "search",
        "--out",
        run.to_str().unwrap(),
        "--data",
        "builtin:facades",
        "--size",
        "16",
        "--population",
        "3",
        "--generations",
        "2",
        "--mini-train",
        "6",
        "--mini-val",
        "2",
        "--iterations",
        "2",
        "--synth-count",
        "10",
        "--channel-set",
        "8,16",
        "--ndf",
        "8",
        "--seed",
        "2",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn a_searched_design_transfers_and_is_evaluated_on_both_sets() {
    let temp = tempfile::tempdir().unwrap();
    let search = temp.path().join("search");
    tiny_search(&search);
    let best: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(search.join("generations/0001.json")).unwrap(),
    )
    .unwrap();

    let transfer = temp.path().join("transfer");
    let output = unet_nas(&[
        "train",
        "--genome-from",
        search.to_str().unwrap(),
        "--data",
        "builtin:maps",
        "--epochs",
        "1",
        "--epochs-decay",
        "0",
        "--synth-count",
        "10",
        "--ndf",
        "8",
        "--seed",
        "1",
        "--out",
        transfer.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let config = std::fs::read_to_string(transfer.join("config.toml")).unwrap();
    assert!(
        config.contains(best["best"]["genome"].as_str().unwrap()),
        "{config}"
    );

    let json = unet_nas(&[
        "evaluate",
        "--model",
        transfer.to_str().unwrap(),
        "--model",
        search.join("final/best").to_str().unwrap(),
        "--data",
        "builtin:maps",
        "--format",
        "json",
    ]);
    assert!(json.status.success(), "{}", text(&json.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text(&json.stdout)).unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row["images"], 1, "a tenth of 10 test pairs, at least 1");
        let l1 = row["l1"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&l1), "{row}");
        assert!(row["ssim"].as_f64().unwrap() <= 1.0);
        assert!(row["latency_ms"].as_f64().unwrap() > 0.0);
        assert!(row["paper_flops"].as_u64().unwrap() > row["macs"].as_u64().unwrap());
    }
    assert!(transfer.join("evaluations/builtin_maps.json").is_file());

    let csv = unet_nas(&[
        "evaluate",
        "--model",
        transfer.to_str().unwrap(),
        "--data",
        "builtin:facades",
        "--format",
        "csv",
    ]);
    let csv = text(&csv.stdout);
    assert!(
        csv.starts_with(
            "model,genome,parameters,size_mb,paper_flops,macs,latency_ms,l1,psnr_db,ssim,images"
        ),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2);
}

#[test]
fn unfinished_runs_and_missing_test_splits_are_refused() {
    let temp = tempfile::tempdir().unwrap();
    let search = temp.path().join("search");
    tiny_search(&search);
    let no_test = temp.path().join("data");
    std::fs::create_dir_all(no_test.join("train")).unwrap();
    image::RgbImage::new(32, 16)
        .save(no_test.join("train/a.png"))
        .unwrap();

    let not_run = unet_nas(&[
        "evaluate",
        "--model",
        search.to_str().unwrap(),
        "--data",
        "builtin:maps",
    ]);
    assert!(!not_run.status.success());
    assert!(
        text(&not_run.stderr).contains("is not a finished training run"),
        "{}",
        text(&not_run.stderr)
    );

    let model = search.join("final/best");
    let missing = unet_nas(&[
        "evaluate",
        "--model",
        model.to_str().unwrap(),
        "--data",
        no_test.to_str().unwrap(),
    ]);
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).contains("has no test split"),
        "{}",
        text(&missing.stderr)
    );

    let not_search = unet_nas(&[
        "train",
        "--genome-from",
        model.to_str().unwrap(),
        "--data",
        "builtin:maps",
        "--out",
        temp.path().join("x").to_str().unwrap(),
    ]);
    assert!(
        text(&not_search.stderr).contains("not a search run folder"),
        "{}",
        text(&not_search.stderr)
    );
}
