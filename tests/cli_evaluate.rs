//! `evaluate` and transfer with `train --genome-from`, on 16x16 data.

mod common;

use common::{text, unet_nas};

use std::path::Path;

use unet_nas::data::synthetic::Builtin;

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
        "--segmenter-iterations",
        "20",
        "--segmenter-cache",
        temp.path().join("cache").to_str().unwrap(),
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
        "--segmenter-iterations",
        "20",
        "--segmenter-cache",
        temp.path().join("cache").to_str().unwrap(),
    ]);
    let csv = text(&csv.stdout);
    assert!(
        csv.starts_with(
            "model,genome,parameters,size_mb,paper_flops,macs,latency_ms,pixel_acc,class_acc,mean_iou,l1,psnr_db,ssim,images"
        ),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3, "header, ground truth, model: {csv}");
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

/// A palette file in the format `evaluate` reads, with `extra` classes.
fn palette_file(builtin: Builtin, extra: &[(&str, &str)]) -> String {
    let palette = builtin.palette();
    let mut text = String::new();
    for (name, [r, g, b]) in palette.names.iter().zip(palette.colors) {
        text += &format!("[[class]]\nname = \"{name}\"\ncolor = \"#{r:02x}{g:02x}{b:02x}\"\n");
    }
    for (name, color) in extra {
        text += &format!("[[class]]\nname = \"{name}\"\ncolor = \"{color}\"\n");
    }
    text
}

#[test]
fn the_fcn_score_uses_the_folder_palette_checks_it_and_caches_its_segmenter() {
    let temp = tempfile::tempdir().unwrap();
    let search = temp.path().join("search");
    tiny_search(&search);
    let model = search.join("final/best");
    let data = temp.path().join("facades");
    let made = unet_nas(&[
        "dataset",
        "synth",
        "--name",
        "facades",
        "--size",
        "16",
        "--count",
        "40",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", text(&made.stderr));
    let cache = temp.path().join("cache");
    let evaluate = |extra: &[&str]| {
        let mut args = vec![
            "evaluate",
            "--model",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--format",
            "json",
            "--segmenter-iterations",
            "150",
            "--segmenter-cache",
            cache.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        unet_nas(&args)
    };

    // No palette: image metrics only, and the row says why.
    let plain = evaluate(&[]);
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let rows: serde_json::Value = serde_json::from_str(&text(&plain.stdout)).unwrap();
    assert!(rows[0]["fcn"].is_null());
    assert!(
        rows[0]["fcn_note"]
            .as_str()
            .unwrap()
            .contains("palette.toml"),
        "{rows}"
    );

    // The set's palette in the folder: scores, and a segmenter that beats
    // always answering the most common class on the real images.
    let palette_path = data.join("palette.toml");
    std::fs::write(&palette_path, palette_file(Builtin::Facades, &[])).unwrap();
    let scored = evaluate(&[]);
    assert!(scored.status.success(), "{}", text(&scored.stderr));
    let rows: serde_json::Value = serde_json::from_str(&text(&scored.stdout)).unwrap();
    let row = &rows[0];
    let truth = row["fcn_ground_truth"]["pixel_accuracy"].as_f64().unwrap();
    let pixels: Vec<f64> = row["segmenter"]["class_pixels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|count| count.as_f64().unwrap())
        .collect();
    let majority = pixels.iter().cloned().fold(0.0, f64::max) / pixels.iter().sum::<f64>();
    assert!(
        truth > majority + 0.05,
        "ground truth {truth} vs majority {majority}"
    );
    for key in ["pixel_accuracy", "class_accuracy", "mean_iou"] {
        let value = row["fcn"][key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&value), "{key} {value}");
    }

    // A second evaluation reuses the cached segmenter: same reference row.
    let again = evaluate(&[]);
    let again: serde_json::Value = serde_json::from_str(&text(&again.stdout)).unwrap();
    assert_eq!(again[0]["fcn_ground_truth"], row["fcn_ground_truth"]);
    assert_eq!(
        std::fs::read_dir(cache.join("segmenters")).unwrap().count(),
        1
    );

    // A colour the label maps never use is refused, by name.
    std::fs::write(
        &palette_path,
        palette_file(Builtin::Facades, &[("statue", "#123456")]),
    )
    .unwrap();
    let unused = evaluate(&[]);
    assert!(!unused.status.success());
    let message = text(&unused.stderr);
    assert!(message.contains("'statue' #123456"), "{message}");
    assert!(message.contains("palette.toml"), "{message}");

    // Another set's palette labels almost nothing.
    let wrong = evaluate(&["--palette", "builtin:maps"]);
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("farther than"),
        "{}",
        text(&wrong.stderr)
    );

    // A file that does not parse.
    std::fs::write(&palette_path, "[[class]]\nname = 'x'\ncolor = 12\n").unwrap();
    let broken = evaluate(&[]);
    assert!(!broken.status.success());
    let message = text(&broken.stderr);
    assert!(message.contains("palette.toml"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}
