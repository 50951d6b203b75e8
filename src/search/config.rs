//! The settings of one search, as saved in its run folder.

use serde::{Deserialize, Serialize};

use super::operators::OperatorOdds;
use crate::data::{DataSource, Direction};
use crate::genome::{ChannelSet, ImageSize};
use crate::train::{GanMode, TrainConfig};

/// What a candidate's cost is measured in, always relative to the pix2pix
/// U-Net at the same size (so 1.0 = as costly as the original).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum CostMeasure {
    /// FLOPs in the paper's convention (the paper's choice).
    #[default]
    PaperFlops,
    /// True multiply-accumulates.
    Macs,
    /// Learnable parameters.
    Params,
    /// Measured inference time per image on this machine.
    Latency,
}

/// Which validation loss enters the fitness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum FitnessLoss {
    /// The generator's objective, GAN + lambda_l1 * L1 (the paper's choice).
    /// Each candidate is judged by its own discriminator, so the GAN part
    /// is not strictly comparable across candidates.
    #[default]
    GanL1,
    /// Validation L1 alone: comparable across candidates.
    L1,
}

impl FitnessLoss {
    /// The default gamma for this loss: what a candidate as costly as the
    /// original pays, chosen to be worth a modest loss difference (about
    /// 0.1 of L1 times lambda 100 for `gan-l1`, 0.1 L1 for `l1`).
    pub fn default_gamma(self) -> f64 {
        match self {
            FitnessLoss::GanL1 => 10.0,
            FitnessLoss::L1 => 0.1,
        }
    }
}

/// Named budgets: sizes of the search and of the final training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Budget {
    /// A whole search on builtin:facades at 64x64, final training included,
    /// in about ten minutes on two cores.
    #[default]
    Quick,
    /// The paper's scale: population 32, 50 generations, pix2pix's full
    /// 100 + 100 epochs for the final model.
    Paper,
}

/// Every setting of a search, resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SearchConfig {
    /// The budget the defaults came from.
    pub budget: Budget,
    /// A data folder or `builtin:NAME`.
    pub data: DataSource,
    /// Image side the search trains at.
    pub size: ImageSize,
    /// Genomes per generation (N).
    pub population: usize,
    /// Generations (T).
    pub generations: usize,
    /// Widths a channel gene can take (C).
    pub channel_set: ChannelSet,
    /// Weight of the cost in the fitness.
    pub gamma: f64,
    /// What the cost measures.
    pub cost: CostMeasure,
    /// Which validation loss the fitness uses.
    pub fitness_loss: FitnessLoss,
    /// Probability of selection.
    pub p_selection: f64,
    /// Probability of crossover.
    pub p_crossover: f64,
    /// Probability of mutation.
    pub p_mutation: f64,
    /// Training pairs each candidate trains on (drawn once per search).
    pub mini_train: usize,
    /// Validation pairs each candidate is scored on.
    pub mini_val: usize,
    /// Training iterations per candidate.
    pub iterations: usize,
    /// Pairs per batch.
    pub batch_size: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Candidates evaluated at once (the cores are divided among them).
    pub jobs: usize,
    /// Put the pix2pix genome in the first population.
    pub include_original: bool,
    /// Also train the pix2pix U-Net with the final budget, for comparison.
    pub compare_original: bool,
    /// Epochs at the initial rate for the final training.
    pub final_epochs: usize,
    /// Epochs of decay for the final training.
    pub final_epochs_decay: usize,
    /// Weight of L1 in the generator loss.
    pub lambda_l1: f64,
    /// Adversarial loss.
    pub gan_mode: GanMode,
    /// Adam learning rate.
    pub lr: f64,
    /// Width of each candidate's discriminator.
    pub ndf: usize,
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Which image of a pair is the input.
    pub direction: Direction,
    /// Training pairs of a built-in data set.
    pub synth_count: usize,
    /// Seed of a built-in data set's images.
    pub synth_seed: u64,
}

/// One candidate per core: on the 2-core reference machine two
/// single-threaded candidates at once evaluated 1.29x as many candidates
/// per hour as one two-threaded candidate (BENCHMARKS.md, search
/// throughput), because small candidates use two threads poorly.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

