//! The built modules agree with the layer plan and the cost counter.

use burn::tensor::{Device, Tensor};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;

use unet_nas::cost::Cost;
use unet_nas::genome::Genome;
use unet_nas::model::{Generator, GeneratorOptions, Mode, PatchGanConfig, learnable_parameters};
use unet_nas::plan::{ImageChannels, LayerPlan};

/// Small genomes so that building modules stays cheap.
fn small_genome() -> impl Strategy<Value = Genome> {
    (4usize..=6).prop_flat_map(|depth| {
        (
            prop::collection::vec(1u32..=24, depth),
            prop::collection::vec(any::<bool>(), depth - 1),
        )
            .prop_map(|(channels, skips)| Genome::new(channels, skips).unwrap())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn learnable_parameters_match_the_cost_counter(
        genome in small_genome(),
        input in 1u32..=3,
        output in 1u32..=3,
    ) {
        let channels = ImageChannels { input, output };
        let plan = LayerPlan::decode(&genome, genome.size(), channels);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let generator = Generator::new(&plan, GeneratorOptions::default(), &mut rng, &Device::flex());

        prop_assert_eq!(learnable_parameters(&generator), Cost::of(&plan).parameters);
    }

    #[test]
    fn forward_keeps_the_image_shape(genome in small_genome()) {
        let plan = LayerPlan::decode(&genome, genome.size(), ImageChannels::default());
        let device = Device::flex();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let generator = Generator::new(&plan, GeneratorOptions::default(), &mut rng, &device);
        let side = genome.size().side() as usize;

        let input = Tensor::<4>::zeros([2, 3, side, side], &device);
        let output = generator.forward(input, &mut Mode::Train { dropout_rng: &mut rng });
        prop_assert_eq!(output.dims(), [2, 3, side, side]);
    }
}

#[test]
fn patchgan_is_lowered_only_when_the_patch_map_would_vanish() {
    let config = PatchGanConfig::pix2pix(3, 3);

    assert_eq!(
        config.fit_to(16),
        (
            PatchGanConfig {
                n_layers: 2,
                ..config
            },
            true
        )
    );
    assert_eq!(config.fit_to(32), (config, false));
    assert_eq!(config.fit_to(32).0.patch_side(32), 2);
    assert_eq!(config.fit_to(256).0.patch_side(256), 30);
    assert_eq!(config.fit_to(16).0.patch_side(16), 2);
}

#[test]
fn the_same_seed_builds_the_same_weights() {
    let genome = Genome::pix2pix(4);
    let plan = LayerPlan::decode(&genome, genome.size(), ImageChannels::default());
    let device = Device::flex();
    let build = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        Generator::new(&plan, GeneratorOptions::default(), &mut rng, &device)
    };

    let first = build(7).encoder[1].conv.weight.val().to_data();
    assert_eq!(first, build(7).encoder[1].conv.weight.val().to_data());
    assert_ne!(first, build(8).encoder[1].conv.weight.val().to_data());
}
