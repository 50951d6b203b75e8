//! The `inspect` and `space` commands, run as a user runs them.

use std::process::Output;

mod common;

use common::unet_nas;

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn inspect_pix2pix_json_has_the_published_counts() {
    let output = unet_nas(&[
        "inspect", "--preset", "pix2pix", "--size", "256", "--format", "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["genome"], "64-128-256-512-512-512-512-512:1111111");
    assert_eq!(report["size"], 256);
    assert_eq!(report["parameters"], 54_413_955u64);
    assert_eq!(report["paper_flops"], 18_146_500_608u64);
    assert_eq!(report["macs"], 6_048_186_368u64);
    assert_eq!(report["model_bytes"], 217_655_820u64);
    assert!(report["peak_activation_bytes"].as_u64().unwrap() > 0);
    assert_eq!(report["layers"].as_array().unwrap().len(), 16);
    assert_eq!(report["relative_to_pix2pix"]["paper_flops"], 1.0);
}

#[test]
fn inspect_json_layer_costs_add_up_to_the_totals() {
    let output = unet_nas(&[
        "inspect",
        "--genome",
        "32-16-16-8-24:1010",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let layers = report["layers"].as_array().unwrap();
    for key in ["parameters", "paper_flops", "macs"] {
        let sum: u64 = layers
            .iter()
            .map(|layer| layer[key].as_u64().unwrap())
            .sum();
        assert_eq!(report[key].as_u64().unwrap(), sum, "{key}");
    }
    // The fixture sparse-skips-32px counts 43,747 parameters.
    assert_eq!(report["parameters"], 43_747);
}

#[test]
fn inspect_table_names_both_conventions() {
    let output = unet_nas(&["inspect", "--preset", "pix2pix", "--size", "256"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let text = stdout(&output);
    assert!(text.contains("54,413,955"), "{text}");
    assert!(text.contains("18,146,500,608"), "{text}");
    assert!(text.contains("6,048,186,368"), "{text}");
    assert!(text.contains("output resolution"), "{text}");
    assert!(text.contains("true multiply-accumulates"), "{text}");
    assert!(text.contains("decoder 4 (convT)"), "{text}");
}

#[test]
fn inspect_grayscale_changes_the_ends() {
    let output = unet_nas(&[
        "inspect",
        "--preset",
        "pix2pix",
        "--size",
        "16",
        "--in-channels",
        "1",
        "--out-channels",
        "1",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let layers = report["layers"].as_array().unwrap();
    assert_eq!(layers[0]["in_channels"], 1);
    assert_eq!(layers.last().unwrap()["out_channels"], 1);
}

#[test]
fn space_counts_exactly_past_64_bits() {
    let widths: Vec<String> = (1..=1000).map(|width| width.to_string()).collect();
    let set = widths.join(",");
    let output = unet_nas(&[
        "space",
        "--size",
        "1024",
        "--channel-set",
        &set,
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));

    // 1000^10 * 2^9 = 512 * 10^30.
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["genomes"], format!("512{}", "0".repeat(30)));
    assert_eq!(report["skip_genes"], 9);
}

#[test]
fn space_text_for_the_default_set() {
    let output = unet_nas(&["space", "--size", "256"]);
    assert!(output.status.success(), "{}", stderr(&output));

    // 6^8 * 2^7 = 1,679,616 * 128.
    assert!(
        stdout(&output).contains("214,990,848"),
        "{}",
        stdout(&output)
    );
}

/// Every bad input fails with a non-zero status and one stderr line naming
/// the bad part, never a panic.
#[test]
fn bad_input_gets_one_clear_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["inspect", "--genome", "64-128-256:11"], "4 to 10"),
        (&["inspect", "--genome", "64-128-256-512:1111"], "3 bits"),
        (
            &["inspect", "--genome", "64-0-256-512:111"],
            "channel gene 1 is 0",
        ),
        (
            &["inspect", "--genome", "64-128-256-512:1a1"],
            "skip gene 1 is 'a'",
        ),
        (&["inspect", "--genome", ""], "empty"),
        (&["inspect", "--genome", "64-128-256-512"], "no ':'"),
        (&["inspect", "--genome", "64-12x-256-512:111"], "'12x'"),
        (
            &["inspect", "--genome", "64-128-256-512:111", "--size", "32"],
            "needs 5",
        ),
        (
            &[
                "inspect",
                "--genome",
                "8-16-20-32:111",
                "--channel-set",
                "8,16,32",
            ],
            "20",
        ),
        (
            &["inspect", "--preset", "pix2pix", "--size", "100"],
            "not a power of two",
        ),
        (
            &["inspect", "--preset", "pix2pix", "--size", "2048"],
            "out of range",
        ),
        (
            &["inspect", "--preset", "pix2pix", "--size", "big"],
            "not a number",
        ),
        (&["inspect", "--preset", "pix2pix"], "--size"),
        (&["inspect", "--size", "64"], "--genome"),
        (&["inspect", "--preset", "unet"], "unet"),
        (&["space", "--size", "64", "--channel-set", ""], "empty"),
        (&["space", "--size", "64", "--channel-set", "8,0"], "0"),
        (
            &["space", "--size", "64", "--channel-set", "8,16,8"],
            "8 twice",
        ),
        (&["space", "--size", "64", "--channel-set", "8,x"], "'x'"),
        (&["space", "--size", "12"], "not a power of two"),
    ];

    for (args, needle) in cases {
        let output = unet_nas(args);
        let message = stderr(&output);

        assert!(!output.status.success(), "{args:?} succeeded");
        assert_eq!(message.trim_end().lines().count(), 1, "{args:?}: {message}");
        assert!(
            message.contains(needle),
            "{args:?}: {message:?} lacks {needle:?}"
        );
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

#[test]
fn help_shows_examples() {
    let output = unet_nas(&["inspect", "--help"]);

    assert!(output.status.success());
    assert!(stdout(&output).contains("unet-nas inspect --preset pix2pix --size 256"));
}
