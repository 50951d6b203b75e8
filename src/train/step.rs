//! One pix2pix training iteration: a discriminator step, then a generator
//! step, each with its own Adam.

use std::sync::Arc;

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::adam::FusedAdam;
use super::config::TrainConfig;
use super::loss::{GanMode, l1};
use super::streams;
use crate::data::{BatchLoader, DataError, Order, PairSet, Preprocess};
use crate::model::{Generator, Mode, PatchGan};
use crate::profile::{self, Phase};
use crate::seed::stream;

/// What the generator is trained to minimise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// The adversarial loss.
    pub gan_mode: GanMode,
    /// Weight of the L1 term (pix2pix's `lambda_L1`, default 100).
    pub lambda_l1: f64,
}

/// Adam's settings; pix2pix uses beta1 0.5, beta2 0.999.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamSettings {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
}

impl AdamSettings {
    /// An Adam with these betas and PyTorch's epsilon (1e-8; burn's
    /// default is 1e-5, which damps small gradients differently), fused
    /// into one parallel pass per parameter (bit-identical to burn's Adam).
    pub fn build(&self) -> ModuleOptimizer {
        FusedAdam::new(self.beta1 as f32, self.beta2 as f32, 1e-8).into_module_optimizer()
    }
}

/// Losses of one iteration, named as pix2pix logs them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLosses {
    /// Generator's adversarial loss.
    pub g_gan: f64,
    /// Generator's L1 loss times `lambda_l1`.
    pub g_l1: f64,
    /// Discriminator's loss on real pairs.
    pub d_real: f64,
    /// Discriminator's loss on generated pairs.
    pub d_fake: f64,
}

impl StepLosses {
    /// Whether every loss is a finite number.
    pub fn is_finite(&self) -> bool {
        [self.g_gan, self.g_l1, self.d_real, self.d_fake]
            .iter()
            .all(|loss| loss.is_finite())
    }

    /// Adds `other` into `self` (for epoch means).
    pub fn accumulate(&mut self, other: &StepLosses) {
        self.g_gan += other.g_gan;
        self.g_l1 += other.g_l1;
        self.d_real += other.d_real;
        self.d_fake += other.d_fake;
    }

    /// `self / count`.
    pub fn mean(&self, count: usize) -> StepLosses {
        let n = count.max(1) as f64;
        StepLosses {
            g_gan: self.g_gan / n,
            g_l1: self.g_l1 / n,
            d_real: self.d_real / n,
            d_fake: self.d_fake / n,
        }
    }
}

/// A generator, its discriminator and both optimisers.
pub struct Pix2Pix {
    /// The generator being trained.
    pub generator: Generator,
    /// Its PatchGAN.
    pub discriminator: PatchGan,
    /// The generator's Adam.
    pub optimizer_g: ModuleOptimizer,
    /// The discriminator's Adam.
    pub optimizer_d: ModuleOptimizer,
    /// The loss being minimised.
    pub objective: Objective,
}

impl Pix2Pix {
    /// Fresh networks and optimisers for `config`, weights drawn from the
    /// streams below `seed` (the run's seed, or a candidate's).
    pub fn new(config: &TrainConfig, seed: u64, device: &Device) -> Self {
        let mut generator_rng = stream(seed, &[streams::INIT_GENERATOR]);
        let generator = Generator::new(
            &config.plan(),
            config.generator_options(),
            &mut generator_rng,
            device,
        );
        let (discriminator_config, _) = config.discriminator();
        let mut discriminator_rng = stream(seed, &[streams::INIT_DISCRIMINATOR]);
        let discriminator = PatchGan::new(&discriminator_config, &mut discriminator_rng, device);
        let adam = config.adam();
        Self {
            generator,
            discriminator,
            optimizer_g: adam.build(),
            optimizer_d: adam.build(),
            objective: config.objective(),
        }
    }

