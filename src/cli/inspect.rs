//! `unet-nas inspect`: one generator's layer table and cost.

use anyhow::{Context, Result, bail};
use clap::{ArgGroup, Args, ValueEnum};
use comfy_table::{CellAlignment, Table, presets};
use serde::Serialize;

use unet_nas::cost::{Cost, LayerCost, RelativeCost};
use unet_nas::genome::{ChannelSet, Genome, ImageSize, Preset};
use unet_nas::plan::{Activation, ImageChannels, Layer, LayerPlan, Output, Side};

use super::numbers::{grouped_u64, short_scale};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas inspect --preset pix2pix --size 256
  unet-nas inspect --genome 32-64-128-256-256-256:10101 --format json
  unet-nas inspect --genome 8-16-24-32:101 --channel-set 8,16,24,32";

/// Arguments of `unet-nas inspect`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("architecture").required(true).args(["genome", "preset"])))]
pub struct InspectArgs {
    /// The generator as a genome: widths joined by '-', outermost first, a
    /// colon, then one skip bit per encoder/decoder pair (1 = kept), e.g.
    /// 64-128-256-512:111.
    #[arg(long, value_name = "GENOME")]
    genome: Option<Genome>,

    /// A named generator instead of a genome.
    #[arg(long, value_enum, value_name = "NAME")]
    preset: Option<Preset>,

    /// Image side in pixels, a power of two from 16 to 1024. Defaults to the
    /// side the genome was written for; required with --preset.
    #[arg(long, value_name = "PIXELS")]
    size: Option<ImageSize>,

    /// Widths a genome may use, comma-separated (e.g. 8,16,24,32). When
    /// given, every width of --genome must be in it.
    #[arg(long, value_name = "LIST")]
    channel_set: Option<ChannelSet>,

    /// Channels of the input image (1 for grayscale tasks).
    #[arg(long, default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    in_channels: u32,

    /// Channels of the output image.
    #[arg(long, default_value_t = 3, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    out_channels: u32,

    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// A layer table and a cost summary for people.
    Table,
    /// One JSON object for programs.
    Json,
}

/// Everything `inspect` needs, checked.
struct Resolved {
    genome: Genome,
    size: ImageSize,
    channels: ImageChannels,
    format: Format,
}

