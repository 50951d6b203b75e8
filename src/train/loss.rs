//! The pix2pix objective: a conditional GAN loss plus weighted L1.

use burn::tensor::Tensor;
use burn::tensor::activation::log_sigmoid;
use serde::{Deserialize, Serialize};

/// The adversarial loss (pix2pix's `--gan_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GanMode {
    /// Binary cross-entropy on logits, as in the pix2pix paper.
    #[default]
    Vanilla,
    /// Least squares (LSGAN): `(D - 1)^2` for real, `D^2` for fake.
    Lsgan,
}

impl GanMode {
    /// Mean loss of discriminator `logits` `[batch, 1, p, p]` against an
    /// all-real (`real = true`) or all-fake target, as a `[1]` tensor.
    ///
    /// Vanilla: `BCEWithLogits(x, 1) = -log sigmoid(x)` and
    /// `BCEWithLogits(x, 0) = -log sigmoid(-x)`, computed through
    /// `log_sigmoid` so large logits do not overflow.
    pub fn loss(self, logits: Tensor<4>, real: bool) -> Tensor<1> {
        match (self, real) {
            (GanMode::Vanilla, true) => log_sigmoid(logits).neg().mean(),
            (GanMode::Vanilla, false) => log_sigmoid(logits.neg()).neg().mean(),
            (GanMode::Lsgan, true) => (logits - 1.0).powi_scalar(2).mean(),
            (GanMode::Lsgan, false) => logits.powi_scalar(2).mean(),
        }
    }
}

/// L1 between generated and target pixels, both in [-1, 1].
pub fn l1(fake: Tensor<4>, target: Tensor<4>) -> Tensor<1> {
    (fake - target).abs().mean()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    fn logits(values: Vec<f32>) -> Tensor<4> {
        let count = values.len();
        Tensor::from_data(TensorData::new(values, [1, 1, 1, count]), &Device::flex())
    }

    fn scalar(tensor: Tensor<1>) -> f32 {
        tensor.into_scalar::<f32>()
    }

    #[test]
    fn vanilla_matches_binary_cross_entropy() {
        // BCE(sigmoid(0), 1) = ln 2; BCE(sigmoid(2), 0) = ln(1 + e^2).
        assert!((scalar(GanMode::Vanilla.loss(logits(vec![0.0]), true)) - 2f32.ln()).abs() < 1e-6);
        let expected = (1.0 + 2f32.exp()).ln();
        assert!((scalar(GanMode::Vanilla.loss(logits(vec![2.0]), false)) - expected).abs() < 1e-5);
    }

    #[test]
    fn vanilla_is_finite_for_huge_logits() {
        let loss = scalar(GanMode::Vanilla.loss(logits(vec![-200.0, 200.0]), true));

        assert!((loss - 100.0).abs() < 1e-3, "{loss}");
    }

    #[test]
    fn lsgan_is_mean_squared_distance() {
        assert_eq!(
            scalar(GanMode::Lsgan.loss(logits(vec![1.0, 3.0]), true)),
            2.0
        );
        assert_eq!(
            scalar(GanMode::Lsgan.loss(logits(vec![1.0, 3.0]), false)),
            5.0
        );
    }
}
