//! `unet-nas report`: one self-contained HTML page about a search.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use unet_nas::report::{ReportOptions, write_report};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas report runs/search-1                      # writes runs/search-1/report.html
  unet-nas report runs/search-1 --out ~/share/facades-search.html --images 10

The page needs no network: plots are inline SVG and images inline PNG. It can
be written while a search runs; sections whose material does not exist yet say
why they are empty. Run `unet-nas evaluate` on the final models first to get
the Table 1 comparison.";

/// Arguments of `unet-nas report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A search run folder.
    #[arg(value_name = "RUN_DIR")]
    run_dir: PathBuf,
    /// Where to write the page [default: RUN_DIR/report.html].
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Test images in the translation grid.
    #[arg(long, value_name = "N", default_value_t = ReportOptions::default().images)]
    images: usize,
}

pub fn run(args: ReportArgs) -> Result<()> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.run_dir.join("report.html"));
    let summary = write_report(
        &args.run_dir,
        &out,
        &ReportOptions {
            images: args.images,
        },
    )?;
    let empty: Vec<&(String, Option<String>)> = summary
        .sections
        .iter()
        .filter(|(_, reason)| reason.is_some())
        .collect();
    println!(
        "report written to {} ({} of {} sections filled)",
        summary.path.display(),
        summary.sections.len() - empty.len(),
        summary.sections.len()
    );
    for (title, reason) in empty {
        println!(
            "  empty: {title}: {}",
            reason.as_deref().unwrap_or_default()
        );
    }
    Ok(())
}
