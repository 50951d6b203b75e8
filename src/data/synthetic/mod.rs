//! Built-in synthetic data sets, generated in code from a seed at any size.
//!
//! They let the tool run with no download, and they are different enough to
//! test transfer: `facades` turns a label map of a building front into a
//! rendered photo; `maps` turns a top-down map into an aerial-like picture.
//! Each A image is drawn only in the colours of its set's [`Palette`], so the
//! label map can be recovered exactly from A (for the FCN-score). B images
//! get per-image colours, textures and light, so no two look alike.

mod canvas;
mod facades;
mod maps;
mod noise;

use std::fmt;
use std::str::FromStr;

use image::{DynamicImage, RgbImage};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::folder::DecodedPair;
use super::{DataError, Split};
use crate::seed::derive_seed;

/// The built-in data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Builtin {
    /// Label maps of building fronts -> rendered facades.
    Facades,
    /// Street maps -> aerial-like views.
    Maps,
}

impl Builtin {
    /// The classes of the set's label maps and their exact A colours.
    pub fn palette(self) -> &'static Palette {
        match self {
            Builtin::Facades => &facades::PALETTE,
            Builtin::Maps => &maps::PALETTE,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Builtin::Facades => "facades",
            Builtin::Maps => "maps",
        }
    }
}

impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Builtin {
    type Err = DataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "facades" => Ok(Builtin::Facades),
            "maps" => Ok(Builtin::Maps),
            other => Err(DataError::UnknownBuiltin(other.to_string())),
        }
    }
}

/// Class names and colours of a label map, class `i` drawn as `colors[i]`.
#[derive(Debug)]
pub struct Palette {
    /// Class names, in class order.
    pub names: &'static [&'static str],
    /// RGB colour of each class in A images.
    pub colors: &'static [[u8; 3]],
}

/// How a built-in set is generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SynthSettings {
    /// Image side in pixels.
    pub size: u32,
    /// Training pairs; the val and test splits get a tenth each (at least 1).
    pub count: usize,
    /// Seed of the data set (independent of the training seed).
    pub seed: u64,
}

impl Default for SynthSettings {
    fn default() -> Self {
        Self {
            size: 64,
            count: 400,
            seed: 2017,
        }
    }
}

impl SynthSettings {
    /// Number of pairs in `split`.
    pub fn split_count(&self, split: Split) -> usize {
        match split {
            Split::Train => self.count,
            Split::Val | Split::Test => (self.count / 10).max(1),
        }
    }
}

/// Draws the pairs of `split` as `(name, A, B)` images.
pub fn generate_rgb(
    builtin: Builtin,
    split: Split,
    settings: &SynthSettings,
) -> Vec<(String, RgbImage, RgbImage)> {
    let split_index = Split::ALL.iter().position(|&s| s == split).unwrap_or(0) as u64;
    (0..settings.split_count(split))
        .into_par_iter()
        .map(|index| {
            let seed = derive_seed(settings.seed, &[builtin as u64, split_index, index as u64]);
            let (a, b) = match builtin {
                Builtin::Facades => facades::draw(settings.size, seed),
                Builtin::Maps => maps::draw(settings.size, seed),
            };
            (format!("{}_{index:05}", split.name()), a, b)
        })
        .collect()
}

/// Draws the pairs of `split`, ready to be oriented by the data set.
pub(crate) fn generate(
    builtin: Builtin,
    split: Split,
    settings: &SynthSettings,
) -> Vec<(String, DecodedPair)> {
    generate_rgb(builtin, split, settings)
        .into_iter()
        .map(|(name, a, b)| {
            let pair = DecodedPair {
                a: DynamicImage::ImageRgb8(a),
                b: DynamicImage::ImageRgb8(b),
            };
            (name, pair)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(size: u32) -> SynthSettings {
        SynthSettings {
            size,
            count: 20,
            seed: 9,
        }
    }

    #[test]
    fn a_images_use_only_palette_colours_and_several_classes() {
        for builtin in [Builtin::Facades, Builtin::Maps] {
            let palette = builtin.palette();
            for (_, a, _) in generate_rgb(builtin, Split::Train, &settings(32)) {
                let mut seen = vec![false; palette.colors.len()];
                for pixel in a.pixels() {
                    let class = palette.colors.iter().position(|color| *color == pixel.0);
                    seen[class.expect("A pixel outside the palette")] = true;
                }
                let classes = seen.iter().filter(|&&s| s).count();
                assert!(classes >= 3, "{builtin}: only {classes} classes");
            }
        }
    }

    #[test]
    fn generation_is_reproducible_and_splits_differ() {
        let first = generate_rgb(Builtin::Maps, Split::Train, &settings(16));
        let again = generate_rgb(Builtin::Maps, Split::Train, &settings(16));
        let test = generate_rgb(Builtin::Maps, Split::Test, &settings(16));

        assert_eq!(first[0].2, again[0].2);
        assert_ne!(first[0].2, test[0].2);
        assert_ne!(first[0].2, first[1].2);
        assert_eq!(test.len(), 2);
    }

    #[test]
    fn the_two_sets_look_different() {
        let facades = generate_rgb(Builtin::Facades, Split::Train, &settings(32));
        let maps = generate_rgb(Builtin::Maps, Split::Train, &settings(32));
        let mean = |images: &[(String, RgbImage, RgbImage)]| {
            let total: u64 = images
                .iter()
                .flat_map(|(_, _, b)| b.pixels().map(|p| u64::from(p.0[2])))
                .sum();
            total as f64 / (images.len() * 32 * 32) as f64
        };

        assert!((mean(&facades) - mean(&maps)).abs() > 5.0);
    }
}
