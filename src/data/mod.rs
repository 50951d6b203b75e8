//! Paired image data: folders in pix2pix's formats, built-in synthetic sets,
//! preprocessing and batching.
//!
//! A data set is opened once ([`PairSet::open`]): every image is decoded in
//! parallel, which both validates it (unusable files are skipped with a
//! reason, and counted) and fills an in-memory cache when the decoded pixels
//! fit the cache budget. Training then reads batches from a [`BatchLoader`],
//! which prepares the next batches on a background thread while the current
//! one trains.
//!
//! Pixels reach the model scaled to [-1, 1], as in pix2pix. Labels for the
//! FCN-score are not handled here; the built-in sets expose their palettes so
//! the evaluation can recover label maps from A images.

mod folder;
mod loader;
mod pairs;
mod preprocess;
pub mod synthetic;

pub use folder::{Layout, Skipped};
pub use loader::{Batch, BatchLoader, Order};
pub use pairs::{OpenSettings, PairImage, PairSet, write_aligned};
pub use preprocess::{Prepared, Preprocess, Resize, chw_to_image, default_load_size};

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a data set comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DataSource {
    /// A folder in one of the [`Layout`]s.
    Folder(PathBuf),
    /// A synthetic set generated in code (`builtin:facades`, `builtin:maps`).
    Builtin(synthetic::Builtin),
}

impl FromStr for DataSource {
    type Err = DataError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.strip_prefix("builtin:") {
            Some(name) => Ok(Self::Builtin(name.parse()?)),
            None if text.trim().is_empty() => Err(DataError::EmptySource),
            None => Ok(Self::Folder(PathBuf::from(text))),
        }
    }
}

impl fmt::Display for DataSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Folder(path) => write!(f, "{}", path.display()),
            Self::Builtin(builtin) => write!(f, "builtin:{builtin}"),
        }
    }
}

impl TryFrom<String> for DataSource {
    type Error = DataError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<DataSource> for String {
    fn from(source: DataSource) -> String {
        source.to_string()
    }
}

/// Which image of a pair is the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
pub enum Direction {
    /// Translate A (left half, or `A/`) into B.
    #[default]
    #[serde(rename = "AtoB")]
    #[value(name = "AtoB")]
    AtoB,
    /// Translate B into A.
    #[serde(rename = "BtoA")]
    #[value(name = "BtoA")]
    BtoA,
}

/// The three splits of pix2pix's data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training pairs.
    Train,
    /// Validation pairs (mini-validation during the search).
    Val,
    /// Test pairs (evaluation).
    Test,
}

impl Split {
    /// Every split, in folder order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Val, Split::Test];

    /// The folder name of the split.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can stop a data set from being used.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// An empty `--data` value.
    #[error("data source is empty (expected a folder or builtin:facades / builtin:maps)")]
    EmptySource,
    /// An unknown built-in set.
    #[error("unknown built-in data set '{0}' (expected builtin:facades or builtin:maps)")]
    UnknownBuiltin(String),
    /// The folder does not exist.
    #[error("data folder {0} does not exist")]
    MissingFolder(PathBuf),
    /// The folder has none of the known layouts.
    #[error(
        "{0} holds neither train/, val/, test/ (aligned pairs) nor A/ and B/ (separate images)"
    )]
    UnknownLayout(PathBuf),
    /// The split has no usable image.
    #[error("no usable image pairs in {path} ({skipped} files skipped, see the warnings above)")]
    NoPairs {
        /// The split's folder.
        path: PathBuf,
        /// How many files were unusable.
        skipped: usize,
    },
    /// The split does not exist in this data set.
    #[error("{source_name} has no {split} split")]
    MissingSplit {
        /// The data set.
        source_name: String,
        /// The split asked for.
        split: Split,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An image could not be decoded or encoded.
    #[error("{path}: {source}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: image::ImageError,
    },
    /// Images of one batch differ in size.
    #[error(
        "images in one batch differ in size ({first} vs {second}); use --batch-size 1 or the resize_and_crop preprocessing"
    )]
    BatchSizeMismatch {
        /// One image's size, `WxH`.
        first: String,
        /// Another's.
        second: String,
    },
    /// An image is smaller than a crop that needs it larger.
    #[error("{name} is {width}x{height}, smaller than the {crop}x{crop} crop")]
    TooSmallToCrop {
        /// The image.
        name: String,
        /// Its width.
        width: u32,
        /// Its height.
        height: u32,
        /// The crop side.
        crop: u32,
    },
}
