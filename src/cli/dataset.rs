//! `unet-nas dataset`: write a built-in set to disk, or check a folder.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use unet_nas::data::synthetic::{Builtin, SynthSettings, generate_rgb};
use unet_nas::data::{DataSource, Direction, OpenSettings, PairSet, Split, write_aligned};
use unet_nas::genome::ImageSize;
use unet_nas::plan::ImageChannels;

pub const EXAMPLES: &str = "\
Examples:
  unet-nas dataset synth --name facades --size 64 --count 400 --out data/facades64
  unet-nas dataset check data/facades64";

/// Subcommands of `unet-nas dataset`.
#[derive(Debug, Subcommand)]
pub enum DatasetCommand {
    /// Write a built-in synthetic set in pix2pix's aligned format.
    Synth(SynthArgs),
    /// Report what a data folder holds and every file it cannot use.
    Check(CheckArgs),
}

/// Arguments of `unet-nas dataset synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Which built-in set.
    #[arg(long, value_enum)]
    name: Builtin,
    /// Image side in pixels (a power of two, 16 to 1024).
    #[arg(long, value_name = "PIXELS", default_value = "64")]
    size: ImageSize,
    /// Training pairs; val and test get a tenth each (at least 1).
    #[arg(long, value_name = "N", default_value_t = 400)]
    count: usize,
    /// Seed of the images.
    #[arg(long, value_name = "N", default_value_t = SynthSettings::default().seed)]
    seed: u64,
    /// Folder to write train/, val/ and test/ into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Arguments of `unet-nas dataset check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The data folder.
    folder: PathBuf,
}

pub fn run(command: DatasetCommand) -> Result<()> {
    match command {
        DatasetCommand::Synth(args) => synth(args),
        DatasetCommand::Check(args) => check(args),
    }
}

fn synth(args: SynthArgs) -> Result<()> {
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let settings = SynthSettings {
        size: args.size.side(),
        count: args.count,
        seed: args.seed,
    };
    for split in Split::ALL {
        let pairs = generate_rgb(args.name, split, &settings);
        let folder = args.out.join(split.name());
        write_aligned(&folder, &pairs)
            .with_context(|| format!("cannot write {}", folder.display()))?;
        println!("{}: {} pairs", folder.display(), pairs.len());
    }
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    let source = DataSource::Folder(args.folder.clone());
    let settings = OpenSettings {
        direction: Direction::AtoB,
        channels: ImageChannels::default(),
        cache_bytes: 0,
        synth: SynthSettings::default(),
    };
    let mut usable = 0;
    let mut unusable = 0;
    for split in Split::ALL {
        if !PairSet::has_split(&source, split)? {
            println!("{split}: absent");
            continue;
        }
        match PairSet::open(&source, split, &settings) {
            Ok(set) => {
                println!(
                    "{split}: {} usable pairs, {} unusable files, {} images need channel conversion",
                    set.len(),
                    set.skipped().len(),
                    set.conversions()
                );
                for skipped in set.skipped() {
                    println!("  unusable: {}: {}", skipped.path.display(), skipped.reason);
                }
                usable += set.len();
                unusable += set.skipped().len();
            }
            Err(error) => {
                println!("{split}: {error}");
                unusable += 1;
            }
        }
    }
    if usable == 0 {
        bail!("{} holds no usable image pairs", args.folder.display());
    }
    println!("{usable} usable pairs, {unusable} problems");
    Ok(())
}
