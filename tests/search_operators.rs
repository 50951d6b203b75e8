//! Properties of the genetic operators.

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use unet_nas::genome::{ChannelSet, Genome};
use unet_nas::search::operators::{
    Operation, OperatorOdds, crossover, mutate, random_genome, roulette,
};

fn channel_set() -> impl Strategy<Value = ChannelSet> {
    prop::collection::btree_set(1u32..=64, 2..=6)
        .prop_map(|widths| ChannelSet::new(widths.into_iter().collect()).unwrap())
}

fn genome_in(set: ChannelSet, seed: u64) -> Genome {
    let depth = 4 + (seed % 4) as usize;
    random_genome(depth, &set, &mut ChaCha8Rng::seed_from_u64(seed))
}

proptest! {
    #[test]
    fn mutation_changes_genes_to_other_valid_values(set in channel_set(), seed in any::<u64>()) {
        let parent = genome_in(set.clone(), seed);
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 1);

        let child = mutate(&parent, &set, &mut rng);

        prop_assert_ne!(&child, &parent, "at least one gene mutates");
        prop_assert_eq!(child.depth(), parent.depth());
        for (before, after) in parent.channels().iter().zip(child.channels()) {
            prop_assert!(set.contains(*after));
            if before != after {
                prop_assert!(set.widths().iter().any(|w| w != before));
            }
        }
    }

    #[test]
    fn crossover_takes_each_gene_from_a_parent_at_its_position(
        set in channel_set(),
        seed in any::<u64>(),
    ) {
        let depth = 4 + (seed % 4) as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = random_genome(depth, &set, &mut rng);
        let b = random_genome(depth, &set, &mut rng);

        let (c, d) = crossover(&a, &b, &mut rng);

        prop_assert_eq!(c.depth(), depth);
        prop_assert_eq!(d.depth(), depth);
        for i in 0..depth {
            let pair = (c.channels()[i], d.channels()[i]);
            prop_assert!(pair == (a.channels()[i], b.channels()[i]) || pair == (b.channels()[i], a.channels()[i]));
        }
        for i in 0..depth - 1 {
            let pair = (c.skips()[i], d.skips()[i]);
            prop_assert!(pair == (a.skips()[i], b.skips()[i]) || pair == (b.skips()[i], a.skips()[i]));
        }
    }
}

#[test]
fn crossover_swaps_a_contiguous_segment() {
    let a: Genome = "1-1-1-1-1-1:00000".parse().unwrap();
    let b: Genome = "2-2-2-2-2-2:11111".parse().unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(4);

    for _ in 0..200 {
        let (child, _) = crossover(&a, &b, &mut rng);
        let taken: Vec<usize> = (0..6).filter(|&i| child.channels()[i] == 2).collect();
        assert!(
            !taken.is_empty(),
            "a segment of at least one gene is swapped"
        );
        assert_eq!(
            taken.last().unwrap() - taken[0] + 1,
            taken.len(),
            "contiguous: {child}"
        );
    }
}

/// With 200,000 draws, each frequency's standard error is under 0.0011; a
/// bound of 0.006 is more than five of them, so a correct roulette fails
/// this with negligible probability while a biased one (say uniform, off by
/// 0.1 or more here) cannot pass.
#[test]
fn roulette_frequencies_follow_fitness() {
    let fitness = [1.0, 2.0, 3.0, 4.0, 0.0];
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut counts = [0usize; 5];
    let draws = 200_000;

    for _ in 0..draws {
        counts[roulette(&fitness, &mut rng)] += 1;
    }

    for (i, &count) in counts.iter().enumerate() {
        let expected = fitness[i] / 10.0;
        let observed = count as f64 / draws as f64;
        assert!(
            (observed - expected).abs() < 0.006,
            "index {i}: {observed} vs {expected}"
        );
    }
    assert_eq!(counts[4], 0, "zero fitness is never drawn");
}

#[test]
fn roulette_is_uniform_when_every_fitness_is_zero() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let mut counts = [0usize; 4];

    for _ in 0..40_000 {
        counts[roulette(&[0.0; 4], &mut rng)] += 1;
    }

    assert!(
        counts.iter().all(|&c| (9_000..11_000).contains(&c)),
        "{counts:?}"
    );
}

#[test]
fn operation_odds_are_drawn_in_proportion() {
    let odds = OperatorOdds {
        selection: 0.2,
        crossover: 0.7,
        mutation: 0.1,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut counts = [0usize; 3];

    for _ in 0..100_000 {
        let slot = match odds.draw(&mut rng) {
            Operation::Selection => 0,
            Operation::Crossover => 1,
            Operation::Mutation => 2,
        };
        counts[slot] += 1;
    }

    let shares: Vec<f64> = counts.iter().map(|&c| c as f64 / 100_000.0).collect();
    assert!(
        (shares[0] - 0.2).abs() < 0.01
            && (shares[1] - 0.7).abs() < 0.01
            && (shares[2] - 0.1).abs() < 0.01,
        "{shares:?}"
    );
}

#[test]
fn odds_must_be_non_negative_and_sum_to_one() {
    let odds = |selection, crossover, mutation| OperatorOdds {
        selection,
        crossover,
        mutation,
    };

    assert!(odds(0.2, 0.7, 0.1).validate().is_ok());
    assert!(
        odds(0.5, 0.7, 0.1)
            .validate()
            .unwrap_err()
            .contains("must be 1")
    );
    assert!(
        odds(-0.1, 1.0, 0.1)
            .validate()
            .unwrap_err()
            .contains("0 or more")
    );
}
