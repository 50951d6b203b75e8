//! Label palettes: how the colours of a label-map image name classes.
//!
//! The FCN-score needs the label map behind each input image. Label-map
//! images (the B side of pix2pix's `cityscapes` and `facades` sets, the A side of
//! the built-in sets) draw class `i` in one colour, so the map is recovered
//! by looking each pixel up in the palette. Real sets are stored as JPEG,
//! whose compression shifts colours a little, so a pixel takes the nearest
//! palette colour within a tolerance; pixels farther from every colour (and
//! pixels in an `ignore` colour) are unlabelled and left out of the score.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::synthetic::Builtin;

/// Label value of an unlabelled pixel.
pub const UNLABELLED: u8 = u8::MAX;

/// Default colour tolerance (Euclidean distance in 8-bit RGB) for palettes
/// of JPEG-stored data sets.
const JPEG_TOLERANCE: f32 = 40.0;

/// Why a palette could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum PaletteError {
    /// The file could not be read.
    #[error("palette {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The file was read but its content is unusable.
    #[error("palette {origin}: {message}")]
    Invalid {
        /// Where the palette came from.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// One class of a palette.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Class {
    /// The class name.
    pub name: String,
    /// Its colour in label-map images.
    pub color: [u8; 3],
}

/// Classes and colours of a data set's label maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Palette {
    /// Where it came from: `builtin:facades`, `cityscapes`, or a path.
    pub source: String,
    /// Classes in label order (at most 255).
    pub classes: Vec<Class>,
    /// Colours of unlabelled pixels (void, ego vehicle, ...).
    pub ignore: Vec<[u8; 3]>,
    /// Largest RGB distance at which a pixel still takes a colour's label.
    pub tolerance: f32,
    /// Whether every class must occur in the training label maps (true for
    /// user files, where an unused colour is most likely a typo).
    pub require_all_classes: bool,
}

/// Where the palette of an evaluation comes from (`--palette`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaletteChoice {
    /// The data set's own: a built-in set's, or `palette.toml` in a data
    /// folder when there is one.
    Auto,
    /// No FCN-score: image metrics only.
    None,
    /// Cityscapes' 19 evaluation classes (pix2pix's `cityscapes`).
    Cityscapes,
    /// The CMP facade classes (pix2pix's `facades`).
    CmpFacades,
    /// A built-in set's palette.
    Builtin(Builtin),
    /// A palette file (TOML; see `docs/FORMATS.md`).
    File(PathBuf),
}

impl std::str::FromStr for PaletteChoice {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "auto" => Self::Auto,
            "none" => Self::None,
            "cityscapes" => Self::Cityscapes,
            "facades" | "cmp-facades" => Self::CmpFacades,
            "" => return Err("empty palette name".into()),
            other => match other.strip_prefix("builtin:") {
                Some(name) => Self::Builtin(name.parse().map_err(|e| format!("{e}"))?),
                None => Self::File(PathBuf::from(other)),
            },
        })
    }
}

impl fmt::Display for PaletteChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::None => f.write_str("none"),
            Self::Cityscapes => f.write_str("cityscapes"),
            Self::CmpFacades => f.write_str("facades"),
            Self::Builtin(builtin) => write!(f, "builtin:{builtin}"),
            Self::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The palette file's layout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaletteFile {
    #[serde(default)]
    tolerance: Option<f32>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(rename = "class")]
    classes: Vec<ClassEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassEntry {
    name: String,
    color: String,
}

impl Palette {
    /// A built-in set's palette: its A images use exactly these colours.
    pub fn builtin(builtin: Builtin) -> Self {
        let palette = builtin.palette();
        Self {
            source: format!("builtin:{builtin}"),
            classes: palette
                .names
                .iter()
                .zip(palette.colors)
                .map(|(name, color)| Class {
                    name: (*name).to_string(),
                    color: *color,
                })
                .collect(),
            ignore: Vec::new(),
            tolerance: 0.0,
            require_all_classes: true,
        }
    }

    /// Cityscapes' 19 evaluation classes in train-id order, in the colours
    /// of the data set's `gtFine_color` images (which pix2pix's
    /// `cityscapes` pairs hold on their B side); the void classes' colours
    /// are ignored.
    pub fn cityscapes() -> Self {
        Self::named("cityscapes", CITYSCAPES, CITYSCAPES_VOID)
    }