    /// One iteration at learning rate `lr` on `input` `[b, in, s, s]` and
    /// `target` `[b, out, s, s]` (on an autodiff device). Dropout masks come
    /// from `dropout_rng`.
    pub fn step(
        self,
        input: Tensor<4>,
        target: Tensor<4>,
        lr: f64,
        dropout_rng: &mut ChaCha8Rng,
    ) -> (Self, StepLosses) {
        let mut mode = Mode::Train { dropout_rng };
        let fake = self.generator.forward(input.clone(), &mut mode); // [b, out, s, s]

        let (trainer, d_real, d_fake) = self.discriminator_step(&input, &target, &fake, lr, &mode);
        let (trainer, g_gan, g_l1) = trainer.generator_step(input, target, fake, lr, &mode);
        let losses = StepLosses {
            g_gan,
            g_l1,
            d_real,
            d_fake,
        };
        (trainer, losses)
    }

    /// Pushes D(A, B) towards real and D(A, G(A)) towards fake; the loss
    /// is halved, as pix2pix does, to slow D relative to G.
    fn discriminator_step(
        mut self,
        input: &Tensor<4>,
        target: &Tensor<4>,
        fake: &Tensor<4>,
        lr: f64,
        mode: &Mode,
    ) -> (Self, f64, f64) {
        let gan = self.objective.gan_mode;
        let (fake_pair, real_pair) = profile::time(Phase::ConcatForward, || {
            let fake_pair = vec![input.clone(), fake.clone().detach()];
            let real_pair = vec![input.clone(), target.clone()];
            (Tensor::cat(fake_pair, 1), Tensor::cat(real_pair, 1))
        });
        let logits_fake = self.discriminator.forward(fake_pair, mode);
        let logits_real = self.discriminator.forward(real_pair, mode);
        let (loss_fake, loss_real) = profile::time(Phase::LossForward, || {
            (gan.loss(logits_fake, false), gan.loss(logits_real, true))
        });
        let (d_real, d_fake) = (scalar(&loss_real), scalar(&loss_fake));

        let loss = (loss_fake + loss_real) * 0.5;
        let gradients = profile::time(Phase::Backward, || loss.backward());
        let gradients = GradientsParams::from_grads(gradients, &self.discriminator);
        self.discriminator = profile::time(Phase::OptimizerStep, || {
            self.optimizer_d.step(lr, self.discriminator, gradients)
        });
        (self, d_real, d_fake)
    }

    /// Pushes D(A, G(A)) towards real while keeping G(A) close to B in L1.
    /// Only the generator's gradients are applied.
    ///
    /// D runs as a copy whose parameters do not require gradients, as
    /// pix2pix freezes D here: its weight gradients would otherwise be
    /// computed and thrown away. The copy shares D's BatchNorm running
    /// statistics, which this pass updates as before.
    fn generator_step(
        mut self,
        input: Tensor<4>,
        target: Tensor<4>,
        fake: Tensor<4>,
        lr: f64,
        mode: &Mode,
    ) -> (Self, f64, f64) {
        let frozen = self.discriminator.clone().no_grad();
        let fake_pair = profile::time(Phase::ConcatForward, || {
            Tensor::cat(vec![input, fake.clone()], 1)
        });
        let logits = frozen.forward(fake_pair, mode);
        let (loss_gan, loss_l1) = profile::time(Phase::LossForward, || {
            let loss_gan = self.objective.gan_mode.loss(logits, true);
            (loss_gan, l1(fake, target) * self.objective.lambda_l1)
        });
        let (g_gan, g_l1) = (scalar(&loss_gan), scalar(&loss_l1));

        let mut gradients = profile::time(Phase::Backward, || (loss_gan + loss_l1).backward());
        let gradients = GradientsParams::from_module(&mut gradients, &self.generator);
        self.generator = profile::time(Phase::OptimizerStep, || {
            self.optimizer_g.step(lr, self.generator, gradients)
        });
        (self, g_gan, g_l1)
    }
}

/// The generator's loss on held-out pairs, measured without training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationLoss {
    /// Mean adversarial loss against the candidate's own discriminator.
    pub gan: f64,
    /// Mean L1 on pixels in [-1, 1], not weighted.
    pub l1: f64,
    /// `gan + lambda_l1 * l1`: the generator's training objective.
    pub total: f64,
}

/// Accumulates [`ValidationLoss`] over batches, weighted by batch size.
#[derive(Debug, Default)]
pub struct ValidationMeter {
    gan: f64,
    l1: f64,
    examples: usize,
}

