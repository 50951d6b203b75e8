//! Seeds: one user seed drives every random choice of a run.
//!
//! Independent streams (data order, crops, weight init, dropout, the genetic
//! algorithm) are derived from the user's seed and a path of integers
//! (`[epoch, example]`, `[generation, candidate]`, ...) with SplitMix64, so
//! any stream can be recreated from its path alone. That is what makes a
//! resumed run match an uninterrupted one without saving RNG internals.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

/// A seed for the stream at `path` below `seed`.
pub fn derive_seed(seed: u64, path: &[u64]) -> u64 {
    // Steps go through a different mix than the seed, so that a step equal
    // to the seed cannot cancel it out.
    path.iter().fold(splitmix64(seed), |state, &step| {
        let step = splitmix64(step ^ STEP_SALT).rotate_left(29);
        splitmix64(state ^ step)
    })
}

/// Salt that separates path steps from seeds.
const STEP_SALT: u64 = 0xd1b5_4a32_d192_ed03;

/// A ChaCha8 generator for the stream at `path` below `seed`.
pub fn stream(seed: u64, path: &[u64]) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(derive_seed(seed, path))
}

/// A fresh seed from the operating system, for runs given none.
pub fn fresh_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

/// FNV-1a of `text`: a hash that is the same on every platform and build
/// (std's hashers are not), for keying streams and fingerprints by content.
pub fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SplitMix64's output function: a bijective mix with good avalanche.
fn splitmix64(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_give_distinct_seeds() {
        let seeds = [
            derive_seed(1, &[]),
            derive_seed(1, &[0]),
            derive_seed(1, &[1]),
            derive_seed(1, &[0, 1]),
            derive_seed(1, &[1, 0]),
            derive_seed(2, &[0]),
        ];
        for (i, a) in seeds.iter().enumerate() {
            for b in &seeds[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(derive_seed(5, &[3, 4]), derive_seed(5, &[3, 4]));
    }
}