    /// The 12 classes of the CMP facade database in label order, in the
    /// colours of its label images (MATLAB's `jet(12)`; black is "no
    /// label"), which pix2pix's `facades` pairs hold on their B side.
    pub fn cmp_facades() -> Self {
        Self::named("facades", CMP_FACADES, &[[0, 0, 0]])
    }

    fn named(source: &str, classes: &[(&str, [u8; 3])], ignore: &[[u8; 3]]) -> Self {
        Self {
            source: source.to_string(),
            classes: classes
                .iter()
                .map(|(name, color)| Class {
                    name: (*name).to_string(),
                    color: *color,
                })
                .collect(),
            ignore: ignore.to_vec(),
            tolerance: JPEG_TOLERANCE,
            require_all_classes: false,
        }
    }

    /// Reads a palette file:
    ///
    /// ```toml
    /// tolerance = 40            # optional, RGB distance
    /// ignore = ["#000000"]      # optional, unlabelled colours
    /// [[class]]
    /// name = "road"
    /// color = "#804080"
    /// ```
    pub fn from_file(path: &Path) -> Result<Self, PaletteError> {
        let read_error = |message: String| PaletteError::Read {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|error| read_error(error.to_string()))?;
        let file: PaletteFile =
            toml::from_str(&text).map_err(|error| read_error(one_line(&error.to_string())))?;

        let source = path.display().to_string();
        let invalid = |message: String| PaletteError::Invalid {
            origin: source.clone(),
            message,
        };
        let classes = file
            .classes
            .into_iter()
            .map(|entry| {
                let color = parse_color(&entry.color)
                    .map_err(|message| invalid(format!("class '{}': {message}", entry.name)))?;
                Ok(Class {
                    name: entry.name,
                    color,
                })
            })
            .collect::<Result<Vec<_>, PaletteError>>()?;
        let ignore = file
            .ignore
            .iter()
            .map(|text| parse_color(text).map_err(|message| invalid(format!("ignore: {message}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let palette = Self {
            source: source.clone(),
            classes,
            ignore,
            tolerance: file.tolerance.unwrap_or(JPEG_TOLERANCE),
            require_all_classes: true,
        };
        palette.check().map_err(invalid)?;
        Ok(palette)
    }

    /// Checks what parsing cannot: enough classes, distinct colours, a
    /// sensible tolerance.
    fn check(&self) -> Result<(), String> {
        if self.classes.len() < 2 {
            return Err(format!(
                "{} classes; a label map needs at least 2",
                self.classes.len()
            ));
        }
        if self.classes.len() >= usize::from(UNLABELLED) {
            return Err(format!("{} classes; at most 254", self.classes.len()));
        }
        if !(self.tolerance.is_finite() && (0.0..=255.0).contains(&self.tolerance)) {
            return Err(format!(
                "tolerance {} is outside 0..=255 (an RGB distance)",
                self.tolerance
            ));
        }
        let mut seen: HashMap<[u8; 3], &str> = HashMap::new();
        for class in &self.classes {
            if let Some(other) = seen.insert(class.color, &class.name) {
                return Err(format!(
                    "classes '{other}' and '{}' share the colour {}",
                    class.name,
                    hex(class.color)
                ));
            }
        }
        if let Some(color) = self.ignore.iter().find(|color| seen.contains_key(*color)) {
            return Err(format!(
                "{} is both a class colour and an ignore colour",
                hex(*color)
            ));
        }
        Ok(())
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether the palette has no class (never true once checked).
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }

    /// A labeller that remembers the colours it has seen.
    pub fn labeller(&self) -> Labeller<'_> {
        Labeller {
            palette: self,
            memo: HashMap::new(),
        }
    }
}

/// Maps pixel colours to labels, nearest palette colour within tolerance.
pub struct Labeller<'a> {
    palette: &'a Palette,
    memo: HashMap<[u8; 3], u8>,
}

impl Labeller<'_> {
    /// The label of one pixel, or [`UNLABELLED`].
    pub fn label(&mut self, color: [u8; 3]) -> u8 {
        if let Some(label) = self.memo.get(&color) {
            return *label;
        }
        let label = self.nearest(color);
        self.memo.insert(color, label);
        label
    }

