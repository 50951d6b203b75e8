//! Evolutionary search for efficient U-Net generators for paired
//! image-to-image translation (pix2pix).
//!
//! The library owns the domain; the `unet-nas` binary only parses, resolves
//! and dispatches. The modules, from the ground up:
//!
//! - [`genome`]: the search space (image sizes, channel sets) and genomes,
//!   with their text form and validation;
//! - [`plan`]: a genome decoded into the layers of a U-Net generator;
//! - [`cost`]: parameters, paper FLOPs, MACs and memory of a plan;
//! - [`model`]: the generator built from a plan, and the PatchGAN;
//! - [`data`]: paired image folders, built-in synthetic sets, batches;
//! - [`train`]: the pix2pix objective, training runs, checkpoints;
//! - [`search`]: the evolutionary search, resumable and parallel;
//! - [`translate`]: a trained generator applied to images of any size;
//! - [`evaluate`]: image metrics, FCN-score, cost and latency of trained
//!   generators;
//! - [`report`]: a self-contained HTML page about a search;
//! - [`profile`]: opt-in timing of training work by operation, for the
//!   benchmark.
//!
//! ```
//! use unet_nas::cost::Cost;
//! use unet_nas::genome::{Genome, ImageSize};
//! use unet_nas::plan::ImageChannels;
//!
//! let size = ImageSize::new(256)?;
//! let original = Genome::pix2pix(size.depth());
//! let cost = Cost::of_genome(&original, size, ImageChannels::default());
//! assert_eq!(cost.parameters, 54_413_955);
//!
//! let slim: Genome = "32-64-128-256-256-256-256-256:1010101".parse()?;
//! let slim_cost = Cost::of_genome(&slim, size, ImageChannels::default());
//! assert!(slim_cost.relative_to(&cost).paper_flops < 0.5);
//! # Ok::<(), unet_nas::genome::SpaceError>(())
//! ```

#![warn(missing_docs)]

pub mod cost;
pub mod data;
pub mod evaluate;
pub mod genome;
pub mod io;
pub mod memory;
pub mod model;
pub mod plan;
pub mod profile;
pub mod report;
pub mod search;
pub mod seed;
pub mod train;
pub mod translate;
