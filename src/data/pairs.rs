//! Opened data sets: decoded, validated, cached pairs.

use std::path::Path;
use std::sync::Arc;

use image::{DynamicImage, GenericImageView, RgbImage};
use rayon::prelude::*;

use super::folder::{self, DecodedPair, PairFile, Skipped};
use super::synthetic::{self, SynthSettings};
use super::{DataError, DataSource, Direction, Split};
use crate::plan::ImageChannels;

/// One training example, oriented and converted: `input` has the model's
/// input channels, `target` its output channels.
#[derive(Debug, Clone)]
pub struct PairImage {
    /// File stem, or the synthetic example's number.
    pub name: String,
    /// What the generator reads (RGB or grayscale).
    pub input: DynamicImage,
    /// What it should produce.
    pub target: DynamicImage,
}

/// How to open a data set.
#[derive(Debug, Clone)]
pub struct OpenSettings {
    /// Which image of a pair is the input.
    pub direction: Direction,
    /// Channels the model reads and writes (3 RGB, 1 grayscale).
    pub channels: ImageChannels,
    /// Decoded pixels kept in memory up to this many bytes; the rest are
    /// decoded again whenever they are used.
    pub cache_bytes: u64,
    /// How built-in sets are generated.
    pub synth: SynthSettings,
}

enum Entry {
    Cached(Arc<PairImage>),
    OnDisk(PairFile),
}

/// The pairs of one split of a data set, ready to be read by index.
pub struct PairSet {
    description: String,
    entries: Vec<Entry>,
    skipped: Vec<Skipped>,
    conversions: usize,
    direction: Direction,
    channels: ImageChannels,
}

impl std::fmt::Debug for PairSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairSet")
            .field("description", &self.description)
            .field("pairs", &self.entries.len())
            .field("skipped", &self.skipped.len())
            .finish()
    }
}

impl PairSet {
    /// Opens `split` of `source`, decoding every image once in parallel.
    ///
    /// Unusable files are skipped and listed in [`PairSet::skipped`]; a
    /// split with no usable pair is an error.
    pub fn open(
        source: &DataSource,
        split: Split,
        settings: &OpenSettings,
    ) -> Result<Self, DataError> {
        match source {
            DataSource::Folder(root) => Self::open_folder(root, split, settings),
            DataSource::Builtin(builtin) => {
                let pairs = synthetic::generate(*builtin, split, &settings.synth);
                Ok(Self::from_decoded(
                    source.to_string(),
                    split,
                    pairs,
                    settings,
                ))
            }
        }
    }

    /// Whether `source` has `split`, without decoding anything.
    pub fn has_split(source: &DataSource, split: Split) -> Result<bool, DataError> {
        match source {
            DataSource::Folder(root) => {
                let layout = folder::detect_layout(root)?;
                Ok(folder::list_split(root, layout, split)?.is_some())
            }
            DataSource::Builtin(_) => Ok(true),
        }
    }

    fn open_folder(root: &Path, split: Split, settings: &OpenSettings) -> Result<Self, DataError> {
        let layout = folder::detect_layout(root)?;
        let Some(listing) = folder::list_split(root, layout, split)? else {
            return Err(DataError::MissingSplit {
                source_name: root.display().to_string(),
                split,
            });
        };

        let (folder, mut skipped) = (listing.folder, listing.skipped);
        let decoded: Vec<(PairFile, Result<DecodedPair, Skipped>)> = listing
            .pairs
            .into_par_iter()
            .map(|file| {
                let decoded = folder::decode(&file);
                (file, decoded)
            })
            .collect();

        let mut entries = Vec::with_capacity(decoded.len());
        let mut conversions = 0;
        let mut cached_bytes = 0u64;
        for (file, result) in decoded {
            let pair = match result {
                Ok(pair) => pair,
                Err(skip) => {
                    skipped.push(skip);
                    continue;
                }
            };
            let (image, converted) = orient(file.name(), pair, settings);
            conversions += usize::from(converted);
            let bytes = image_bytes(&image.input) + image_bytes(&image.target);
            if cached_bytes + bytes <= settings.cache_bytes {
                cached_bytes += bytes;
                entries.push(Entry::Cached(Arc::new(image)));
            } else {
                entries.push(Entry::OnDisk(file));
            }
        }

        if entries.is_empty() {
            return Err(DataError::NoPairs {
                path: folder,
                skipped: skipped.len(),
            });
        }
        Ok(Self {
            description: format!("{} ({split})", root.display()),
            entries,
            skipped,
            conversions,
            direction: settings.direction,
            channels: settings.channels,
        })
    }

