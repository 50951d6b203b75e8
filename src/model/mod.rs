//! Neural networks: the U-Net generator decoded from a genome and the
//! PatchGAN discriminator of pix2pix, and the small FCN segmenter of the
//! FCN-score.
//!
//! Layers follow PyTorch's semantics exactly (checked against the reference
//! tensors in `tests/fixtures/unet-reference`), including BatchNorm's running
//! variance, which PyTorch updates with the unbiased batch variance. Module
//! field names match PyTorch's (`weight`, `bias`, `running_mean`), so
//! PyTorch-made safetensors files load by name.
//!
//! Randomness (weight init, dropout masks) comes from RNGs passed in by the
//! caller rather than from the backend's global generator, so a run is
//! reproducible from its seed even when several candidates train at once.
//! Training loops, losses and optimisers live in [`crate::train`].

mod conv;
mod discriminator;
mod generator;
mod init;
mod load;
mod norm;
mod params;
mod segmenter;

pub use discriminator::{PatchGan, PatchGanConfig};
pub use generator::{Generator, GeneratorOptions};
pub use load::{LoadError, load_named};
pub use norm::BatchNorm2d;
pub use params::{NamedTensor, learnable_parameters, named_tensors};
pub use segmenter::{Segmenter, SegmenterShape};

use rand::rngs::ChaCha8Rng;

/// How a forward pass treats BatchNorm and dropout.
pub enum Mode<'a> {
    /// Inference: BatchNorm uses its running statistics, dropout is off.
    Eval,
    /// Training: BatchNorm normalises with batch statistics and updates its
    /// running statistics; dropout draws its masks from `dropout_rng`.
    Train {
        /// Source of dropout masks.
        dropout_rng: &'a mut ChaCha8Rng,
    },
}

impl Mode<'_> {
    /// Whether batch statistics are used (training behaviour).
    pub fn is_train(&self) -> bool {
        matches!(self, Mode::Train { .. })
    }
}
