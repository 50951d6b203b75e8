//! `unet-nas train`: train one generator as a pix2pix translator.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Deserialize;

use unet_nas::data::{DataSource, Direction, Resize};
use unet_nas::genome::{ChannelSet, Genome, ImageSize, Preset};
use unet_nas::seed::fresh_seed;
use unet_nas::train::run::load_config;
use unet_nas::train::{GanMode, TrainConfig, train};

pub const EXAMPLES: &str = "\
Examples:
  unet-nas train --data builtin:facades --preset pix2pix --size 64 --epochs 5 --epochs-decay 5 --out runs/p2p
  unet-nas train --data ~/datasets/facades --genome 32-64-128-256-256-256-256-256:1010101 \\
                 --size 256 --out runs/slim --seed 7
  unet-nas train --config train.toml --out runs/from-file
  unet-nas train --resume runs/p2p";

/// Settings of `unet-nas train`, from flags or a TOML file whose keys are
/// the flag names (`epochs-decay = 50`). Flags override the file.
#[derive(Debug, Default, Args, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrainSettings {
    /// Paired data: a folder (train/, val/, test/ of aligned A|B images, or
    /// A/ and B/) or builtin:facades / builtin:maps.
    #[arg(long, value_name = "DIR|builtin:NAME")]
    data: Option<DataSource>,

    /// The generator's genome (e.g. 64-128-256-512-512-512:11111).
    #[arg(long, value_name = "GENOME")]
    genome: Option<Genome>,

    /// A named generator instead of a genome.
    #[arg(long, value_enum, value_name = "NAME")]
    preset: Option<Preset>,

    /// Train the best genome of this search run folder (transfer a searched
    /// design to other data).
    #[arg(long, value_name = "SEARCH_RUN")]
    #[serde(skip)]
    genome_from: Option<PathBuf>,

    /// Training image side in pixels (the crop size), 16 to 1024 [default: the genome's].
    #[arg(long, value_name = "PIXELS")]
    size: Option<ImageSize>,

    /// Only with --genome: require every width to be in this set.
    #[arg(long, value_name = "LIST")]
    channel_set: Option<ChannelSet>,

    /// Input image channels, 1 or 3 [default: 3].
    #[arg(long, value_name = "N")]
    in_channels: Option<u32>,

    /// Output image channels, 1 or 3 [default: 3].
    #[arg(long, value_name = "N")]
    out_channels: Option<u32>,

    /// Which image of a pair is the input [default: AtoB].
    #[arg(long, value_enum)]
    direction: Option<Direction>,

    /// Epochs at the initial learning rate [default: 100].
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,

    /// Epochs of linear learning-rate decay after those [default: 100].
    #[arg(long, value_name = "N")]
    epochs_decay: Option<usize>,

    /// Pairs per batch [default: 1].
    #[arg(long, value_name = "N")]
    batch_size: Option<usize>,

    /// Adam learning rate [default: 0.0002].
    #[arg(long, value_name = "RATE")]
    lr: Option<f64>,

    /// Adam beta1 [default: 0.5].
    #[arg(long, value_name = "BETA")]
    beta1: Option<f64>,

    /// Adam beta2 [default: 0.999].
    #[arg(long, value_name = "BETA")]
    beta2: Option<f64>,

    /// Weight of the L1 loss [default: 100].
    #[arg(long, value_name = "X")]
    lambda_l1: Option<f64>,

    /// Adversarial loss [default: vanilla].
    #[arg(long, value_enum, value_name = "MODE")]
    gan_mode: Option<GanMode>,

    /// Resize rule [default: resize_and_crop].
    #[arg(long, value_enum, value_name = "RULE")]
    preprocess: Option<Resize>,

    /// Side to load images at before cropping [default: size * 286 / 256].
    #[arg(long, value_name = "PIXELS")]
    load_size: Option<u32>,

    /// No random horizontal flips.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    no_flip: Option<bool>,

    /// No dropout in the generator.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    no_dropout: Option<bool>,

    /// Discriminator filters in its first layer [default: 64].
    #[arg(long, value_name = "N")]
    ndf: Option<usize>,

    /// Discriminator strided layers, lowered for small images [default: 3].
    #[arg(long, value_name = "N")]
    n_layers_d: Option<usize>,

    /// Seed of every random choice [default: drawn and printed].
    #[arg(long, value_name = "N")]
    seed: Option<u64>,

    /// Decoded images kept in memory, in MB [default: 4000].
    #[arg(long, value_name = "MB")]
    cache_mb: Option<u64>,

    /// Training pairs of a built-in data set [default: 400].
    #[arg(long, value_name = "N")]
    synth_count: Option<usize>,

    /// Seed of a built-in data set's images [default: 2017].
    #[arg(long, value_name = "N")]
    synth_seed: Option<u64>,
}