    fn from_decoded(
        name: String,
        split: Split,
        pairs: Vec<(String, DecodedPair)>,
        settings: &OpenSettings,
    ) -> Self {
        let entries = pairs
            .into_iter()
            .map(|(name, pair)| Entry::Cached(Arc::new(orient(name, pair, settings).0)))
            .collect();
        Self {
            description: format!("{name} ({split})"),
            entries,
            skipped: Vec::new(),
            conversions: 0,
            direction: settings.direction,
            channels: settings.channels,
        }
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no pairs (never true for an opened set).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The data set and split, for messages.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Files that could not be used, with reasons.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// How many images were converted to the model's channel count
    /// (grayscale to RGB, RGBA to RGB, colour to grayscale).
    pub fn conversions(&self) -> usize {
        self.conversions
    }

    /// The name of pair `index`, without decoding it.
    pub fn name(&self, index: usize) -> String {
        match &self.entries[index] {
            Entry::Cached(pair) => pair.name.clone(),
            Entry::OnDisk(file) => file.name(),
        }
    }

    /// Pair `index`, decoding it again when it was not cached.
    pub fn get(&self, index: usize) -> Result<Arc<PairImage>, DataError> {
        match &self.entries[index] {
            Entry::Cached(pair) => Ok(Arc::clone(pair)),
            Entry::OnDisk(file) => {
                let decoded = folder::decode(file).map_err(|skip| DataError::Io {
                    path: skip.path,
                    source: std::io::Error::other(skip.reason),
                })?;
                let settings = OpenSettings {
                    direction: self.direction,
                    channels: self.channels,
                    cache_bytes: 0,
                    synth: SynthSettings::default(),
                };
                Ok(Arc::new(orient(file.name(), decoded, &settings).0))
            }
        }
    }

    /// A new set of the pairs at `indices` (for mini-train subsets).
    pub fn subset(&self, indices: &[usize]) -> Result<PairSet, DataError> {
        let entries = indices
            .iter()
            .map(|&index| self.get(index).map(Entry::Cached))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            description: format!("{} subset of {}", indices.len(), self.description),
            entries,
            skipped: Vec::new(),
            conversions: 0,
            direction: self.direction,
            channels: self.channels,
        })
    }
}

/// Applies the direction and converts both images to the model's channels;
/// also says whether a conversion was needed.
fn orient(name: String, pair: DecodedPair, settings: &OpenSettings) -> (PairImage, bool) {
    let (input, target) = match settings.direction {
        Direction::AtoB => (pair.a, pair.b),
        Direction::BtoA => (pair.b, pair.a),
    };
    let (input, input_converted) = to_channels(input, settings.channels.input);
    let (target, target_converted) = to_channels(target, settings.channels.output);
    let image = PairImage {
        name,
        input,
        target,
    };
    (image, input_converted || target_converted)
}

fn to_channels(image: DynamicImage, channels: u32) -> (DynamicImage, bool) {
    match (channels, &image) {
        (1, DynamicImage::ImageLuma8(_)) | (3, DynamicImage::ImageRgb8(_)) => (image, false),
        (1, _) => (DynamicImage::ImageLuma8(image.to_luma8()), true),
        _ => (DynamicImage::ImageRgb8(image.to_rgb8()), true),
    }
}

fn image_bytes(image: &DynamicImage) -> u64 {
    let (width, height) = image.dimensions();
    u64::from(width) * u64::from(height) * u64::from(image.color().bytes_per_pixel())
}

/// Writes `pairs` as pix2pix aligned images (A left, B right) named
/// `NAME.png` into `folder`, creating it. Each file is written to a
/// temporary name and renamed, so an interrupted write leaves no half file.
pub fn write_aligned(
    folder: &Path,
    pairs: &[(String, RgbImage, RgbImage)],
) -> Result<(), DataError> {
    std::fs::create_dir_all(folder).map_err(|source| DataError::Io {
        path: folder.to_path_buf(),
        source,
    })?;
    pairs.par_iter().try_for_each(|(name, a, b)| {
        let mut joined = RgbImage::new(a.width() + b.width(), a.height());
        image::imageops::replace(&mut joined, a, 0, 0);
        image::imageops::replace(&mut joined, b, i64::from(a.width()), 0);
        let path = folder.join(format!("{name}.png"));
        crate::io::write_atomically(&path, |file| {
            joined
                .write_to(file, image::ImageFormat::Png)
                .map_err(std::io::Error::other)
        })
        .map_err(|source| DataError::Io { path, source })
    })
}
