//! `unet-nas evaluate`: compare trained generators like the paper's Table 1.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use comfy_table::{CellAlignment, Table, presets};

use unet_nas::data::DataSource;
use unet_nas::evaluate::{ModelEvaluation, evaluate_model};

use super::numbers::{grouped_u64, short_scale};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas evaluate --model runs/search-1/final/best --model runs/p2p --data builtin:facades
  unet-nas evaluate --model runs/slim --data ~/datasets/facades --format csv > table.csv";

/// Arguments of `unet-nas evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// A finished training run folder; repeat for several rows.
    #[arg(long = "model", value_name = "RUN_DIR", required = true)]
    models: Vec<PathBuf>,
    /// The data set whose test split is scored.
    #[arg(long, value_name = "DIR|builtin:NAME")]
    data: DataSource,
    /// How to print the table.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// An aligned table for people.
    Text,
    /// A JSON array of rows (per-image scores included).
    Json,
    /// Comma-separated rows with a header.
    Csv,
}

const COLUMNS: [&str; 11] = [
    "model",
    "genome",
    "parameters",
    "size_mb",
    "paper_flops",
    "macs",
    "latency_ms",
    "l1",
    "psnr_db",
    "ssim",
    "images",
];

pub fn run(args: EvaluateArgs) -> Result<()> {
    let rows = args
        .models
        .iter()
        .map(|model| evaluate_model(model, &args.data))
        .collect::<Result<Vec<_>, _>>()?;
    match args.format {
        Format::Text => print_text(&rows),
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Csv => print_csv(&rows),
    }
    Ok(())
}

fn print_text(rows: &[ModelEvaluation]) {
    let mut table = Table::new();
    table.load_style(presets::ASCII_BORDERS_ONLY_CONDENSED);
    table.set_header(vec![
        "model",
        "genome",
        "parameters",
        "size (MB)",
        "paper FLOPs",
        "MACs",
        "latency (ms)",
        "L1",
        "PSNR (dB)",
        "SSIM",
    ]);
    for row in rows {
        table.add_row(vec![
            row.model.clone(),
            row.genome.clone(),
            grouped_u64(row.parameters),
            format!("{:.2}", row.model_mb),
            short_scale(row.paper_flops),
            short_scale(row.macs),
            format!("{:.1}", row.latency_ms),
            format!("{:.4}", row.l1),
            row.psnr
                .map(|p| format!("{p:.2}"))
                .unwrap_or_else(|| "inf".into()),
            format!("{:.4}", row.ssim),
        ]);
    }
    for column in 2..10 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
    if let Some(first) = rows.first() {
        println!(
            "{} test images of {}; eval mode; L1, PSNR (peak 1) and SSIM on pixels in [0, 1]; latency per image at batch 1 on this machine; FCN-score not implemented yet",
            first.images, first.data
        );
    }
}

fn print_csv(rows: &[ModelEvaluation]) {
    println!("{}", COLUMNS.join(","));
    for row in rows {
        let fields = [
            quote(&row.model),
            row.genome.clone(),
            row.parameters.to_string(),
            format!("{:.6}", row.model_mb),
            row.paper_flops.to_string(),
            row.macs.to_string(),
            format!("{:.3}", row.latency_ms),
            format!("{:.6}", row.l1),
            row.psnr.map(|p| format!("{p:.4}")).unwrap_or_default(),
            format!("{:.6}", row.ssim),
            row.images.to_string(),
        ];
        println!("{}", fields.join(","));
    }
}

/// CSV quoting for free text (paths may hold commas).
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}