/// Arguments of `unet-nas train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    settings: TrainSettings,

    /// Read settings from this TOML file (keys are the flag names).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// The run folder to create.
    #[arg(long, value_name = "RUN_DIR", required_unless_present = "resume")]
    out: Option<PathBuf>,

    /// Continue the run in this folder where it stopped, with its saved
    /// settings (no other settings may be given).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["out", "config", "TrainSettings"])]
    resume: Option<PathBuf>,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let (config, run_dir, resume) = resolve(args)?;

    println!(
        "training {} at {}x{} on {} (seed {})",
        config.genome, config.size, config.size, config.data, config.seed
    );
    let summary = train(&config, &run_dir, resume)?;
    if let Some(last) = &summary.last {
        let validation = last
            .validation
            .map(|v| format!(", validation L1 {:.4}", v.l1))
            .unwrap_or_default();
        println!(
            "finished {} epochs in {}{validation}",
            summary.epochs,
            summary.run_dir.display()
        );
    }
    if summary.skipped_files > 0 {
        println!(
            "{} unusable training files were skipped (see the warnings above)",
            summary.skipped_files
        );
    }
    Ok(())
}

fn resolve(args: TrainArgs) -> Result<(TrainConfig, PathBuf, bool)> {
    if let Some(run_dir) = args.resume {
        let config = load_config(&run_dir)?;
        return Ok((config, run_dir, true));
    }

    let mut settings = args.settings;
    if let Some(path) = &args.config {
        settings = settings.or(super::read_settings(path)?);
    }
    let run_dir = args.out.expect("clap requires --out without --resume");
    Ok((settings.resolve()?, run_dir, false))
}

impl TrainSettings {
    /// Fills every unset field of `self` from `file`.
    fn or(self, file: TrainSettings) -> TrainSettings {
        merge!(
            TrainSettings,
            self,
            file,
            data,
            genome,
            preset,
            genome_from,
            size,
            channel_set,
            in_channels,
            out_channels,
            direction,
            epochs,
            epochs_decay,
            batch_size,
            lr,
            beta1,
            beta2,
            lambda_l1,
            gan_mode,
            preprocess,
            load_size,
            no_flip,
            no_dropout,
            ndf,
            n_layers_d,
            seed,
            cache_mb,
            synth_count,
            synth_seed,
        )
    }

    /// Applies defaults and checks the result.
    fn resolve(self) -> Result<TrainConfig> {
        let genome = self.resolve_genome()?;
        let Some(data) = self.data else {
            bail!("--data is required (a folder, builtin:facades or builtin:maps)");
        };
        let size = self.size.unwrap_or_else(|| genome.size());
        genome
            .check_size(size)
            .with_context(|| format!("genome {genome} does not fit --size {size}"))?;
        if let Some(set) = &self.channel_set {
            genome
                .check_channel_set(set)
                .with_context(|| format!("genome {genome} is outside --channel-set"))?;
        }

        let seed = self.seed.unwrap_or_else(|| {
            let seed = fresh_seed();
            println!("no --seed given; using seed {seed}");
            seed
        });
        let mut config = TrainConfig::new(data, genome, size, seed);
        // TrainConfig::new holds pix2pix's defaults (the load size included);
        // given settings override them.
        apply!(
            config,
            self,
            in_channels,
            out_channels,
            direction,
            epochs,
            epochs_decay,
            batch_size,
            lr,
            beta1,
            beta2,
            lambda_l1,
            gan_mode,
            preprocess,
            load_size,
            no_flip,
            no_dropout,
            ndf,
            n_layers_d,
            cache_mb,
            synth_count,
            synth_seed,
        );
        config
            .validate()
            .map_err(|message| anyhow::anyhow!(message))?;
        Ok(config)
    }

    fn resolve_genome(&self) -> Result<Genome> {
        let given = [
            self.genome.is_some(),
            self.preset.is_some(),
            self.genome_from.is_some(),
        ];
        match given.iter().filter(|&&g| g).count() {
            0 => bail!("give the generator with --genome, --preset or --genome-from"),
            1 => {}
            _ => bail!("give only one of --genome, --preset and --genome-from"),
        }
        if let Some(genome) = &self.genome {
            return Ok(genome.clone());
        }
        if let Some(folder) = &self.genome_from {
            let genome = unet_nas::search::best_genome(folder)?;
            println!("training the best genome of {}: {genome}", folder.display());
            return Ok(genome);
        }
        let Some(size) = self.size else {
            bail!("--preset needs --size (e.g. --preset pix2pix --size 256)");
        };
        Ok(self
            .preset
            .expect("one of the three is given")
            .genome(size.depth()))
    }
}
