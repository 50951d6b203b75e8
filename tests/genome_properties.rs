//! Invariants of genomes, layer plans and costs over random genomes.

use proptest::prelude::*;

use unet_nas::cost::Cost;
use unet_nas::genome::{Genome, MAX_DEPTH, MIN_DEPTH};
use unet_nas::plan::{ImageChannels, LayerPlan};

fn any_genome() -> impl Strategy<Value = Genome> {
    (MIN_DEPTH..=MAX_DEPTH).prop_flat_map(|depth| {
        (
            prop::collection::vec(1u32..=1024, depth),
            prop::collection::vec(any::<bool>(), depth - 1),
        )
            .prop_map(|(channels, skips)| Genome::new(channels, skips).unwrap())
    })
}

fn any_image_channels() -> impl Strategy<Value = ImageChannels> {
    (1u32..=4, 1u32..=4).prop_map(|(input, output)| ImageChannels { input, output })
}

proptest! {
    #[test]
    fn display_and_parse_round_trip(genome in any_genome()) {
        let text = genome.to_string();
        let parsed: Genome = text.parse().unwrap();

        prop_assert_eq!(&parsed, &genome);
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn removing_a_skip_removes_exactly_its_kernel_slice(
        genome in any_genome(),
        channels in any_image_channels(),
    ) {
        let size = genome.size();
        let plan = LayerPlan::decode(&genome, size, channels);
        let before = Cost::of(&plan).parameters;

        for pair in (0..genome.depth() - 1).filter(|&pair| genome.skips()[pair]) {
            let mut skips = genome.skips().to_vec();
            skips[pair] = false;
            let without = Genome::new(genome.channels().to_vec(), skips).unwrap();
            let layer = plan.decoder().iter().find(|layer| layer.index == pair).unwrap();

            let after = Cost::of_genome(&without, size, channels).parameters;
            prop_assert_eq!(before - after, layer.skip_kernel_weights());
            prop_assert_eq!(
                layer.skip_kernel_weights(),
                u64::from(genome.channels()[pair]) * u64::from(layer.out_channels) * 16
            );
        }
    }

    #[test]
    fn channel_bookkeeping_closes(genome in any_genome(), channels in any_image_channels()) {
        let size = genome.size();
        let plan = LayerPlan::decode(&genome, size, channels);
        let encoder = plan.encoder();
        let decoder = plan.decoder();

        // Encoder: each layer reads what the previous one wrote, halving.
        prop_assert_eq!(encoder[0].in_channels, channels.input);
        prop_assert_eq!(encoder[0].in_resolution, size.side());
        for pair in encoder.windows(2) {
            prop_assert_eq!(pair[1].in_channels, pair[0].out_channels);
            prop_assert_eq!(pair[1].in_resolution, pair[0].out_resolution);
        }
        prop_assert_eq!(encoder.last().unwrap().out_resolution, 1);

        // Decoder: reads the bottleneck, then the previous decoder output
        // plus the mirrored encoder output when its skip is kept.
        prop_assert_eq!(decoder[0].in_channels, encoder.last().unwrap().out_channels);
        for pair in decoder.windows(2) {
            let mirrored = &encoder[pair[1].index];
            let skip = if genome.skips()[pair[1].index] { mirrored.out_channels } else { 0 };
            prop_assert_eq!(pair[1].skip_channels, skip);
            prop_assert_eq!(pair[1].in_channels, pair[0].out_channels + skip);
            prop_assert_eq!(pair[1].in_resolution, pair[0].out_resolution);
            prop_assert_eq!(mirrored.out_resolution, pair[1].in_resolution);
        }
        let last = decoder.last().unwrap();
        prop_assert_eq!(last.out_channels, channels.output);
        prop_assert_eq!(last.out_resolution, size.side());
    }

    #[test]
    fn paper_flops_never_undercount_macs(genome in any_genome()) {
        let cost = Cost::of_genome(&genome, genome.size(), ImageChannels::default());

        prop_assert!(cost.paper_flops > cost.macs);
        prop_assert_eq!(cost.model_bytes, 4 * cost.parameters);
        prop_assert!(cost.peak_activation_bytes > 0);
    }
}
