//! Scoring one candidate: a short pix2pix training on the mini-train
//! subset, then the generator's loss on the mini-validation subset.

use std::sync::Arc;
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::config::{CostMeasure, FitnessLoss, SearchConfig};
use crate::cost::Cost;
use crate::data::{BatchLoader, Order, PairSet};
use crate::genome::Genome;
use crate::model::{Generator, Mode};
use crate::seed::{derive_seed, stream};
use crate::train::{Pix2Pix, StepLosses, streams, validation_loss};

/// One finished evaluation: a line of `trials.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Generation it was first evaluated in (from 0).
    pub generation: usize,
    /// Genome in text form.
    pub genome: String,
    /// `1 / (loss + gamma * cost)`, 0 for a failed candidate.
    pub fitness: f64,
    /// The validation loss the fitness used (see `fitness_loss`); `None`
    /// when the candidate failed before validation.
    pub loss: Option<f64>,
    /// Mean adversarial loss on mini-validation.
    pub val_gan: Option<f64>,
    /// Mean L1 on mini-validation (pixels in [-1, 1]).
    pub val_l1: Option<f64>,
    /// `val_gan + lambda_l1 * val_l1`.
    pub val_total: Option<f64>,
    /// Cost relative to the pix2pix U-Net at the same size.
    pub cost: f64,
    /// Paper FLOPs per image.
    pub paper_flops: u64,
    /// Multiply-accumulates per image.
    pub macs: u64,
    /// Learnable parameters.
    pub parameters: u64,
    /// Measured inference time per image, when the cost is latency.
    pub latency_ms: Option<f64>,
    /// Wall time of the evaluation.
    pub seconds: f64,
    /// Why the candidate got fitness 0, if it did.
    pub failure: Option<String>,
}

/// What every evaluation of one search shares.
pub struct Evaluator {
    config: SearchConfig,
    mini_train: Arc<PairSet>,
    mini_val: Arc<PairSet>,
    reference: Cost,
    reference_latency_ms: Option<f64>,
}

impl Evaluator {
    /// Prepares evaluations on the given subsets; measures the original
    /// U-Net's latency once when the cost is latency.
    pub fn new(config: SearchConfig, mini_train: Arc<PairSet>, mini_val: Arc<PairSet>) -> Self {
        let channels = crate::plan::ImageChannels {
            input: config.in_channels,
            output: config.out_channels,
        };
        let original = Genome::pix2pix(config.size.depth());
        let reference = Cost::of_genome(&original, config.size, channels);
        let mut evaluator = Self {
            config,
            mini_train,
            mini_val,
            reference,
            reference_latency_ms: None,
        };
        if evaluator.config.cost == CostMeasure::Latency {
            evaluator.reference_latency_ms = Some(evaluator.latency_ms(&original));
        }
        evaluator
    }

    /// The search's settings.
    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// Trains and scores `genome`. Deterministic for a given genome and
    /// config (except the latency cost, which is measured).
    pub fn evaluate(&self, genome: &Genome, generation: usize) -> Trial {
        let started = Instant::now();
        let seed = derive_seed(self.config.seed, &[genome_hash(genome)]);
        let train_config = self.config.train_config(genome.clone(), 1, 0);
        let plan = train_config.plan();
        let cost = Cost::of(&plan);
        let latency_ms =
            (self.config.cost == CostMeasure::Latency).then(|| self.latency_ms(genome));
        let relative = self.relative_cost(&cost, latency_ms);

        let mut trial = Trial {
            generation,
            genome: genome.to_string(),
            fitness: 0.0,
            loss: None,
            val_gan: None,
            val_l1: None,
            val_total: None,
            cost: relative,
            paper_flops: cost.paper_flops,
            macs: cost.macs,
            parameters: cost.parameters,
            latency_ms,
            seconds: 0.0,
            failure: None,
        };
        match self.train_and_validate(&train_config, seed) {
            Ok(validation) => {
                let loss = match self.config.fitness_loss {
                    FitnessLoss::GanL1 => validation.total,
                    FitnessLoss::L1 => validation.l1,
                };
                let finite = |value: f64| value.is_finite().then_some(value);
                trial.val_gan = finite(validation.gan);
                trial.val_l1 = finite(validation.l1);
                trial.val_total = finite(validation.total);
                trial.loss = finite(loss);
                let denominator = loss + self.config.gamma * relative;
                if denominator.is_finite() && denominator > 0.0 {
                    trial.fitness = 1.0 / denominator;
                } else {
                    trial.failure = Some(format!("validation loss is {loss}"));
                }
            }
            Err(reason) => trial.failure = Some(reason),
        }
        trial.seconds = started.elapsed().as_secs_f64();
        trial
    }