pub fn run(args: InspectArgs) -> Result<()> {
    let resolved = resolve(args)?;

    let plan = LayerPlan::decode(&resolved.genome, resolved.size, resolved.channels);
    let report = Report::new(&resolved.genome, &plan);
    match resolved.format {
        Format::Table => print!("{}", render_table(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

fn resolve(args: InspectArgs) -> Result<Resolved> {
    let (genome, size) = match (args.genome, args.preset) {
        (Some(genome), _) => {
            let size = args.size.unwrap_or_else(|| genome.size());
            genome
                .check_size(size)
                .with_context(|| format!("genome {genome} does not fit --size {size}"))?;
            (genome, size)
        }
        (None, Some(preset)) => {
            let Some(size) = args.size else {
                bail!("--preset needs --size (e.g. --preset pix2pix --size 256)");
            };
            (preset.genome(size.depth()), size)
        }
        (None, None) => bail!("give --genome or --preset"),
    };

    if let Some(set) = &args.channel_set {
        genome
            .check_channel_set(set)
            .with_context(|| format!("genome {genome} is outside --channel-set"))?;
    }
    Ok(Resolved {
        genome,
        size,
        channels: ImageChannels {
            input: args.in_channels,
            output: args.out_channels,
        },
        format: args.format,
    })
}

/// The JSON shape of `inspect --format json`; documented in the README.
#[derive(Debug, Serialize)]
struct Report {
    genome: String,
    size: u32,
    in_channels: u32,
    out_channels: u32,
    parameters: u64,
    paper_flops: u64,
    macs: u64,
    model_bytes: u64,
    peak_activation_bytes: u64,
    relative_to_pix2pix: RelativeCost,
    layers: Vec<LayerRow>,
}

#[derive(Debug, Serialize)]
struct LayerRow {
    #[serde(flatten)]
    layer: Layer,
    #[serde(flatten)]
    cost: LayerCost,
}

impl Report {
    fn new(genome: &Genome, plan: &LayerPlan) -> Self {
        let cost = Cost::of(plan);
        let original = Genome::pix2pix(plan.size().depth());
        let reference = Cost::of_genome(&original, plan.size(), plan.image_channels());
        let layers = plan
            .layers()
            .map(|layer| LayerRow {
                layer: layer.clone(),
                cost: LayerCost::of(layer),
            })
            .collect();

        Self {
            genome: genome.to_string(),
            size: plan.size().side(),
            in_channels: plan.image_channels().input,
            out_channels: plan.image_channels().output,
            parameters: cost.parameters,
            paper_flops: cost.paper_flops,
            macs: cost.macs,
            model_bytes: cost.model_bytes,
            peak_activation_bytes: cost.peak_activation_bytes,
            relative_to_pix2pix: cost.relative_to(&reference),
            layers,
        }
    }
}

fn render_table(report: &Report) -> String {
    let mut out = format!(
        "Generator {} for {}x{} images, {} -> {} channels\n\n",
        report.genome, report.size, report.size, report.in_channels, report.out_channels
    );
    out.push_str(&layer_table(&report.layers).to_string());
    out.push_str("\n\n");
    out.push_str(&cost_summary(report));
    out
}

fn layer_table(rows: &[LayerRow]) -> Table {
    let mut table = Table::new();
    table.load_style(presets::ASCII_BORDERS_ONLY_CONDENSED);
    table.set_header(vec![
        "layer",
        "in",
        "skip in",
        "out",
        "resolution",
        "before",
        "after",
        "parameters",
        "paper FLOPs",
        "MACs",
    ]);
    for row in rows {
        table.add_row(layer_cells(row));
    }
    for column in [1, 2, 3, 7, 8, 9] {
        if let Some(column) = table.column_mut(column) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn layer_cells(row: &LayerRow) -> Vec<String> {
    let layer = &row.layer;
    let name = match layer.side {
        Side::Encoder => format!("encoder {} (conv)", layer.index),
        Side::Decoder => format!("decoder {} (convT)", layer.index),
    };
    let skip = if layer.skip_channels > 0 {
        layer.skip_channels.to_string()
    } else {
        "-".to_string()
    };
    vec![
        name,
        layer.in_channels.to_string(),
        skip,
        layer.out_channels.to_string(),
        format!("{} -> {}", layer.in_resolution, layer.out_resolution),
        activation_name(layer.activation).to_string(),
        after_name(layer),
        grouped_u64(row.cost.parameters),
        grouped_u64(row.cost.paper_flops),
        grouped_u64(row.cost.macs),
    ]
}

fn activation_name(activation: Activation) -> &'static str {
    match activation {
        Activation::None => "-",
        Activation::LeakyRelu => "LeakyReLU(0.2)",
        Activation::Relu => "ReLU",
    }
}

fn after_name(layer: &Layer) -> String {
    let mut parts = Vec::new();
    if layer.bias {
        parts.push("bias");
    }
    match layer.output {
        Output::Plain => {}
        Output::BatchNorm => parts.push("BatchNorm"),
        Output::Tanh => parts.push("Tanh"),
    }
    if layer.dropout {
        parts.push("Dropout(0.5)");
    }
    if parts.is_empty() {
        "-".to_string()
    } else {
        parts.join(", ")
    }
}

fn cost_summary(report: &Report) -> String {
    let relative = &report.relative_to_pix2pix;
    let lines = [
        format!(
            "parameters              {} ({:.1}% of the pix2pix U-Net at this size)",
            grouped_u64(report.parameters),
            100.0 * relative.parameters
        ),
        format!(
            "model size (float32)    {:.2} MB ({} bytes)",
            report.model_bytes as f64 / 1e6,
            grouped_u64(report.model_bytes)
        ),
        format!(
            "paper FLOPs             {} ({}; {:.1}% of pix2pix)",
            grouped_u64(report.paper_flops),
            short_scale(report.paper_flops),
            100.0 * relative.paper_flops
        ),
        "  convention: as the paper's counter: a transposed conv at its output resolution,"
            .to_string(),
        "  BatchNorm 2 and bias 1 per output element".to_string(),
        format!(
            "MACs                    {} ({}; {:.1}% of pix2pix)",
            grouped_u64(report.macs),
            short_scale(report.macs),
            100.0 * relative.macs
        ),
        "  convention: true multiply-accumulates; a transposed conv at its input resolution"
            .to_string(),
        format!(
            "peak activations        {:.2} MB ({} bytes, inference, batch 1, float32)",
            report.peak_activation_bytes as f64 / 1e6,
            grouped_u64(report.peak_activation_bytes)
        ),
    ];
    lines.join("\n") + "\n"
}
