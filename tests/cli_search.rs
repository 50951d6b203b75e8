//! `unet-nas search` end to end on 16x16 data: reproducible, resumable,
//! extendable, and strict about bad settings.

mod common;

use common::{text, unet_nas};

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const TINY: &[&str] = &[
    "--size",
    "16",
    "--population",
    "4",
    "--generations",
    "3",
    "--mini-train",
    "6",
    "--mini-val",
    "2",
    "--iterations",
    "2",
    "--synth-count",
    "10",
    "--channel-set",
    "8,16,32",
    "--ndf",
    "8",
    "--seed",
    "3",
];

/// The tiny settings, with any flag in `extra` replacing its default.
fn search(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["search", "--out", out.to_str().unwrap()];
    for pair in TINY.chunks(2) {
        if !extra.contains(&pair[0]) {
            args.extend_from_slice(pair);
        }
    }
    args.extend_from_slice(extra);
    unet_nas(&args)
}

fn generation(run: &Path, number: usize) -> serde_json::Value {
    let path = run.join(format!("generations/{number:04}.json"));
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("elapsed_seconds");
    value
}

fn trials(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("trials.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_seeded_search_finishes_reproducibly_with_elitism() {
    let temp = tempfile::tempdir().unwrap();
    let (first, second) = (temp.path().join("first"), temp.path().join("second"));

    let output = search(&first, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(search(&second, &[]).status.success());

    let summary = text(&output.stdout);
    assert!(summary.contains("best genome"), "{summary}");
    assert!(summary.contains("paper FLOPs"), "{summary}");
    for number in 0..3 {
        assert_eq!(
            generation(&first, number),
            generation(&second, number),
            "generation {number}"
        );
    }
    for number in 0..2 {
        let (now, next) = (generation(&first, number), generation(&first, number + 1));
        assert_eq!(
            next["population"][0]["genome"], now["best"]["genome"],
            "the elite survives"
        );
        assert!(next["best"]["fitness"].as_f64() >= now["best"]["fitness"].as_f64());
    }

    let trials = trials(&first);
    let genomes: std::collections::HashSet<_> = trials
        .iter()
        .map(|t| t["genome"].as_str().unwrap())
        .collect();
    assert_eq!(genomes.len(), trials.len(), "each genome is trained once");
    for key in [
        "generation",
        "genome",
        "fitness",
        "val_gan",
        "val_l1",
        "cost",
        "paper_flops",
        "macs",
        "parameters",
        "seconds",
    ] {
        assert!(trials[0].get(key).is_some(), "trials.jsonl lacks {key}");
    }
    let final_state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(first.join("final/best/state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(final_state["finished"], true);
    let best = generation(&first, 2)["best"]["genome"].clone();
    let final_config = std::fs::read_to_string(first.join("final/best/config.toml")).unwrap();
    assert!(
        final_config.contains(best.as_str().unwrap()),
        "the final model is the best genome"
    );
}

#[test]
fn parallel_jobs_give_the_same_trajectory_every_time() {
    let temp = tempfile::tempdir().unwrap();
    let (first, second) = (temp.path().join("first"), temp.path().join("second"));

    assert!(search(&first, &["--jobs", "2"]).status.success());
    assert!(search(&second, &["--jobs", "2"]).status.success());

    for number in 0..3 {
        assert_eq!(
            generation(&first, number),
            generation(&second, number),
            "generation {number}"
        );
    }
}

#[test]
fn resume_after_kill_ends_like_an_uninterrupted_search() {
    let temp = tempfile::tempdir().unwrap();
    let whole = temp.path().join("whole");
    assert!(search(&whole, &[]).status.success());

    let killed = temp.path().join("killed");
    let mut args = vec![
        "search".to_string(),
        "--out".into(),
        killed.display().to_string(),
    ];
    args.extend(TINY.iter().map(|s| s.to_string()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_unet-nas"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !killed.join("generations/0000.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "generation 0 never finished"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("generations/0002.json").exists(),
        "the search finished before the kill"
    );

    let resumed = unet_nas(&["search", "--resume", killed.to_str().unwrap()]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    for number in 0..3 {
        assert_eq!(
            generation(&whole, number),
            generation(&killed, number),
            "generation {number}"
        );
    }
}

#[test]
fn ctrl_c_stops_cleanly_and_the_search_resumes() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    let mut args = vec![
        "search".to_string(),
        "--out".into(),
        run.display().to_string(),
    ];
    for pair in TINY.chunks(2) {
        if pair[0] != "--generations" {
            args.extend(pair.iter().map(|s| s.to_string()));
        }
    }
    args.extend(["--generations".into(), "40".into()]);
    let child = Command::new(env!("CARGO_BIN_EXE_unet-nas"))
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !run.join("generations/0000.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "generation 0 never finished"
        );
        std::thread::sleep(Duration::from_millis(2));
    }

    let interrupt = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    let output = child.wait_with_output().unwrap();

    let message = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        message.contains("interrupted; continue with --resume"),
        "{message}"
    );
    assert!(!run.join("generations/0039.json").exists());
    let resumed = unet_nas(&[
        "search",
        "--resume",
        run.to_str().unwrap(),
        "--generations",
        "4",
    ]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert!(run.join("final/best/state.json").exists());
}

#[test]
fn a_finished_search_can_be_extended() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    assert!(search(&run, &["--generations", "2"]).status.success());

    let output = unet_nas(&[
        "search",
        "--resume",
        run.to_str().unwrap(),
        "--generations",
        "3",
    ]);

    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(run.join("generations/0002.json").exists());
    let saved = std::fs::read_to_string(run.join("search.toml")).unwrap();
    assert!(saved.contains("generations = 3"), "{saved}");
}

#[test]
fn candidates_with_nan_losses_get_zero_fitness_and_the_search_goes_on() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");

    // A learning rate this large makes every candidate's loss NaN at once.
    let output = search(&run, &["--lr", "1e30", "--generations", "2"]);

    for trial in trials(&run) {
        assert_eq!(trial["fitness"], 0.0);
        assert!(
            trial["failure"].as_str().unwrap().contains("at iteration"),
            "{trial}"
        );
    }
    assert!(
        run.join("generations/0001.json").exists(),
        "every generation ran"
    );
    assert!(
        text(&output.stderr).contains("fitness 0"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn bad_settings_fail_before_any_training() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("out");
    let not_a_search = temp.path().join("nothing");
    std::fs::create_dir_all(&not_a_search).unwrap();
    let bad_config = temp.path().join("bad.toml");
    std::fs::write(&bad_config, "population = 4\npopulaton = 5\n").unwrap();
    let (out, not_a_search, bad_config) = (
        out.to_str().unwrap(),
        not_a_search.to_str().unwrap(),
        bad_config.to_str().unwrap(),
    );

    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--population", "1"], "population must be at least 2"),
        (vec!["--population", "0"], "population must be at least 2"),
        (vec!["--generations", "0"], "generations must be at least 1"),
        (vec!["--p-selection", "0.5"], "must be 1"),
        (
            vec!["--p-mutation", "-0.1", "--p-crossover", "0.9"],
            "0 or more",
        ),
        (vec!["--gamma", "-1"], "gamma must be 0 or more"),
        (vec!["--channel-set", "16"], "mutation needs at least two"),
        (vec!["--mini-train", "500"], "larger than the training set"),
        (vec!["--config", bad_config], "populaton"),
        (vec!["--data", "/definitely/missing"], "does not exist"),
    ];
    for (settings, needle) in cases {
        let mut args = vec![
            "search",
            "--out",
            out,
            "--size",
            "16",
            "--synth-count",
            "10",
            "--seed",
            "1",
        ];
        args.extend(&settings);
        let output = unet_nas(&args);
        let message = text(&output.stderr);

        assert!(!output.status.success(), "{settings:?} succeeded");
        assert!(
            message.contains(needle),
            "{settings:?}: {message:?} lacks {needle:?}"
        );
        assert!(!message.contains("panicked"), "{message}");
        assert!(
            !Path::new(out).join("trials.jsonl").exists(),
            "{settings:?} trained something"
        );
    }

    let output = unet_nas(&["search", "--resume", not_a_search]);
    assert!(
        text(&output.stderr).contains("not a search run folder"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn resume_refuses_edited_settings() {
    let temp = tempfile::tempdir().unwrap();
    let run = temp.path().join("run");
    assert!(search(&run, &["--generations", "1"]).status.success());

    let flag = unet_nas(&["search", "--resume", run.to_str().unwrap(), "--gamma", "3"]);
    assert!(
        text(&flag.stderr).contains("only --generations may be given"),
        "{}",
        text(&flag.stderr)
    );

    let path = run.join("search.toml");
    let edited = std::fs::read_to_string(&path)
        .unwrap()
        .replace("gamma = 10.0", "gamma = 3.0");
    std::fs::write(&path, edited).unwrap();
    let output = unet_nas(&[
        "search",
        "--resume",
        run.to_str().unwrap(),
        "--generations",
        "2",
    ]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("was edited"),
        "{}",
        text(&output.stderr)
    );
}