    fn nearest(&self, color: [u8; 3]) -> u8 {
        let distance = |other: [u8; 3]| -> f32 {
            let squared: i32 = (0..3)
                .map(|c| (i32::from(color[c]) - i32::from(other[c])).pow(2))
                .sum();
            (squared as f32).sqrt()
        };
        let closest_class = self
            .palette
            .classes
            .iter()
            .enumerate()
            .map(|(index, class)| (index, distance(class.color)))
            .min_by(|a, b| a.1.total_cmp(&b.1));
        let closest_ignore = self
            .palette
            .ignore
            .iter()
            .map(|color| distance(*color))
            .min_by(f32::total_cmp);
        match closest_class {
            Some((index, d))
                if d <= self.palette.tolerance && closest_ignore.is_none_or(|i| d < i) =>
            {
                index as u8
            }
            _ => UNLABELLED,
        }
    }

    /// Labels of an HWC 8-bit image with 1 or 3 channels (grey pixels read
    /// as `[v, v, v]`).
    pub fn label_pixels(&mut self, bytes: &[u8], channels: usize) -> Vec<u8> {
        bytes
            .chunks_exact(channels)
            .map(|pixel| match pixel {
                [r, g, b] => self.label([*r, *g, *b]),
                [v] => self.label([*v, *v, *v]),
                _ => UNLABELLED,
            })
            .collect()
    }
}

/// `#rrggbb` (or `rrggbb`) to RGB.
pub fn parse_color(text: &str) -> Result<[u8; 3], String> {
    let digits = text.trim().trim_start_matches('#');
    let valid = digits.len() == 6 && digits.chars().all(|c| c.is_ascii_hexdigit());
    if !valid {
        return Err(format!("colour '{text}' is not of the form #rrggbb"));
    }
    let channel = |at: usize| u8::from_str_radix(&digits[at..at + 2], 16).expect("checked hex");
    Ok([channel(0), channel(2), channel(4)])
}

