//! The settings of one training run, as saved in its folder.

use serde::{Deserialize, Serialize};

use crate::data::synthetic::SynthSettings;
use crate::data::{DataSource, Direction, OpenSettings, Preprocess, Resize};
use crate::genome::{Genome, ImageSize};
use crate::model::{GeneratorOptions, PatchGanConfig};
use crate::plan::{ImageChannels, LayerPlan};

use super::loss::GanMode;
use super::schedule::LinearDecay;
use super::step::{AdamSettings, Objective};

/// Every setting of a training run, resolved (no defaults left to apply).
///
/// Saved as `config.toml` in the run folder; its keys are the
/// `unet-nas train` flag names, so a saved config can be edited and passed
/// back with `--config`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrainConfig {
    /// A data folder or `builtin:NAME`.
    pub data: DataSource,
    /// The generator's genome.
    pub genome: Genome,
    /// Training image side (the crop size).
    pub size: ImageSize,
    /// Channels of the input images (1 grayscale, 3 RGB).
    pub in_channels: u32,
    /// Channels of the output images.
    pub out_channels: u32,
    /// Which image of a pair is the input.
    pub direction: Direction,
    /// Epochs at the initial learning rate.
    pub epochs: usize,
    /// Epochs of linear decay after those.
    pub epochs_decay: usize,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Initial Adam learning rate.
    pub lr: f64,
    /// Adam's beta1.
    pub beta1: f64,
    /// Adam's beta2.
    pub beta2: f64,
    /// Weight of the L1 term.
    pub lambda_l1: f64,
    /// Adversarial loss.
    pub gan_mode: GanMode,
    /// Resize rule.
    pub preprocess: Resize,
    /// Side images are loaded at before cropping.
    pub load_size: u32,
    /// No random horizontal flips (pix2pix's `--no_flip`).
    pub no_flip: bool,
    /// No dropout in the generator's inner decoder layers.
    pub no_dropout: bool,
    /// Discriminator width (`ndf`).
    pub ndf: usize,
    /// Discriminator strided layers (lowered for small images).
    pub n_layers_d: usize,
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Decoded images kept in memory, in MB (10^6 bytes).
    pub cache_mb: u64,
    /// Pairs in a built-in set's training split.
    pub synth_count: usize,
    /// Seed of a built-in set's images.
    pub synth_seed: u64,
}

impl TrainConfig {
    /// pix2pix's defaults for `genome` on `data` at `size`.
    pub fn new(data: DataSource, genome: Genome, size: ImageSize, seed: u64) -> Self {
        Self {
            data,
            genome,
            size,
            in_channels: 3,
            out_channels: 3,
            direction: Direction::AtoB,
            epochs: 100,
            epochs_decay: 100,
            batch_size: 1,
            lr: 2e-4,
            beta1: 0.5,
            beta2: 0.999,
            lambda_l1: 100.0,
            gan_mode: GanMode::Vanilla,
            preprocess: Resize::ResizeAndCrop,
            load_size: crate::data::default_load_size(size.side()),
            no_flip: false,
            no_dropout: false,
            ndf: 64,
            n_layers_d: 3,
            seed,
            cache_mb: 4000,
            synth_count: 400,
            synth_seed: SynthSettings::default().seed,
        }
    }

    /// Image channels at the generator's ends.
    pub fn image_channels(&self) -> ImageChannels {
        ImageChannels {
            input: self.in_channels,
            output: self.out_channels,
        }
    }

    /// The generator's layer plan.
    pub fn plan(&self) -> LayerPlan {
        LayerPlan::decode(&self.genome, self.size, self.image_channels())
    }

    /// Generator settings beyond the genome.
    pub fn generator_options(&self) -> GeneratorOptions {
        GeneratorOptions {
            dropout: !self.no_dropout,
        }
    }

    /// The discriminator, fitted to the image size, and whether `n_layers_d`
    /// had to be lowered for it.
    pub fn discriminator(&self) -> (PatchGanConfig, bool) {
        PatchGanConfig {
            input_channels: (self.in_channels + self.out_channels) as usize,
            ndf: self.ndf,
            n_layers: self.n_layers_d,
        }
        .fit_to(self.size.side() as usize)
    }

    /// The learning-rate rule.
    pub fn schedule(&self) -> LinearDecay {
        LinearDecay {
            lr: self.lr,
            epochs: self.epochs,
            epochs_decay: self.epochs_decay,
        }
    }

    /// The loss.
    pub fn objective(&self) -> Objective {
        Objective {
            gan_mode: self.gan_mode,
            lambda_l1: self.lambda_l1,
        }
    }

    /// Adam's settings.
    pub fn adam(&self) -> AdamSettings {
        AdamSettings {
            beta1: self.beta1,
            beta2: self.beta2,
        }
    }

    /// Training preprocessing.
    pub fn preprocess(&self) -> Preprocess {
        Preprocess {
            resize: self.preprocess,
            load_size: self.load_size,
            crop_size: self.size.side(),
            flip: !self.no_flip,
            multiple: 1 << self.genome.depth(),
        }
    }

    /// How to open the data.
    pub fn open_settings(&self) -> OpenSettings {
        OpenSettings {
            direction: self.direction,
            channels: self.image_channels(),
            cache_bytes: self.cache_mb.saturating_mul(1_000_000),
            synth: SynthSettings {
                size: self.size.side(),
                count: self.synth_count,
                seed: self.synth_seed,
            },
        }
    }

    /// Checks what the types cannot: the genome fits the size, counts are
    /// positive, rates are sensible. Returns a message naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        self.genome
            .check_size(self.size)
            .map_err(|error| error.to_string())?;
        let checks = [
            (self.batch_size > 0, "batch-size must be at least 1"),
            (
                self.epochs + self.epochs_decay > 0,
                "epochs + epochs-decay must be at least 1",
            ),
            (
                self.lr > 0.0 && self.lr.is_finite(),
                "lr must be a positive number",
            ),
            ((0.0..1.0).contains(&self.beta1), "beta1 must be in [0, 1)"),
            ((0.0..1.0).contains(&self.beta2), "beta2 must be in [0, 1)"),
            (
                self.lambda_l1 >= 0.0 && self.lambda_l1.is_finite(),
                "lambda-l1 must be 0 or more",
            ),
            (
                matches!(self.in_channels, 1 | 3),
                "in-channels must be 1 or 3",
            ),
            (
                matches!(self.out_channels, 1 | 3),
                "out-channels must be 1 or 3",
            ),
            (self.ndf > 0, "ndf must be at least 1"),
            (self.n_layers_d > 0, "n-layers-d must be at least 1"),
            (self.synth_count > 0, "synth-count must be at least 1"),
            (
                self.preprocess != Resize::ResizeAndCrop || self.load_size >= self.size.side(),
                "load-size must be at least the size for resize_and_crop",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, message)) => Err((*message).to_string()),
            None => Ok(()),
        }
    }
}