impl ValidationMeter {
    /// Scores one batch in eval mode (BatchNorm running statistics, no
    /// dropout). `generator` and `discriminator` should be inference copies
    /// (`Module::valid`), so no autodiff graph is built.
    pub fn add(
        &mut self,
        generator: &Generator,
        discriminator: &PatchGan,
        objective: &Objective,
        input: Tensor<4>,
        target: Tensor<4>,
    ) {
        let batch = input.dims()[0];
        let fake = generator.forward(input.clone(), &mut Mode::Eval);
        let logits = discriminator.forward(Tensor::cat(vec![input, fake.clone()], 1), &Mode::Eval);
        self.gan += scalar(&objective.gan_mode.loss(logits, true)) * batch as f64;
        self.l1 += scalar(&l1(fake, target)) * batch as f64;
        self.examples += batch;
    }

    /// The means so far.
    pub fn finish(&self, objective: &Objective) -> ValidationLoss {
        let n = self.examples.max(1) as f64;
        let (gan, l1) = (self.gan / n, self.l1 / n);
        ValidationLoss {
            gan,
            l1,
            total: gan + objective.lambda_l1 * l1,
        }
    }
}

/// Inference copies of both networks (no autodiff, no parameter updates).
pub fn inference_copies(trainer: &Pix2Pix) -> (Generator, PatchGan) {
    (trainer.generator.valid(), trainer.discriminator.valid())
}

/// The generator's loss on every pair of `set`, in eval mode with the
/// deterministic version of `preprocess`.
pub fn validation_loss(
    trainer: &Pix2Pix,
    set: &Arc<PairSet>,
    preprocess: &Preprocess,
    batch_size: usize,
) -> Result<ValidationLoss, DataError> {
    let (generator, discriminator) = inference_copies(trainer);
    let device = super::compute_device();
    let preprocess = preprocess.deterministic();
    let loader = BatchLoader::start(
        Arc::clone(set),
        preprocess,
        batch_size,
        Order::Sequential,
        0,
    );
    let mut meter = ValidationMeter::default();
    for batch in loader {
        let batch = batch?;
        let input = Tensor::from_data(batch.input, &device);
        let target = Tensor::from_data(batch.target, &device);
        meter.add(
            &generator,
            &discriminator,
            &trainer.objective,
            input,
            target,
        );
    }
    Ok(meter.finish(&trainer.objective))
}

fn scalar(tensor: &Tensor<1>) -> f64 {
    f64::from(tensor.clone().into_scalar::<f32>())
}

#[cfg(test)]
mod tests {
    use burn::tensor::Distribution;
    use rand::SeedableRng;

    use super::*;
    use crate::model::named_tensors;

    /// The generator step runs D frozen: its BatchNorm running statistics
    /// move (the frozen copy shares them) and none of its parameters do.
    #[test]
    fn the_generator_step_updates_running_statistics_but_no_discriminator_weight() {
        let device = super::super::compute_device().autodiff();
        let config = TrainConfig::new(
            "builtin:facades".parse().unwrap(),
            "16-32-32-32:101".parse().unwrap(),
            "16".parse().unwrap(),
            3,
        );
        let trainer = Pix2Pix::new(&config, 3, &device);
        let random =
            || Tensor::<4>::random([2, 3, 16, 16], Distribution::Uniform(-1.0, 1.0), &device);
        let (input, target) = (random(), random());
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut mode = Mode::Train {
            dropout_rng: &mut rng,
        };
        let fake = trainer.generator.forward(input.clone(), &mut mode);
        let before = named_tensors(&trainer.discriminator);

        let (trainer, _, _) = trainer.generator_step(input, target, fake, 2e-4, &mode);

        let after = named_tensors(&trainer.discriminator);
        let (mut buffers, mut weights) = (0, 0);
        for (old, new) in before.iter().zip(&after) {
            if old.learnable {
                assert_eq!(
                    old.data.as_bytes(),
                    new.data.as_bytes(),
                    "{} moved",
                    old.name
                );
                weights += 1;
            } else {
                assert_ne!(
                    old.data.as_bytes(),
                    new.data.as_bytes(),
                    "{} did not move",
                    old.name
                );
                buffers += 1;
            }
        }
        assert!(buffers > 0 && weights > 0);
    }
}
