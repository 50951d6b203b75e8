//! pix2pix's learning-rate rule: constant, then linear decay to near 0.

use serde::{Deserialize, Serialize};

/// `lr * (1 - max(0, epoch - epochs) / (epochs_decay + 1))` for epochs
/// counted from 0: `epochs` epochs at the full rate, then `epochs_decay`
/// epochs of linear decay (pix2pix's `linear` policy).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearDecay {
    /// The initial rate.
    pub lr: f64,
    /// Epochs at the initial rate (pix2pix's `n_epochs`).
    pub epochs: usize,
    /// Epochs of decay after those (pix2pix's `n_epochs_decay`).
    pub epochs_decay: usize,
}

impl LinearDecay {
    /// The rate during `epoch` (from 0).
    pub fn rate(&self, epoch: usize) -> f64 {
        let past = epoch.saturating_sub(self.epochs) as f64;
        self.lr * (1.0 - past / (self.epochs_decay as f64 + 1.0))
    }

    /// Total epochs of the schedule.
    pub fn total_epochs(&self) -> usize {
        self.epochs + self.epochs_decay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_then_linear() {
        let schedule = LinearDecay {
            lr: 2e-4,
            epochs: 100,
            epochs_decay: 100,
        };

        assert_eq!(schedule.rate(0), 2e-4);
        assert_eq!(schedule.rate(100), 2e-4);
        assert!((schedule.rate(101) - 2e-4 * (1.0 - 1.0 / 101.0)).abs() < 1e-15);
        assert!((schedule.rate(199) - 2e-4 * (2.0 / 101.0)).abs() < 1e-15);
        assert_eq!(schedule.total_epochs(), 200);
    }
}
