//! `train`, `translate` and `dataset`, run as a user runs them, on 16x16
//! data so each run takes a second or two.

mod common;

use common::{text, unet_nas};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use image::{GenericImageView, Rgb, RgbImage};

const TINY: &[&str] = &[
    "--data",
    "builtin:maps",
    "--genome",
    "8-8-16-16:101",
    "--size",
    "16",
    "--synth-count",
    "12",
    "--seed",
    "5",
];

fn train(folder: &Path, extra: &[&str]) -> Output {
    let out = folder.to_str().unwrap();
    let mut args = vec!["train", "--out", out];
    args.extend_from_slice(TINY);
    args.extend_from_slice(extra);
    unet_nas(&args)
}

fn state(folder: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(folder.join("state.json")).unwrap()).unwrap()
}

#[test]
fn a_run_folder_has_everything_the_format_promises() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");

    let output = train(&run, &["--epochs", "1", "--epochs-decay", "1"]);
    assert!(output.status.success(), "{}", text(&output.stderr));

    let state = state(&run);
    assert_eq!(state["finished"], true);
    assert_eq!(state["epochs_done"], 2);
    assert_eq!(state["format_version"], 1);
    assert_eq!(state["history"].as_array().unwrap().len(), 2);
    let checkpoint = run.join(state["checkpoint"].as_str().unwrap());
    for file in [
        "generator.bpk",
        "discriminator.bpk",
        "optimizer_g.bpk",
        "optimizer_d.bpk",
    ] {
        assert!(checkpoint.join(file).is_file(), "{file}");
    }
    assert_eq!(
        std::fs::read_dir(run.join("checkpoints")).unwrap().count(),
        1,
        "old checkpoints pruned"
    );
    let grid = image::open(run.join("samples/epoch_0002.png")).unwrap();
    assert_eq!(
        grid.dimensions(),
        (48, 16),
        "input | output | target for the 1 val pair"
    );
    let log = std::fs::read_to_string(run.join("train.log")).unwrap();
    assert_eq!(
        log.lines()
            .filter(|line| line.starts_with("epoch "))
            .count(),
        2,
        "{log}"
    );

    // The saved config reads back with the flag names as keys.
    let config: toml::Table = std::fs::read_to_string(run.join("config.toml"))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(config["genome"].as_str(), Some("8-8-16-16:101"));
    assert_eq!(config["epochs-decay"].as_integer(), Some(1));
}

