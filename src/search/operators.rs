//! The genetic operators of the search: roulette-wheel selection, two-cut
//! crossover and per-gene mutation.
//!
//! Each is a small function of genomes and an explicit RNG, so each can be
//! tested alone and the search stays reproducible from its seed.

use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::genome::{ChannelSet, Genome};

/// Draws an index with probability proportional to `fitness[i]`; uniformly
/// when every fitness is 0 (or none is positive and finite).
pub fn roulette(fitness: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let weight = |f: f64| if f.is_finite() && f > 0.0 { f } else { 0.0 };
    let total: f64 = fitness.iter().map(|&f| weight(f)).sum();
    if total <= 0.0 {
        return rng.random_range(0..fitness.len());
    }

    let mut point = rng.random_range(0.0..total);
    for (index, &f) in fitness.iter().enumerate() {
        point -= weight(f);
        if point < 0.0 {
            return index;
        }
    }
    // Rounding can leave a sliver past the last positive weight.
    fitness.iter().rposition(|&f| weight(f) > 0.0).unwrap_or(0)
}

/// Two-cut crossover: for the channel code and for the skip code
/// separately, cut points `i < j` are drawn uniformly and genes `i..j` are
/// swapped between the parents. Returns both children.
pub fn crossover(first: &Genome, second: &Genome, rng: &mut ChaCha8Rng) -> (Genome, Genome) {
    let (channels_a, channels_b) = swap_segment(first.channels(), second.channels(), rng);
    let (skips_a, skips_b) = swap_segment(first.skips(), second.skips(), rng);
    let child =
        |channels, skips| Genome::new(channels, skips).expect("crossover keeps code lengths");
    (child(channels_a, skips_a), child(channels_b, skips_b))
}

/// Swaps `a[i..j]` with `b[i..j]` for uniform `0 <= i < j <= len`.
fn swap_segment<T: Clone>(a: &[T], b: &[T], rng: &mut ChaCha8Rng) -> (Vec<T>, Vec<T>) {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    let length = a.len();
    if length == 0 {
        return (a, b);
    }
    let i = rng.random_range(0..length);
    let j = rng.random_range(i + 1..=length);
    a[i..j].swap_with_slice(&mut b[i..j]);
    (a, b)
}

/// Mutates each gene with probability `1 / (code length)` (the channel and
/// skip codes together), and at least one gene: a channel gene takes a
/// different value of `set` drawn uniformly, a skip gene flips.
///
/// A channel gene whose set offers no other value (a set of one width) is
/// never picked; with such a set only skip genes mutate.
pub fn mutate(genome: &Genome, set: &ChannelSet, rng: &mut ChaCha8Rng) -> Genome {
    let mut channels = genome.channels().to_vec();
    let mut skips = genome.skips().to_vec();
    let mutable = mutable_genes(&channels, &skips, set);
    let probability = 1.0 / mutable.len().max(1) as f64;

    let mut chosen: Vec<usize> = mutable
        .iter()
        .copied()
        .filter(|_| rng.random_bool(probability))
        .collect();
    if chosen.is_empty() && !mutable.is_empty() {
        chosen.push(mutable[rng.random_range(0..mutable.len())]);
    }

    for gene in chosen {
        if gene < channels.len() {
            channels[gene] = other_width(channels[gene], set, rng);
        } else {
            let bit = gene - channels.len();
            skips[bit] = !skips[bit];
        }
    }
    Genome::new(channels, skips).expect("mutation keeps code lengths")
}

/// Gene positions that can change: channel genes first, then skip genes.
fn mutable_genes(channels: &[u32], skips: &[bool], set: &ChannelSet) -> Vec<usize> {
    let channel_genes = channels
        .iter()
        .enumerate()
        .filter(|&(_, &width)| set.widths().iter().any(|&w| w != width))
        .map(|(position, _)| position);
    let skip_genes = (0..skips.len()).map(|bit| channels.len() + bit);
    channel_genes.chain(skip_genes).collect()
}

/// A width of `set` other than `current`, uniformly.
fn other_width(current: u32, set: &ChannelSet, rng: &mut ChaCha8Rng) -> u32 {
    let others: Vec<u32> = set
        .widths()
        .iter()
        .copied()
        .filter(|&w| w != current)
        .collect();
    others[rng.random_range(0..others.len())]
}

/// A genome with every gene drawn uniformly: widths from `set`, skips fair
/// coins.
pub fn random_genome(depth: usize, set: &ChannelSet, rng: &mut ChaCha8Rng) -> Genome {
    let channels = (0..depth)
        .map(|_| set.widths()[rng.random_range(0..set.len())])
        .collect();
    let skips = (0..depth - 1).map(|_| rng.random_bool(0.5)).collect();
    Genome::new(channels, skips).expect("depth is checked by the search config")
}

/// Probabilities of the three ways to make an offspring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OperatorOdds {
    /// Copy a roulette-drawn parent.
    pub selection: f64,
    /// Two-cut crossover of two roulette-drawn parents.
    pub crossover: f64,
    /// Mutation of a roulette-drawn parent.
    pub mutation: f64,
}

/// The operation drawn for one offspring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Selection.
    Selection,
    /// Crossover.
    Crossover,
    /// Mutation.
    Mutation,
}

impl OperatorOdds {
    /// Draws one operation with these probabilities.
    pub fn draw(&self, rng: &mut ChaCha8Rng) -> Operation {
        let point = rng.random_range(0.0..1.0);
        if point < self.selection {
            Operation::Selection
        } else if point < self.selection + self.crossover {
            Operation::Crossover
        } else {
            Operation::Mutation
        }
    }

    /// Checks the probabilities are non-negative and sum to 1.
    pub fn validate(&self) -> Result<(), String> {
        let parts = [self.selection, self.crossover, self.mutation];
        if parts.iter().any(|p| !p.is_finite() || *p < 0.0) {
            return Err(format!(
                "p-selection, p-crossover and p-mutation must be 0 or more (got {}, {}, {})",
                self.selection, self.crossover, self.mutation
            ));
        }
        let sum: f64 = parts.iter().sum();
        if (sum - 1.0).abs() > 1e-9 {
            return Err(format!(
                "p-selection + p-crossover + p-mutation must be 1 (got {sum})"
            ));
        }
        Ok(())
    }
}
