//! Opt-in wall-clock accounting of training work by operation.
//!
//! The benchmark (`cargo bench --bench train_step -- --profile`) turns this
//! on to break a training iteration down into convolutions (forward, input
//! and weight gradients, plain and transposed), BatchNorm, activations,
//! concatenations, losses, backward passes and optimiser steps, beside
//! PyTorch's own profiler table. The CPU backend runs each operation to
//! completion before returning, so timing a call times the operation.
//!
//! Off (the default) it costs one relaxed atomic load per timed call.
//! Totals are process-wide: with several candidates training at once they
//! add up across threads, so profile one training run at a time.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// What a timed span of work was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// A convolution's forward pass.
    Conv2dForward,
    /// A convolution's input gradient (inside a backward pass).
    Conv2dInputGradient,
    /// A convolution's weight gradient (inside a backward pass).
    Conv2dWeightGradient,
    /// A transposed convolution's forward pass.
    ConvTranspose2dForward,
    /// A transposed convolution's input gradient (inside a backward pass).
    ConvTranspose2dInputGradient,
    /// A transposed convolution's weight gradient (inside a backward pass).
    ConvTranspose2dWeightGradient,
    /// BatchNorm's forward pass, running statistics included.
    BatchNormForward,
    /// ReLU, LeakyReLU, tanh and dropout in forward passes.
    ActivationForward,
    /// Channel concatenations (skips, discriminator pairs) in forward passes.
    ConcatForward,
    /// The GAN and L1 losses' forward passes.
    LossForward,
    /// Whole backward passes (convolution gradients included).
    Backward,
    /// Optimiser steps.
    OptimizerStep,
}

impl Phase {
    /// Every phase, in display order.
    pub const ALL: [Phase; 12] = [
        Phase::Conv2dForward,
        Phase::Conv2dInputGradient,
        Phase::Conv2dWeightGradient,
        Phase::ConvTranspose2dForward,
        Phase::ConvTranspose2dInputGradient,
        Phase::ConvTranspose2dWeightGradient,
        Phase::BatchNormForward,
        Phase::ActivationForward,
        Phase::ConcatForward,
        Phase::LossForward,
        Phase::Backward,
        Phase::OptimizerStep,
    ];

    /// A short label for tables.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Conv2dForward => "conv2d forward",
            Phase::Conv2dInputGradient => "conv2d input gradient",
            Phase::Conv2dWeightGradient => "conv2d weight gradient",
            Phase::ConvTranspose2dForward => "conv_transpose2d forward",
            Phase::ConvTranspose2dInputGradient => "conv_transpose2d input gradient",
            Phase::ConvTranspose2dWeightGradient => "conv_transpose2d weight gradient",
            Phase::BatchNormForward => "BatchNorm forward",
            Phase::ActivationForward => "activations and dropout forward",
            Phase::ConcatForward => "concatenation forward",
            Phase::LossForward => "losses forward",
            Phase::Backward => "backward passes (all)",
            Phase::OptimizerStep => "Adam steps",
        }
    }

    /// Whether this phase runs inside [`Phase::Backward`].
    pub fn inside_backward(self) -> bool {
        matches!(
            self,
            Phase::Conv2dInputGradient
                | Phase::Conv2dWeightGradient
                | Phase::ConvTranspose2dInputGradient
                | Phase::ConvTranspose2dWeightGradient
        )
    }

    fn index(self) -> usize {
        Phase::ALL
            .iter()
            .position(|&phase| phase == self)
            .expect("every phase is listed in ALL")
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; Phase::ALL.len()] = [const { AtomicU64::new(0) }; Phase::ALL.len()];
static CALLS: [AtomicU64; Phase::ALL.len()] = [const { AtomicU64::new(0) }; Phase::ALL.len()];

/// Starts (or stops) accounting, from zero.
pub fn enable(on: bool) {
    reset();
    ENABLED.store(on, Ordering::Relaxed);
}

/// Zeroes every total.
pub fn reset() {
    for (nanos, calls) in NANOS.iter().zip(&CALLS) {
        nanos.store(0, Ordering::Relaxed);
        calls.store(0, Ordering::Relaxed);
    }
}

/// Runs `work`, adding its wall-clock time to `phase` when accounting is on.
pub fn time<T>(phase: Phase, work: impl FnOnce() -> T) -> T {
    if !ENABLED.load(Ordering::Relaxed) {
        return work();
    }
    let started = Instant::now();
    let result = work();
    let index = phase.index();
    NANOS[index].fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    CALLS[index].fetch_add(1, Ordering::Relaxed);
    result
}

/// One phase's totals since the last reset.
#[derive(Debug, Clone, Copy)]
pub struct Total {
    /// The phase.
    pub phase: Phase,
    /// Seconds spent in it.
    pub seconds: f64,
    /// Timed calls.
    pub calls: u64,
}

/// Every phase's totals since the last reset.
pub fn totals() -> Vec<Total> {
    Phase::ALL
        .iter()
        .map(|&phase| Total {
            phase,
            seconds: NANOS[phase.index()].load(Ordering::Relaxed) as f64 * 1e-9,
            calls: CALLS[phase.index()].load(Ordering::Relaxed),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accounting is process-wide, so one test covers both states.
    #[test]
    fn timed_work_is_counted_only_when_enabled() {
        enable(false);
        assert_eq!(time(Phase::LossForward, || 7), 7);
        assert_eq!(totals()[Phase::LossForward.index()].calls, 0);

        enable(true);
        time(Phase::LossForward, || {
            std::thread::sleep(std::time::Duration::from_millis(2))
        });
        time(Phase::LossForward, || ());
        let total = totals()[Phase::LossForward.index()];
        enable(false);

        assert_eq!(total.calls, 2);
        assert!(total.seconds >= 0.002, "{total:?}");
        assert!(Phase::Conv2dWeightGradient.inside_backward());
        assert!(!Phase::OptimizerStep.inside_backward());
    }
}