impl SearchConfig {
    /// The defaults of `budget` for `data` at `size`.
    pub fn new(budget: Budget, data: DataSource, size: ImageSize, seed: u64) -> Self {
        let fitness_loss = FitnessLoss::GanL1;
        let quick = budget == Budget::Quick;
        Self {
            budget,
            data,
            size,
            population: if quick { 6 } else { 32 },
            generations: if quick { 4 } else { 50 },
            channel_set: ChannelSet::default(),
            gamma: fitness_loss.default_gamma(),
            cost: CostMeasure::PaperFlops,
            fitness_loss,
            p_selection: 0.2,
            p_crossover: 0.7,
            p_mutation: 0.1,
            mini_train: if quick { 48 } else { 200 },
            mini_val: if quick { 16 } else { 50 },
            iterations: if quick { 24 } else { 400 },
            batch_size: 1,
            seed,
            jobs: default_jobs(),
            include_original: false,
            compare_original: false,
            final_epochs: if quick { 1 } else { 100 },
            final_epochs_decay: if quick { 1 } else { 100 },
            lambda_l1: 100.0,
            gan_mode: GanMode::Vanilla,
            lr: 2e-4,
            ndf: 64,
            in_channels: 3,
            out_channels: 3,
            direction: Direction::AtoB,
            synth_count: if quick { 120 } else { 400 },
            synth_seed: crate::data::synthetic::SynthSettings::default().seed,
        }
    }

    /// Probabilities of the three operations.
    pub fn odds(&self) -> OperatorOdds {
        OperatorOdds {
            selection: self.p_selection,
            crossover: self.p_crossover,
            mutation: self.p_mutation,
        }
    }

    /// Checks every setting before any training; the message names it.
    pub fn validate(&self) -> Result<(), String> {
        let checks = [
            (self.population >= 2, "population must be at least 2"),
            (self.generations >= 1, "generations must be at least 1"),
            (
                self.gamma >= 0.0 && self.gamma.is_finite(),
                "gamma must be 0 or more",
            ),
            (self.mini_train >= 1, "mini-train must be at least 1"),
            (self.mini_val >= 1, "mini-val must be at least 1"),
            (self.iterations >= 1, "iterations must be at least 1"),
            (self.batch_size >= 1, "batch-size must be at least 1"),
            (self.jobs >= 1, "jobs must be at least 1"),
            (
                self.final_epochs + self.final_epochs_decay >= 1,
                "final-epochs + final-epochs-decay must be at least 1",
            ),
            (
                self.lr > 0.0 && self.lr.is_finite(),
                "lr must be a positive number",
            ),
            (
                self.lambda_l1 >= 0.0 && self.lambda_l1.is_finite(),
                "lambda-l1 must be 0 or more",
            ),
            (self.ndf >= 1, "ndf must be at least 1"),
            (
                matches!(self.in_channels, 1 | 3),
                "in-channels must be 1 or 3",
            ),
            (
                matches!(self.out_channels, 1 | 3),
                "out-channels must be 1 or 3",
            ),
            (self.synth_count >= 1, "synth-count must be at least 1"),
        ];
        if let Some((_, message)) = checks.iter().find(|(ok, _)| !ok) {
            return Err((*message).to_string());
        }
        self.odds().validate()?;
        if self.channel_set.len() < 2 {
            return Err(format!(
                "channel-set {} offers one width; mutation needs at least two",
                self.channel_set
            ));
        }
        Ok(())
    }

    /// The training settings a candidate (or the final model) uses.
    pub fn train_config(
        &self,
        genome: crate::genome::Genome,
        epochs: usize,
        epochs_decay: usize,
    ) -> TrainConfig {
        let mut config = TrainConfig::new(self.data.clone(), genome, self.size, self.seed);
        config.in_channels = self.in_channels;
        config.out_channels = self.out_channels;
        config.direction = self.direction;
        config.epochs = epochs;
        config.epochs_decay = epochs_decay;
        config.batch_size = self.batch_size;
        config.lr = self.lr;
        config.lambda_l1 = self.lambda_l1;
        config.gan_mode = self.gan_mode;
        config.ndf = self.ndf;
        config.synth_count = self.synth_count;
        config.synth_seed = self.synth_seed;
        config
    }
}
