//! `unet-nas report`: the page is written for a finished search, rendered
//! by headless Chromium without errors with all its figures and images,
//! explains its empty sections, and is refused for a search with nothing
//! evaluated.
//!
//! Needs Chromium (Debian's `chromium` package; `.ci/run` installs it), or
//! its path in `UNET_NAS_CHROMIUM`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{text, unet_nas};

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("UNET_NAS_CHROMIUM") {
        return PathBuf::from(path);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            .expect("sh runs");
        if found.status.success() {
            return PathBuf::from(text(&found.stdout).trim());
        }
    }
    panic!(
        "this test renders the report in headless Chromium: install Debian's chromium package (.ci/run does) or set UNET_NAS_CHROMIUM"
    );
}

/// Runs headless Chromium on `page` with `extra` flags (a fresh profile,
/// no network chatter) and returns its stdout.
fn headless(page: &Path, profile: &Path, extra: &[&str]) -> String {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let output = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=10000",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(extra)
        .arg(&url)
        .output()
        .expect("chromium starts");
    assert!(
        output.status.success(),
        "chromium failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The value of `attribute` on the rendered `<body>`.
fn body_attribute(dom: &str, attribute: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let start = body.find(&format!("{attribute}=\""))? + attribute.len() + 2;
    Some(body[start..start + body[start..].find('"')?].to_string())
}

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
        "20",
        "--channel-set",
        "8,16",
        "--ndf",
        "8",
        "--seed",
        "3",
        "--compare-original",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn the_report_renders_in_a_browser_with_every_figure() {
    let temp = tempfile::tempdir().unwrap();
    let search = temp.path().join("search");
    tiny_search(&search);

    // Before any evaluation: Table 1 is empty and says how to fill it.
    let early = unet_nas(&["report", search.to_str().unwrap()]);
    assert!(early.status.success(), "{}", text(&early.stderr));
    let said = text(&early.stdout);
    assert!(said.contains("5 of 6 sections filled"), "{said}");
    assert!(said.contains("unet-nas evaluate --model"), "{said}");
    let html = std::fs::read_to_string(search.join("report.html")).unwrap();
    assert!(html.contains("Empty: No evaluation of the final models yet"));

    let evaluated = unet_nas(&[
        "evaluate",
        "--model",
        search.join("final/best").to_str().unwrap(),
        "--model",
        search.join("final/original").to_str().unwrap(),
        "--data",
        "builtin:facades",
        "--segmenter-iterations",
        "20",
        "--segmenter-cache",
        temp.path().join("cache").to_str().unwrap(),
    ]);
    assert!(evaluated.status.success(), "{}", text(&evaluated.stderr));

    let page = temp.path().join("shared/report.html");
    std::fs::create_dir_all(page.parent().unwrap()).unwrap();
    let written = unet_nas(&[
        "report",
        search.to_str().unwrap(),
        "--out",
        page.to_str().unwrap(),
        "--images",
        "2",
    ]);
    assert!(written.status.success(), "{}", text(&written.stderr));
    assert!(
        text(&written.stdout).contains("6 of 6 sections filled"),
        "{}",
        text(&written.stdout)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    for fetch in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    assert!(
        html.contains("ground truth (real test images)"),
        "Table 1 with FCN-score"
    );
    assert!(html.contains("search.toml"));

    // Rendered: no error, 4 figures (fitness, Pareto, two architectures),
    // and input, original, searched and target for each of the 2 test pairs.
    let profile = temp.path().join("profile");
    let dom = headless(&page, &profile, &["--dump-dom"]);
    assert_eq!(
        body_attribute(&dom, "data-rendered").as_deref(),
        Some("ok"),
        "the page's load check did not pass: {}",
        &dom[..dom.len().min(400)]
    );
    assert_eq!(body_attribute(&dom, "data-figures").as_deref(), Some("4"));
    assert_eq!(body_attribute(&dom, "data-images").as_deref(), Some("8"));

    // And it paints something: a screenshot with many distinct colours.
    let shot = temp.path().join("shot.png");
    headless(
        &page,
        &profile,
        &[
            "--window-size=1200,3000",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let image = image::open(&shot).unwrap().to_rgb8();
    let mut colours: Vec<[u8; 3]> = image.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 50, "only {} colours painted", colours.len());
}

#[test]
fn a_search_with_nothing_evaluated_is_refused() {
    let temp = tempfile::tempdir().unwrap();
    let search = temp.path().join("search");
    tiny_search(&search);
    let fresh = temp.path().join("fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::copy(search.join("search.toml"), fresh.join("search.toml")).unwrap();

    let refused = unet_nas(&["report", fresh.to_str().unwrap()]);
    assert!(!refused.status.success());
    let message = text(&refused.stderr);
    assert!(message.contains("no finished evaluation"), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(!fresh.join("report.html").exists());

    let not_search = unet_nas(&["report", search.join("final/best").to_str().unwrap()]);
    assert!(!not_search.status.success());
    assert!(
        text(&not_search.stderr).contains("search.toml"),
        "{}",
        text(&not_search.stderr)
    );
}