#[test]
fn resume_after_kill_matches_an_uninterrupted_run() {
    let temp = tempfile::tempdir().unwrap();
    let epochs = ["--epochs", "3", "--epochs-decay", "3"];
    let whole = temp.path().join("whole");
    assert!(train(&whole, &epochs).status.success());

    let killed = temp.path().join("killed");
    let mut args = vec![
        "train".to_string(),
        "--out".into(),
        killed.display().to_string(),
    ];
    args.extend(TINY.iter().chain(&epochs).map(|s| s.to_string()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_unet-nas"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let epochs_done = wait_for_epoch(&killed);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        epochs_done < 6,
        "the run finished before it could be killed"
    );

    let resumed = unet_nas(&["train", "--resume", killed.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let without_times = |folder: &Path| {
        let mut history = state(folder)["history"].clone();
        for record in history.as_array_mut().unwrap() {
            record.as_object_mut().unwrap().remove("seconds");
        }
        history
    };
    assert_eq!(
        without_times(&whole),
        without_times(&killed),
        "same losses every epoch"
    );
    assert_eq!(
        std::fs::read(whole.join("samples/epoch_0006.png")).unwrap(),
        std::fs::read(killed.join("samples/epoch_0006.png")).unwrap()
    );
}

/// Polls `state.json` until an epoch is committed; returns how many.
fn wait_for_epoch(run: &Path) -> u64 {
    let started = Instant::now();
    loop {
        if let Ok(text) = std::fs::read_to_string(run.join("state.json")) {
            let state: serde_json::Value = serde_json::from_str(&text).unwrap();
            let done = state["epochs_done"].as_u64().unwrap();
            if done >= 1 {
                return done;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no epoch finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_nan_loss_stops_with_the_iteration_and_keeps_the_checkpoint() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    assert!(
        train(&run, &["--epochs", "1", "--epochs-decay", "0"])
            .status
            .success()
    );

    // Ask for more epochs with an L1 weight that overflows float32.
    let config_path = run.join("config.toml");
    let config = std::fs::read_to_string(&config_path)
        .unwrap()
        .replace("epochs = 1", "epochs = 3")
        .replace("lambda-l1 = 100.0", "lambda-l1 = 1e39");
    std::fs::write(&config_path, config).unwrap();
    let output = unet_nas(&["train", "--resume", run.to_str().unwrap()]);

    let message = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        message.contains("loss became inf at epoch 2, iteration 1"),
        "{message}"
    );
    assert!(
        message.contains("epoch_0001, epoch 1) is intact"),
        "{message}"
    );
    assert_eq!(state(&run)["epochs_done"], 1);
    assert!(run.join("checkpoints/epoch_0001/generator.bpk").is_file());
}

#[test]
fn translate_handles_any_size_tiles_and_pairs() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    assert!(
        train(&run, &["--epochs", "1", "--epochs-decay", "0"])
            .status
            .success()
    );
    let inputs = temp.path().join("inputs");
    std::fs::create_dir(&inputs).unwrap();
    let odd = RgbImage::from_fn(37, 23, |x, y| Rgb([(x * 6) as u8, (y * 9) as u8, 128]));
    odd.save(inputs.join("odd.png")).unwrap();
    RgbImage::from_pixel(70, 50, Rgb([10, 200, 30]))
        .save(inputs.join("large.png"))
        .unwrap();
    std::fs::write(inputs.join("broken.png"), b"not a png").unwrap();
    let out = temp.path().join("out");

    let output = unet_nas(&[
        "translate",
        "--model",
        run.to_str().unwrap(),
        "--input",
        inputs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--tile",
        "32",
    ]);

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("translated 2 of 3 images"),
        "{}",
        text(&output.stdout)
    );
    assert!(text(&output.stderr).contains("broken.png"));
    assert_eq!(
        image::open(out.join("odd.png")).unwrap().dimensions(),
        (37, 23)
    );
    assert_eq!(
        image::open(out.join("large.png")).unwrap().dimensions(),
        (70, 50)
    );

    let pair = RgbImage::from_fn(32, 16, |x, _| Rgb([(x * 8) as u8, 0, 0]));
    let pair_path = temp.path().join("pair.png");
    pair.save(&pair_path).unwrap();
    let output = unet_nas(&[
        "translate",
        "--model",
        run.to_str().unwrap(),
        "--input",
        pair_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--aligned",
        "--train-mode",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("training mode"));
    assert_eq!(
        image::open(out.join("pair.png")).unwrap().dimensions(),
        (16, 16)
    );
}

#[test]
fn dataset_synth_writes_a_folder_that_trains() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("facades");
    let output = unet_nas(&[
        "dataset",
        "synth",
        "--name",
        "facades",
        "--size",
        "16",
        "--count",
        "10",
        "--out",
        data.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(std::fs::read_dir(data.join("train")).unwrap().count(), 10);
    assert_eq!(std::fs::read_dir(data.join("test")).unwrap().count(), 1);
    assert_eq!(
        image::open(data.join("val/val_00000.png"))
            .unwrap()
            .dimensions(),
        (32, 16)
    );

    let run = temp.path().join("run");
    let output = unet_nas(&[
        "train",
        "--data",
        data.to_str().unwrap(),
        "--genome",
        "8-8-8-8:111",
        "--epochs",
        "1",
        "--epochs-decay",
        "0",
        "--seed",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// A folder with every kind of bad file the issue lists.
fn messy_folder(root: &Path) -> PathBuf {
    let train = root.join("train");
    std::fs::create_dir_all(&train).unwrap();
    RgbImage::from_pixel(32, 16, Rgb([1, 2, 3]))
        .save(train.join("good.png"))
        .unwrap();
    RgbImage::from_pixel(33, 16, Rgb([1, 2, 3]))
        .save(train.join("odd.png"))
        .unwrap();
    image::GrayImage::from_pixel(32, 16, image::Luma([80]))
        .save(train.join("gray.png"))
        .unwrap();
    image::RgbaImage::from_pixel(32, 16, image::Rgba([1, 2, 3, 4]))
        .save(train.join("rgba.png"))
        .unwrap();
    std::fs::write(train.join("notes.txt"), "hello").unwrap();
    let mut truncated = std::fs::read(train.join("good.png")).unwrap();
    truncated.truncate(truncated.len() / 2);
    std::fs::write(train.join("truncated.png"), truncated).unwrap();
    std::fs::write(train.join("corrupt.jpg"), b"\xff\xd8\xff garbage").unwrap();
    root.to_path_buf()
}

#[test]
fn dataset_check_names_every_unusable_file() {
    let temp = tempfile::tempdir().unwrap();
    let root = messy_folder(temp.path());

    let output = unet_nas(&["dataset", "check", root.to_str().unwrap()]);

    let report = text(&output.stdout);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        report
            .contains("train: 3 usable pairs, 4 unusable files, 2 images need channel conversion"),
        "{report}"
    );
    for name in ["odd.png", "notes.txt", "truncated.png", "corrupt.jpg"] {
        assert!(report.contains(name), "{name} missing from {report}");
    }
    assert!(report.contains("odd width"), "{report}");
    assert!(report.contains("val: absent"), "{report}");
}

#[test]
fn training_skips_bad_files_and_says_how_many() {
    let temp = tempfile::tempdir().unwrap();
    let root = messy_folder(temp.path());
    let run = temp.path().join("run");

    let output = unet_nas(&[
        "train",
        "--data",
        root.to_str().unwrap(),
        "--genome",
        "8-8-8-8:111",
        "--epochs",
        "1",
        "--epochs-decay",
        "0",
        "--seed",
        "1",
        "--out",
        run.to_str().unwrap(),
    ]);

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("4 unusable training files were skipped"));
    assert!(
        text(&output.stderr).contains("converted 2 images"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn bad_training_input_fails_in_one_line() {
    let temp = tempfile::tempdir().unwrap();
    let empty = temp.path().join("empty");
    std::fs::create_dir_all(empty.join("train")).unwrap();
    let bad_config = temp.path().join("bad.toml");
    std::fs::write(&bad_config, "epochs = 2\nepoch-decay = 3\n").unwrap();
    let missing = temp.path().join("missing");
    let out = temp.path().join("out");
    let (empty, missing, out, bad_config) = (
        empty.to_str().unwrap(),
        missing.to_str().unwrap(),
        out.to_str().unwrap(),
        bad_config.to_str().unwrap(),
    );

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--data", missing, "--genome", "8-8-8-8:111"],
            "does not exist",
        ),
        (
            vec!["--data", empty, "--genome", "8-8-8-8:111"],
            "no usable image pairs",
        ),
        (
            vec!["--data", "builtin:mapz", "--genome", "8-8-8-8:111"],
            "unknown built-in",
        ),
        (
            vec![
                "--data",
                "builtin:maps",
                "--genome",
                "8-8-8-8:111",
                "--size",
                "32",
            ],
            "needs 5",
        ),
        (
            vec![
                "--data",
                "builtin:maps",
                "--genome",
                "8-8-8-8:111",
                "--batch-size",
                "0",
            ],
            "batch-size",
        ),
        (
            vec![
                "--config",
                bad_config,
                "--data",
                "builtin:maps",
                "--genome",
                "8-8-8-8:111",
            ],
            "epoch-decay",
        ),
        (vec!["--resume", missing], "not a training run folder"),
    ];
    for (args, needle) in cases {
        let mut full = vec!["train"];
        if !args.contains(&"--resume") {
            full.extend(["--out", out]);
        }
        full.extend(&args);
        let output = unet_nas(&full);
        let message = text(&output.stderr);
        let errors: Vec<&str> = message
            .lines()
            .filter(|line| line.contains("error"))
            .collect();

        assert!(!output.status.success(), "{args:?} succeeded");
        assert_eq!(errors.len(), 1, "{args:?}: {message}");
        assert!(
            message.contains(needle),
            "{args:?}: {message:?} lacks {needle:?}"
        );
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}
