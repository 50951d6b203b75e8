//! Training pix2pix translators: the objective, the learning-rate rule, one
//! iteration, and whole runs with checkpoints and resume.
//!
//! [`run::train`] drives a run folder (see `docs/FORMATS.md`): it saves the
//! resolved config, trains epoch by epoch, and after every epoch writes a
//! complete checkpoint and then, atomically, the `state.json` that points to
//! it, so a kill at any moment leaves the last finished epoch resumable.
//! All randomness is derived from the run's seed and the position in the run
//! ([`crate::seed`]), so a resumed run continues exactly as an uninterrupted
//! one would, learning-rate schedule included.
//!
//! The search reuses [`Pix2Pix`] and [`ValidationMeter`] for its short
//! candidate trainings, which need no run folder.

mod adam;
mod checkpoint;
mod config;
mod loss;
pub mod run;
mod samples;
mod schedule;
mod step;

pub use adam::FusedAdam;
pub use checkpoint::{EpochRecord, RunState, load_generator};
pub use config::TrainConfig;
pub use loss::{GanMode, l1};
pub use run::{TrainError, TrainSummary, train};
pub use schedule::LinearDecay;
pub use step::{
    AdamSettings, Objective, Pix2Pix, StepLosses, ValidationLoss, ValidationMeter,
    inference_copies, validation_loss,
};

use burn::tensor::Device;

/// The device computations run on: burn's default, which honours the
/// `BURN_DEVICE` environment variable when GPU backends are compiled in,
/// and is the `flex` CPU backend otherwise.
pub fn compute_device() -> Device {
    Device::default()
}

/// Stream names for [`crate::seed::stream`]: each random choice of a run
/// draws from its own stream, so adding one never shifts another.
pub mod streams {
    /// Generator weight init.
    pub const INIT_GENERATOR: u64 = 1;
    /// Discriminator weight init.
    pub const INIT_DISCRIMINATOR: u64 = 2;
    /// Data order, crops and flips.
    pub const DATA: u64 = 3;
    /// Dropout masks, per iteration.
    pub const DROPOUT: u64 = 4;
}
