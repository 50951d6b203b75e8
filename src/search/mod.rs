//! The evolutionary search (the paper's Algorithm 1), resumable, parallel
//! and reproducible.
//!
//! Each generation evaluates its new genomes ([`evaluate`]: a short pix2pix
//! training, then the fitness `1 / (L_val + gamma * cost)`), records every
//! evaluation in `trials.jsonl` and the generation in
//! `generations/NNNN.json`, then breeds the next generation with the
//! operators of [`operators`] (elitism, then selection, crossover or
//! mutation drawn with p_s, p_c, p_m). The best genome is finally trained on
//! the full training set as an ordinary training run.
//!
//! Reproducibility comes from two facts: a genome's evaluation depends only
//! on the genome and the config (its random streams are derived from the
//! seed and the genome), and generation `g` breeds from a stream derived
//! from `(seed, g)`. So finished evaluations can be cached and reused, and
//! a resumed search replays the same decisions as an uninterrupted one.

mod config;
mod engine;
pub mod evaluate;
pub mod operators;

pub use config::{Budget, CostMeasure, FitnessLoss, SearchConfig};
pub use engine::{
    Generation, SearchError, SearchOutcome, SearchRecord, best_genome, load_config, load_record,
    search,
};
pub use evaluate::{Evaluator, Trial};
