//! Finding and decoding image pairs in folders.

use std::path::{Path, PathBuf};

use image::{DynamicImage, GenericImageView};
use serde::Serialize;

use super::{DataError, Split};

/// Extensions read as images (lowercase).
const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// How a folder stores its pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// pix2pix's aligned format: `train/`, `val/`, `test/` of images holding
    /// A (left half) and B (right half) side by side.
    Aligned,
    /// `A/` and `B/` of same-named images, each with `train/`, `val/`,
    /// `test/` subfolders (the input of pix2pix's `combine_A_and_B.py`).
    SeparateSplits,
    /// `A/` and `B/` of same-named images without splits: all training data.
    Separate,
}

/// A file that could not be used, and why. Collected and reported rather
/// than failing the whole data set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// Why it was skipped.
    pub reason: String,
}

/// Where one pair's pixels live.
#[derive(Debug, Clone)]
pub(crate) enum PairFile {
    /// One image, A on the left and B on the right.
    Aligned(PathBuf),
    /// Two images of the same size.
    Separate { a: PathBuf, b: PathBuf },
}

impl PairFile {
    /// The pair's name: its file name without extension.
    pub(crate) fn name(&self) -> String {
        let path = match self {
            PairFile::Aligned(path) => path,
            PairFile::Separate { a, .. } => a,
        };
        path.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn path(&self) -> &Path {
        match self {
            PairFile::Aligned(path) => path,
            PairFile::Separate { a, .. } => a,
        }
    }
}

/// Decides the layout of `root`.
pub(crate) fn detect_layout(root: &Path) -> Result<Layout, DataError> {
    if !root.is_dir() {
        return Err(DataError::MissingFolder(root.to_path_buf()));
    }
    if Split::ALL
        .iter()
        .any(|split| root.join(split.name()).is_dir())
    {
        return Ok(Layout::Aligned);
    }
    if root.join("A").is_dir() && root.join("B").is_dir() {
        let has_splits = Split::ALL
            .iter()
            .any(|split| root.join("A").join(split.name()).is_dir());
        return Ok(if has_splits {
            Layout::SeparateSplits
        } else {
            Layout::Separate
        });
    }
    Err(DataError::UnknownLayout(root.to_path_buf()))
}

/// The pairs found in one split's folder.
pub(crate) struct SplitListing {
    /// The folder listed, for messages.
    pub folder: PathBuf,
    /// Candidate pairs, not yet decoded.
    pub pairs: Vec<PairFile>,
    /// Files skipped while listing.
    pub skipped: Vec<Skipped>,
}

/// The pairs of one split, or `None` when the split is absent.
pub(crate) fn list_split(
    root: &Path,
    layout: Layout,
    split: Split,
) -> Result<Option<SplitListing>, DataError> {
    match layout {
        Layout::Aligned => {
            let folder = root.join(split.name());
            if !folder.is_dir() {
                return Ok(None);
            }
            let (images, skipped) = list_images(&folder)?;
            let pairs = images.into_iter().map(PairFile::Aligned).collect();
            Ok(Some(SplitListing {
                folder,
                pairs,
                skipped,
            }))
        }
        Layout::SeparateSplits => {
            let a = root.join("A").join(split.name());
            let b = root.join("B").join(split.name());
            if !a.is_dir() {
                return Ok(None);
            }
            let (pairs, skipped) = match_separate(&a, &b)?;
            Ok(Some(SplitListing {
                folder: a,
                pairs,
                skipped,
            }))
        }
        Layout::Separate if split == Split::Train => {
            let (pairs, skipped) = match_separate(&root.join("A"), &root.join("B"))?;
            Ok(Some(SplitListing {
                folder: root.join("A"),
                pairs,
                skipped,
            }))
        }
        Layout::Separate => Ok(None),
    }
}

/// Image files of `folder`, sorted by name; other files are skipped with a
/// reason, hidden files (`.DS_Store`, ...) silently.
fn list_images(folder: &Path) -> Result<(Vec<PathBuf>, Vec<Skipped>), DataError> {
    let entries = std::fs::read_dir(folder).map_err(|source| DataError::Io {
        path: folder.to_path_buf(),
        source,
    })?;
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| DataError::Io {
                path: folder.to_path_buf(),
                source,
            })?
            .path();
        let hidden = path
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'));
        if hidden || path.is_dir() {
            continue;
        }
        if has_image_extension(&path) {
            images.push(path);
        } else {
            skipped.push(Skipped {
                path,
                reason: "not an image (expected .png, .jpg, .jpeg or .bmp)".into(),
            });
        }
    }
    images.sort();
    Ok((images, skipped))
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .map(|extension| extension.to_string_lossy().to_lowercase())
        .is_some_and(|extension| IMAGE_EXTENSIONS.contains(&extension.as_str()))
}

/// Pairs `a/NAME` with `b/NAME`; an A image without its B is skipped.
fn match_separate(a: &Path, b: &Path) -> Result<(Vec<PairFile>, Vec<Skipped>), DataError> {
    if !b.is_dir() {
        return Err(DataError::MissingFolder(b.to_path_buf()));
    }
    let (images, mut skipped) = list_images(a)?;
    let mut pairs = Vec::with_capacity(images.len());
    for image in images {
        let partner = b.join(image.file_name().unwrap_or_default());
        if partner.is_file() {
            pairs.push(PairFile::Separate {
                a: image,
                b: partner,
            });
        } else {
            skipped.push(Skipped {
                reason: format!("no B image {}", partner.display()),
                path: image,
            });
        }
    }
    Ok((pairs, skipped))
}

/// The decoded A and B of one pair, before direction and channel handling.
pub(crate) struct DecodedPair {
    pub a: DynamicImage,
    pub b: DynamicImage,
}

/// Decodes a pair, or says why it cannot be used.
pub(crate) fn decode(file: &PairFile) -> Result<DecodedPair, Skipped> {
    let skip = |reason: String| Skipped {
        path: file.path().to_path_buf(),
        reason,
    };
    match file {
        PairFile::Aligned(path) => {
            let image = open_image(path).map_err(skip)?;
            let (width, height) = image.dimensions();
            if width % 2 == 1 {
                return Err(skip(format!(
                    "aligned image is {width}x{height}; an odd width cannot split into A and B halves"
                )));
            }
            let half = width / 2;
            Ok(DecodedPair {
                a: image.crop_imm(0, 0, half, height),
                b: image.crop_imm(half, 0, half, height),
            })
        }
        PairFile::Separate { a, b } => {
            let a_image = open_image(a).map_err(skip)?;
            let b_image = open_image(b).map_err(|reason| Skipped {
                path: b.clone(),
                reason,
            })?;
            if a_image.dimensions() != b_image.dimensions() {
                let (aw, ah) = a_image.dimensions();
                let (bw, bh) = b_image.dimensions();
                return Err(skip(format!("A is {aw}x{ah} but B is {bw}x{bh}")));
            }
            Ok(DecodedPair {
                a: a_image,
                b: b_image,
            })
        }
    }
}

fn open_image(path: &Path) -> Result<DynamicImage, String> {
    let reader = image::ImageReader::open(path)
        .map_err(|error| format!("cannot read: {error}"))?
        .with_guessed_format()
        .map_err(|error| format!("cannot read: {error}"))?;
    reader
        .decode()
        .map_err(|error| format!("not a readable image: {error}"))
}
