//! `unet-nas evaluate`: compare trained generators like the paper's Table 1.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use comfy_table::{CellAlignment, Table, presets};

use unet_nas::data::DataSource;
use unet_nas::evaluate::fcn::{FcnScore, SegmenterSettings, default_cache_dir};
use unet_nas::evaluate::palette::PaletteChoice;
use unet_nas::evaluate::{FcnOptions, ModelEvaluation, evaluate_model};

use super::numbers::{grouped_u64, short_scale};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas evaluate --model runs/search-1/final/best --model runs/p2p --data builtin:facades
  unet-nas evaluate --model runs/slim --data ~/datasets/facades --palette facades --format csv > table.csv
  unet-nas evaluate --model runs/city --data ~/datasets/cityscapes --palette cityscapes

The FCN-score segments generated images with a small FCN trained on the real
target images of the training split, labelled through the data set's palette
from the input images. It is trained once per data set, size and settings and
cached (see --segmenter-cache).";

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
    /// Label palette for the FCN-score: auto (a built-in set's own, or
    /// palette.toml in the data folder), none, cityscapes, facades (CMP),
    /// builtin:NAME, or a palette TOML file.
    #[arg(long, value_name = "NAME|FILE", default_value = "auto")]
    palette: PaletteChoice,
    /// Adam steps of the FCN-score's segmenter.
    #[arg(long, value_name = "N", default_value_t = SegmenterSettings::default().iterations)]
    segmenter_iterations: usize,
    /// Width of the segmenter's first stage.
    #[arg(long, value_name = "C", default_value_t = SegmenterSettings::default().width)]
    segmenter_width: usize,
    /// Images per segmenter step.
    #[arg(long, value_name = "N", default_value_t = SegmenterSettings::default().batch_size)]
    segmenter_batch: usize,
    /// Initial learning rate of the segmenter.
    #[arg(long, value_name = "LR", default_value_t = SegmenterSettings::default().lr)]
    segmenter_lr: f64,
    /// Folder of trained segmenters [default: $UNET_NAS_CACHE, else
    /// $XDG_CACHE_HOME/unet-nas, else ~/.cache/unet-nas].
    #[arg(long, value_name = "DIR")]
    segmenter_cache: Option<PathBuf>,
}

impl EvaluateArgs {
    fn fcn_options(&self) -> Result<FcnOptions> {
        let segmenter = SegmenterSettings {
            width: self.segmenter_width,
            iterations: self.segmenter_iterations,
            batch_size: self.segmenter_batch,
            lr: self.segmenter_lr,
            ..SegmenterSettings::default()
        };
        if segmenter.width == 0 || segmenter.iterations == 0 || segmenter.batch_size == 0 {
            anyhow::bail!(
                "--segmenter-width, --segmenter-iterations and --segmenter-batch must be positive"
            );
        }
        if !(segmenter.lr.is_finite() && segmenter.lr > 0.0) {
            anyhow::bail!(
                "--segmenter-lr must be a positive number, not {}",
                segmenter.lr
            );
        }
        Ok(FcnOptions {
            palette: self.palette.clone(),
            segmenter,
            cache_dir: self
                .segmenter_cache
                .clone()
                .unwrap_or_else(default_cache_dir),
        })
    }
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

const COLUMNS: [&str; 14] = [
    "model",
    "genome",
    "parameters",
    "size_mb",
    "paper_flops",
    "macs",
    "latency_ms",
    "pixel_acc",
    "class_acc",
    "mean_iou",
    "l1",
    "psnr_db",
    "ssim",
    "images",
];

pub fn run(args: EvaluateArgs) -> Result<()> {
    let fcn = args.fcn_options()?;
    let rows = args
        .models
        .iter()
        .map(|model| evaluate_model(model, &args.data, &fcn))
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
        "pixel acc",
        "class acc",
        "IoU",
        "L1",
        "PSNR (dB)",
        "SSIM",
    ]);
    if let Some(truth) = rows.first().and_then(|row| row.fcn_ground_truth) {
        let mut cells = vec!["ground truth (real test images)".to_string()];
        cells.extend(std::iter::repeat_n(String::new(), 6));
        cells.extend(fcn_cells(Some(truth)));
        table.add_row(cells);
    }
    for row in rows {
        let mut cells = vec![
            row.model.clone(),
            row.genome.clone(),
            grouped_u64(row.parameters),
            format!("{:.2}", row.model_mb),
            short_scale(row.paper_flops),
            short_scale(row.macs),
            format!("{:.1}", row.latency_ms),
        ];
        cells.extend(fcn_cells(row.fcn));
        cells.extend([
            format!("{:.4}", row.l1),
            row.psnr
                .map(|p| format!("{p:.2}"))
                .unwrap_or_else(|| "inf".into()),
            format!("{:.4}", row.ssim),
        ]);
        table.add_row(cells);
    }
    for column in 2..13 {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    println!("{table}");
    if let Some(first) = rows.first() {
        println!(
            "{} test images of {}; eval mode; L1, PSNR (peak 1) and SSIM on pixels in [0, 1]; latency per image at batch 1 on this machine",
            first.images, first.data
        );
        match (&first.segmenter, &first.fcn_note) {
            (Some(segmenter), _) => println!(
                "FCN-score: a {}-stage FCN (width {}, {} steps) trained on the {} real targets of the training split, labels from the inputs through palette {} ({} classes); pixel acc, mean class acc and mean IoU",
                segmenter.shape.stages,
                segmenter.shape.width,
                segmenter.settings.iterations,
                segmenter.train_pairs,
                segmenter.palette,
                segmenter.classes.len()
            ),
            (None, Some(note)) => println!("{note}"),
            (None, None) => {}
        }
    }
}

/// Pixel accuracy, class accuracy and IoU, or dashes without an FCN-score.
fn fcn_cells(score: Option<FcnScore>) -> [String; 3] {
    match score {
        Some(score) => [
            format!("{:.3}", score.pixel_accuracy),
            format!("{:.3}", score.class_accuracy),
            format!("{:.3}", score.mean_iou),
        ],
        None => ["-".into(), "-".into(), "-".into()],
    }
}

fn print_csv(rows: &[ModelEvaluation]) {
    println!("{}", COLUMNS.join(","));
    if let Some(truth) = rows.first().and_then(|row| row.fcn_ground_truth) {
        println!(
            "{},,,,,,,{},{},{},,,,",
            quote("ground truth (real test images)"),
            fcn_csv(Some(truth.pixel_accuracy)),
            fcn_csv(Some(truth.class_accuracy)),
            fcn_csv(Some(truth.mean_iou)),
        );
    }
    for row in rows {
        let fields = [
            quote(&row.model),
            row.genome.clone(),
            row.parameters.to_string(),
            format!("{:.6}", row.model_mb),
            row.paper_flops.to_string(),
            row.macs.to_string(),
            format!("{:.3}", row.latency_ms),
            fcn_csv(row.fcn.map(|s| s.pixel_accuracy)),
            fcn_csv(row.fcn.map(|s| s.class_accuracy)),
            fcn_csv(row.fcn.map(|s| s.mean_iou)),
            format!("{:.6}", row.l1),
            row.psnr.map(|p| format!("{p:.4}")).unwrap_or_default(),
            format!("{:.6}", row.ssim),
            row.images.to_string(),
        ];
        println!("{}", fields.join(","));
    }
}

fn fcn_csv(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.6}")).unwrap_or_default()
}

/// CSV quoting for free text (paths may hold commas).
fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}
