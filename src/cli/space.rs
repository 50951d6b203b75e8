//! `unet-nas space`: the choices and the size of the search space.

use anyhow::Result;
use clap::{Args, ValueEnum};
use serde::Serialize;

use unet_nas::genome::{ChannelSet, ImageSize, space_size};

use super::numbers::grouped;

pub const EXAMPLES: &str = "\
Examples:
  unet-nas space --size 256
  unet-nas space --size 64 --channel-set 8,16,24,32 --format json";

/// Arguments of `unet-nas space`.
#[derive(Debug, Args)]
pub struct SpaceArgs {
    /// Image side in pixels, a power of two from 16 to 1024.
    #[arg(long, value_name = "PIXELS")]
    size: ImageSize,

    /// Widths the search may choose from, comma-separated.
    #[arg(long, value_name = "LIST", default_value_t = ChannelSet::default())]
    channel_set: ChannelSet,

    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Lines for people.
    Text,
    /// One JSON object for programs.
    Json,
}

/// The JSON shape of `space --format json`. `genomes` is a decimal string
/// because it can exceed what JSON numbers hold exactly.
#[derive(Debug, Serialize)]
struct Report {
    size: u32,
    depth: usize,
    channel_set: Vec<u32>,
    channel_genes: usize,
    skip_genes: usize,
    genomes: String,
}

pub fn run(args: SpaceArgs) -> Result<()> {
    let depth = args.size.depth();
    let report = Report {
        size: args.size.side(),
        depth,
        channel_set: args.channel_set.widths().to_vec(),
        channel_genes: depth,
        skip_genes: depth - 1,
        genomes: space_size(args.size, &args.channel_set).to_string(),
    };

    match args.format {
        Format::Text => print!("{}", render_text(&report, &args.channel_set)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(())
}

fn render_text(report: &Report, set: &ChannelSet) -> String {
    format!(
        "Search space for {size}x{size} images (encoder depth n = {depth})\n\
         channel set C   {set} ({choices} choices)\n\
         channel code    {depth} genes, one width per encoder layer (the decoder mirrors it)\n\
         skip code       {skips} bits, one per encoder/decoder pair\n\
         genomes         |C|^n * 2^(n-1) = {choices}^{depth} * 2^{skips} = {genomes}\n",
        size = report.size,
        depth = report.depth,
        choices = set.len(),
        skips = report.skip_genes,
        genomes = grouped(&report.genomes),
    )
}