/// RGB to `#rrggbb`.
pub fn hex(color: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", color[0], color[1], color[2])
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cityscapes' evaluation classes (train ids 0..=18) and their colours,
/// from cityscapesScripts' `labels.py`.
const CITYSCAPES: &[(&str, [u8; 3])] = &[
    ("road", [128, 64, 128]),
    ("sidewalk", [244, 35, 232]),
    ("building", [70, 70, 70]),
    ("wall", [102, 102, 156]),
    ("fence", [190, 153, 153]),
    ("pole", [153, 153, 153]),
    ("traffic light", [250, 170, 30]),
    ("traffic sign", [220, 220, 0]),
    ("vegetation", [107, 142, 35]),
    ("terrain", [152, 251, 152]),
    ("sky", [70, 130, 180]),
    ("person", [220, 20, 60]),
    ("rider", [255, 0, 0]),
    ("car", [0, 0, 142]),
    ("truck", [0, 0, 70]),
    ("bus", [0, 60, 100]),
    ("train", [0, 80, 100]),
    ("motorcycle", [0, 0, 230]),
    ("bicycle", [119, 11, 32]),
];

/// Colours of Cityscapes' classes that are ignored in evaluation
/// (unlabeled, dynamic, ground, parking, rail track, guard rail, bridge,
/// tunnel, caravan, trailer); polegroup and license plate share colours
/// with evaluated classes and so count as those.
const CITYSCAPES_VOID: &[[u8; 3]] = &[
    [0, 0, 0],
    [111, 74, 0],
    [81, 0, 81],
    [250, 170, 160],
    [230, 150, 140],
    [180, 165, 180],
    [150, 100, 100],
    [150, 120, 90],
    [0, 0, 90],
    [0, 0, 110],
];

/// The CMP facade database's classes in label order (label PNG values 1 to
/// 12) and their colours, which are MATLAB's `jet(12)` colour map.
const CMP_FACADES: &[(&str, [u8; 3])] = &[
    ("background", [0, 0, 170]),
    ("facade", [0, 0, 255]),
    ("window", [0, 85, 255]),
    ("door", [0, 170, 255]),
    ("cornice", [0, 255, 255]),
    ("sill", [85, 255, 170]),
    ("balcony", [170, 255, 85]),
    ("blind", [255, 255, 0]),
    ("deco", [255, 170, 0]),
    ("molding", [255, 85, 0]),
    ("pillar", [255, 0, 0]),
    ("shop", [170, 0, 0]),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("palette.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_palette_file_round_trips_its_colours() {
        let (_dir, path) = write(
            "tolerance = 10\nignore = [\"#000000\"]\n\
             [[class]]\nname = \"road\"\ncolor = \"#804080\"\n\
             [[class]]\nname = \"sky\"\ncolor = \"4682B4\"\n",
        );
        let palette = Palette::from_file(&path).unwrap();
        assert_eq!(palette.classes[0].color, [128, 64, 128]);
        assert_eq!(palette.classes[1].color, [70, 130, 180]);
        assert_eq!(palette.ignore, vec![[0, 0, 0]]);
        assert_eq!(palette.tolerance, 10.0);
    }

    #[test]
    fn bad_palette_files_name_the_problem() {
        let cases = [
            (
                "[[class]]\nname = \"a\"\ncolor = \"#12345\"\n[[class]]\nname = \"b\"\ncolor = \"#000000\"\n",
                "not of the form",
            ),
            (
                "[[class]]\nname = \"a\"\ncolor = \"#ffffff\"\n",
                "at least 2",
            ),
            (
                "[[class]]\nname = \"a\"\ncolour = \"#ffffff\"\n",
                "unknown field",
            ),
            (
                "[[class]]\nname = \"a\"\ncolor = \"#ffffff\"\n[[class]]\nname = \"b\"\ncolor = \"#FFFFFF\"\n",
                "share the colour",
            ),
            (
                "tolerance = 300\n[[class]]\nname = \"a\"\ncolor = \"#ffffff\"\n[[class]]\nname = \"b\"\ncolor = \"#000000\"\n",
                "tolerance",
            ),
            ("this is not toml", "palette"),
        ];
        for (text, expected) in cases {
            let (_dir, path) = write(text);
            let message = Palette::from_file(&path).unwrap_err().to_string();
            assert!(message.contains(expected), "{text:?} gave {message}");
            assert!(message.contains("palette.toml"), "{message}");
            assert!(!message.contains('\n'), "{message}");
        }
        let missing = Palette::from_file(Path::new("/no/such/palette.toml")).unwrap_err();
        assert!(missing.to_string().contains("/no/such/palette.toml"));
    }

    #[test]
    fn nearest_colour_within_tolerance_and_ignore_colours() {
        let palette = Palette::cityscapes();
        let mut labeller = palette.labeller();
        assert_eq!(labeller.label([128, 64, 128]), 0);
        assert_eq!(labeller.label([131, 60, 125]), 0, "JPEG-shifted road");
        assert_eq!(labeller.label([0, 0, 0]), UNLABELLED, "void");
        assert_eq!(labeller.label([2, 1, 3]), UNLABELLED, "near void");
        assert_eq!(labeller.label([255, 255, 255]), UNLABELLED, "far from all");
        assert_eq!(labeller.label([0, 0, 140]), 13, "car");
    }

    #[test]
    fn builtin_palettes_are_exact_and_valid() {
        for builtin in [Builtin::Facades, Builtin::Maps] {
            let palette = Palette::builtin(builtin);
            palette.check().unwrap();
            let mut labeller = palette.labeller();
            for (index, class) in palette.classes.iter().enumerate() {
                assert_eq!(usize::from(labeller.label(class.color)), index);
            }
        }
        Palette::cityscapes().check().unwrap();
        Palette::cmp_facades().check().unwrap();
    }

    #[test]
    fn palette_choices_parse() {
        assert_eq!("auto".parse(), Ok(PaletteChoice::Auto));
        assert_eq!("cityscapes".parse(), Ok(PaletteChoice::Cityscapes));
        assert_eq!(
            "builtin:maps".parse(),
            Ok(PaletteChoice::Builtin(Builtin::Maps))
        );
        assert!("builtin:nope".parse::<PaletteChoice>().is_err());
        assert_eq!(
            "my.toml".parse(),
            Ok(PaletteChoice::File(PathBuf::from("my.toml")))
        );
    }
}
