//! BatchNorm with PyTorch's running-statistics rule.

use burn::module::{Module, Param, RunningState};
use burn::tensor::Tensor;
use burn::tensor::module::{batch_norm, batch_norm_train};

use super::Mode;
use crate::profile::{self, Phase};

/// PyTorch's default BatchNorm epsilon.
pub const EPSILON: f64 = 1e-5;

/// PyTorch's default BatchNorm momentum: `running = 0.9 running + 0.1 batch`.
pub const MOMENTUM: f64 = 0.1;

/// 2-D batch normalisation over `[batch, channels, height, width]`.
///
/// burn's own `BatchNorm` updates the running variance with the biased batch
/// variance; PyTorch (and so every pix2pix checkpoint) uses the unbiased
/// one, `var * n / (n - 1)` with `n = batch * height * width`. Normalisation
/// itself uses the biased variance in both. Fields are named as PyTorch's.
#[derive(Module, Debug)]
pub struct BatchNorm2d {
    /// Scale, `[channels]` (PyTorch's `weight`, burn's `gamma`).
    pub weight: Param<Tensor<1>>,
    /// Shift, `[channels]` (PyTorch's `bias`, burn's `beta`).
    pub bias: Param<Tensor<1>>,
    /// Running mean, `[channels]`; a buffer, not a parameter.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running unbiased variance, `[channels]`; a buffer, not a parameter.
    pub running_var: RunningState<Tensor<1>>,
}

impl BatchNorm2d {
    /// A layer with the given scale and shift and fresh running statistics
    /// (mean 0, variance 1).
    pub fn new(weight: Tensor<1>, bias: Tensor<1>) -> Self {
        let [channels] = weight.dims();
        let device = weight.device();
        Self {
            weight: Param::from_tensor(weight),
            bias: Param::from_tensor(bias),
            running_mean: RunningState::new(Tensor::zeros([channels], &device)),
            running_var: RunningState::new(Tensor::ones([channels], &device)),
        }
    }

    /// Normalises `input` (`[batch, channels, h, w]`, same shape out).
    pub fn forward(&self, input: Tensor<4>, mode: &Mode) -> Tensor<4> {
        profile::time(Phase::BatchNormForward, || {
            if mode.is_train() {
                self.forward_train(input)
            } else {
                self.forward_eval(input)
            }
        })
    }

    fn forward_eval(&self, input: Tensor<4>) -> Tensor<4> {
        let mean = self.running_mean.value();
        let var = self.running_var.value();
        batch_norm(
            input,
            self.weight.val(),
            self.bias.val(),
            mean,
            var,
            EPSILON,
        )
    }

    fn forward_train(&self, input: Tensor<4>) -> Tensor<4> {
        let [batch, _, height, width] = input.dims();
        let count = (batch * height * width) as f64;
        let result = batch_norm_train(input, self.weight.val(), self.bias.val(), EPSILON);

        // PyTorch's unbiased correction; a single value per channel has no
        // spread to correct (PyTorch refuses that case outright).
        let correction = if count > 1.0 {
            count / (count - 1.0)
        } else {
            1.0
        };
        let unbiased = result.variance.detach().mul_scalar(correction);
        update_running(&self.running_mean, result.mean.detach());
        update_running(&self.running_var, unbiased);
        result.output
    }
}

/// `running = (1 - momentum) running + momentum batch`, flushed at once.
///
/// `RunningState` buffers an update per thread until the next read with
/// `value_sync`; flushing here means every later read (saving, evaluation,
/// another thread) sees the current statistics.
fn update_running(state: &RunningState<Tensor<1>>, batch: Tensor<1>) {
    let current = state.value_sync();
    let device = current.device();
    let next = current.mul_scalar(1.0 - MOMENTUM) + batch.to_device(&device).mul_scalar(MOMENTUM);
    state.update(next.detach());
    state.value_sync();
}