    fn relative_cost(&self, cost: &Cost, latency_ms: Option<f64>) -> f64 {
        let relative = cost.relative_to(&self.reference);
        match self.config.cost {
            CostMeasure::PaperFlops => relative.paper_flops,
            CostMeasure::Macs => relative.macs,
            CostMeasure::Params => relative.parameters,
            CostMeasure::Latency => {
                let reference = self.reference_latency_ms.unwrap_or(f64::NAN);
                latency_ms.unwrap_or(f64::NAN) / reference
            }
        }
    }

    /// The candidate's training; an error names the iteration where a loss
    /// stopped being finite.
    fn train_and_validate(
        &self,
        config: &crate::train::TrainConfig,
        seed: u64,
    ) -> Result<crate::train::ValidationLoss, String> {
        let device = crate::train::compute_device().autodiff();
        let mut trainer = Pix2Pix::new(config, seed, &device);
        let preprocess = config.preprocess();
        let mut iteration = 0;
        let mut epoch = 0;
        while iteration < self.config.iterations {
            let order = Order::Shuffled {
                seed: derive_seed(seed, &[streams::DATA]),
                epoch,
            };
            let loader = BatchLoader::start(
                Arc::clone(&self.mini_train),
                preprocess,
                config.batch_size,
                order,
                0,
            );
            for batch in loader {
                let batch = batch.map_err(|error| error.to_string())?;
                let input = Tensor::from_data(batch.input, &device);
                let target = Tensor::from_data(batch.target, &device);
                let mut dropout = stream(seed, &[streams::DROPOUT, iteration as u64]);
                let (next, losses) = trainer.step(input, target, self.config.lr, &mut dropout);
                trainer = next;
                check(&losses, iteration)?;
                iteration += 1;
                if iteration == self.config.iterations {
                    break;
                }
            }
            epoch += 1;
        }
        validation_loss(&trainer, &self.mini_val, &preprocess, config.batch_size)
            .map_err(|error| error.to_string())
    }

    /// Median inference time of one image through `genome`'s generator.
    fn latency_ms(&self, genome: &Genome) -> f64 {
        let config = self.config.train_config(genome.clone(), 1, 0);
        let device = crate::train::compute_device();
        let generator = Generator::new(
            &config.plan(),
            config.generator_options(),
            &mut stream(0, &[]),
            &device,
        )
        .valid();
        let side = self.config.size.side() as usize;
        let input = Tensor::<4>::random(
            [1, self.config.in_channels as usize, side, side],
            Distribution::Uniform(-1.0, 1.0),
            &device,
        );
        let mut samples: Vec<f64> = (0..4)
            .map(|_| {
                let started = Instant::now();
                let output = generator.forward(input.clone(), &mut Mode::Eval);
                let _ = output.into_data();
                started.elapsed().as_secs_f64() * 1000.0
            })
            .skip(1)
            .collect();
        samples.sort_by(f64::total_cmp);
        samples[samples.len() / 2]
    }
}

fn check(losses: &StepLosses, iteration: usize) -> Result<(), String> {
    if losses.is_finite() {
        Ok(())
    } else {
        Err(format!(
            "a training loss became NaN or infinite at iteration {}",
            iteration + 1
        ))
    }
}

/// A stable key of the genome for its random streams.
pub fn genome_hash(genome: &Genome) -> u64 {
    crate::seed::stable_hash(&genome.to_string())
}
