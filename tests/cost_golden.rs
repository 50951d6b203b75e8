//! Golden cost values: the reference fixtures' metadata and the published
//! pix2pix numbers.
//!
//! The fixtures' `parameters`, `paper_flops` and `macs` were counted by the
//! PyTorch script that made them (see `tests/fixtures/unet-reference/README.md`),
//! independently of this crate.

use std::collections::HashMap;
use std::path::Path;

use unet_nas::cost::Cost;
use unet_nas::genome::{Genome, ImageSize};
use unet_nas::plan::ImageChannels;

const FIXTURES: &str = "tests/fixtures/unet-reference";

/// The safetensors metadata of a fixture file.
fn metadata(path: &Path) -> HashMap<String, String> {
    let bytes = std::fs::read(path).unwrap();
    let (_, metadata) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    metadata.metadata().clone().unwrap_or_default()
}

/// Builds a genome from the fixture's `channels` ("[8, 8, 12, 8]") and
/// `skips` ("[0, 0, 0]") metadata.
fn fixture_genome(metadata: &HashMap<String, String>) -> Genome {
    let channels: Vec<u32> = serde_json::from_str(&metadata["channels"]).unwrap();
    let skips: Vec<u8> = serde_json::from_str(&metadata["skips"]).unwrap();
    Genome::new(channels, skips.into_iter().map(|bit| bit == 1).collect()).unwrap()
}

/// Genome fixtures are the safetensors files with a `channels` entry; the
/// PatchGAN fixture has none.
#[test]
fn every_genome_fixture_matches_its_counted_cost() {
    let mut checked = 0;
    for entry in std::fs::read_dir(FIXTURES).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_none_or(|extension| extension != "safetensors")
        {
            continue;
        }
        let metadata = metadata(&path);
        if !metadata.contains_key("channels") {
            continue;
        }

        let genome = fixture_genome(&metadata);
        let size = ImageSize::new(metadata["size"].parse().unwrap()).unwrap();
        let cost = Cost::of_genome(&genome, size, ImageChannels::default());

        let name = path.display();
        assert_eq!(
            cost.parameters.to_string(),
            metadata["parameters"],
            "{name}"
        );
        assert_eq!(
            cost.paper_flops.to_string(),
            metadata["paper_flops"],
            "{name}"
        );
        assert_eq!(cost.macs.to_string(), metadata["macs"], "{name}");
        checked += 1;
    }
    assert_eq!(checked, 3, "expected the three genome fixtures");
}

/// The pix2pix `unet_256` figures quoted in the task and in the fixture
/// README (54,413,955 parameters; the paper prints 18147M FLOPs).
#[test]
fn pix2pix_unet_256() {
    let size = ImageSize::new(256).unwrap();
    let cost = Cost::of_genome(&Genome::pix2pix(8), size, ImageChannels::default());

    assert_eq!(cost.parameters, 54_413_955);
    assert_eq!(cost.paper_flops, 18_146_500_608);
    assert_eq!(cost.macs, 6_048_186_368);
    assert_eq!(cost.model_bytes, 217_655_820);
    assert_eq!((cost.paper_flops as f64 / 1e6).round(), 18147.0);
}
