//! The search space: image sizes, channel choice sets and genomes.
//!
//! A genome describes one U-Net generator by two fixed-length codes: a
//! *channel code* (one output width per encoder layer, outermost first; the
//! decoder mirrors it) and a *skip code* (one bit per mirrored
//! encoder/decoder pair, pair 0 outermost, saying whether the skip
//! connection is kept). The innermost pair has no skip, so a genome for an
//! image side of `2^n` has `n` widths and `n - 1` bits.
//!
//! This module owns parsing and validation of everything a user can type
//! about the space (sizes, channel sets, genome strings) so that a typo fails
//! before any work starts. Turning a genome into layers lives in
//! [`crate::plan`], counting its cost in [`crate::cost`].

use std::fmt;
use std::str::FromStr;

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

/// Smallest encoder depth allowed: a 16x16 image.
pub const MIN_DEPTH: usize = 4;

/// Largest encoder depth allowed: a 1024x1024 image.
pub const MAX_DEPTH: usize = 10;

/// The channel choice set the search draws from when the user gives none.
pub const DEFAULT_CHANNEL_SET: [u32; 6] = [16, 32, 64, 128, 256, 512];

/// Everything that can be wrong with a size, a channel set or a genome.
///
/// Messages are one line, lowercase, and name both the offending part and
/// what was expected, because they are shown to users as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpaceError {
    /// The image side is not a power of two.
    #[error("image size {0} is not a power of two (expected 16, 32, 64, 128, 256, 512 or 1024)")]
    SizeNotPowerOfTwo(u64),
    /// The image side is a power of two outside the supported range.
    #[error("image size {0} is out of range (expected 16 to 1024, a power of two)")]
    SizeOutOfRange(u64),
    /// The image side is not a number at all.
    #[error("image size '{0}' is not a number (expected 16, 32, 64, 128, 256, 512 or 1024)")]
    SizeNotNumeric(String),
    /// The channel set string holds no widths.
    #[error("channel set is empty (expected comma-separated widths such as 16,32,64)")]
    EmptyChannelSet,
    /// A channel set entry is not a whole number.
    #[error("channel set entry '{0}' is not a whole number (expected e.g. 8,16,24,32)")]
    ChannelSetNotNumeric(String),
    /// A channel set entry is zero.
    #[error("channel set holds a width of 0 (every width must be at least 1)")]
    ChannelSetZero,
    /// A channel set entry appears twice.
    #[error("channel set holds {0} twice (each width may appear once)")]
    ChannelSetDuplicate(u32),
    /// The genome string is empty.
    #[error("genome is empty (expected e.g. 64-128-256-512:111)")]
    EmptyGenome,
    /// The genome string has no colon between the two codes.
    #[error(
        "genome '{0}' has no ':' between channel code and skip code (expected e.g. 64-128-256-512:111)"
    )]
    MissingColon(String),
    /// The genome string has more than one colon.
    #[error("genome '{0}' has more than one ':' (expected exactly one, e.g. 64-128-256-512:111)")]
    ExtraColon(String),
    /// A channel gene is not a whole number.
    #[error("channel gene {position} '{token}' is not a whole number (expected a positive width)")]
    WidthNotNumeric {
        /// Zero-based position in the channel code.
        position: usize,
        /// The text found there.
        token: String,
    },
    /// A channel gene is zero.
    #[error("channel gene {position} is 0 (expected a positive width)")]
    ZeroWidth {
        /// Zero-based position in the channel code.
        position: usize,
    },
    /// A skip gene is not 0 or 1.
    #[error("skip gene {position} is '{found}' (expected 0 or 1)")]
    BadSkipBit {
        /// Zero-based position in the skip code.
        position: usize,
        /// The character found there.
        found: char,
    },
    /// The skip code length does not match the channel code length.
    #[error(
        "genome has {widths} widths but {bits} skip bits (expected {expected} bits, one fewer than widths)"
    )]
    SkipCountMismatch {
        /// Number of widths in the channel code.
        widths: usize,
        /// Number of bits in the skip code.
        bits: usize,
        /// Number of bits that would fit the widths.
        expected: usize,
    },
    /// The genome's depth is outside what any supported size uses.
    #[error("genome has {0} widths (expected 4 to 10, one per encoder layer)")]
    DepthOutOfRange(usize),
    /// The genome's depth does not fit the requested image size.
    #[error(
        "genome has {widths} widths but size {size} needs {expected} (one per halving of the side)"
    )]
    DepthMismatch {
        /// Number of widths in the genome.
        widths: usize,
        /// Image side in pixels.
        size: u32,
        /// Widths a genome for this side must have.
        expected: usize,
    },
    /// A width is not in the user's channel choice set.
    #[error("channel gene {position} is {width}, which is not in the channel set {set}")]
    WidthNotInSet {
        /// Zero-based position in the channel code.
        position: usize,
        /// The width found there.
        width: u32,
        /// The channel set, in its text form.
        set: String,
    },
    /// An unknown preset name.
    #[error("unknown preset '{0}' (expected pix2pix)")]
    UnknownPreset(String),
}

/// A square image side `2^n` with `n` in [`MIN_DEPTH`]..=[`MAX_DEPTH`].
///
/// The depth `n` is the number of stride-2 encoder layers needed to bring the
/// image down to 1x1, which is what fixes a genome's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct ImageSize {
    side: u32,
}

impl ImageSize {
    /// Checks that `side` is a supported power of two.
    pub fn new(side: u64) -> Result<Self, SpaceError> {
        if !side.is_power_of_two() {
            return Err(SpaceError::SizeNotPowerOfTwo(side));
        }

        let depth = side.trailing_zeros() as usize;
        if !(MIN_DEPTH..=MAX_DEPTH).contains(&depth) {
            return Err(SpaceError::SizeOutOfRange(side));
        }
        Ok(Self { side: side as u32 })
    }

    /// The size whose encoder has `depth` layers.
    pub fn from_depth(depth: usize) -> Result<Self, SpaceError> {
        if !(MIN_DEPTH..=MAX_DEPTH).contains(&depth) {
            return Err(SpaceError::DepthOutOfRange(depth));
        }
        Ok(Self { side: 1 << depth })
    }

    /// Image side in pixels.
    pub fn side(self) -> u32 {
        self.side
    }

    /// Number of encoder layers, `log2(side)`.
    pub fn depth(self) -> usize {
        self.side.trailing_zeros() as usize
    }
}

impl fmt::Display for ImageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.side)
    }
}

impl FromStr for ImageSize {
    type Err = SpaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let side: u64 = text
            .trim()
            .parse()
            .map_err(|_| SpaceError::SizeNotNumeric(text.to_string()))?;
        Self::new(side)
    }
}

impl TryFrom<u32> for ImageSize {
    type Error = SpaceError;

    fn try_from(side: u32) -> Result<Self, Self::Error> {
        Self::new(u64::from(side))
    }
}

impl From<ImageSize> for u32 {
    fn from(size: ImageSize) -> u32 {
        size.side
    }
}

/// The set C of widths the search may draw a channel gene from.
///
/// Kept sorted ascending so that draws are reproducible whatever order the
/// user typed the widths in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<u32>", into = "Vec<u32>")]
pub struct ChannelSet {
    widths: Vec<u32>,
}

impl ChannelSet {
    /// Builds a set from widths, rejecting an empty list, zeros and repeats.
    pub fn new(mut widths: Vec<u32>) -> Result<Self, SpaceError> {
        if widths.is_empty() {
            return Err(SpaceError::EmptyChannelSet);
        }
        if widths.contains(&0) {
            return Err(SpaceError::ChannelSetZero);
        }

        widths.sort_unstable();
        if let Some(pair) = widths.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(SpaceError::ChannelSetDuplicate(pair[0]));
        }
        Ok(Self { widths })
    }

    /// The widths, ascending.
    pub fn widths(&self) -> &[u32] {
        &self.widths
    }

    /// Number of choices, |C|.
    pub fn len(&self) -> usize {
        self.widths.len()
    }

    /// Always false: a set is never built empty.
    pub fn is_empty(&self) -> bool {
        self.widths.is_empty()
    }

    /// Whether `width` is one of the choices.
    pub fn contains(&self, width: u32) -> bool {
        self.widths.binary_search(&width).is_ok()
    }
}

impl Default for ChannelSet {
    fn default() -> Self {
        Self {
            widths: DEFAULT_CHANNEL_SET.to_vec(),
        }
    }
}

impl fmt::Display for ChannelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text: Vec<String> = self.widths.iter().map(u32::to_string).collect();
        write!(f, "{}", text.join(","))
    }
}

impl FromStr for ChannelSet {
    type Err = SpaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(SpaceError::EmptyChannelSet);
        }

        let widths = text
            .split(',')
            .map(|token| {
                let token = token.trim();
                token
                    .parse::<u32>()
                    .map_err(|_| SpaceError::ChannelSetNotNumeric(token.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(widths)
    }
}

impl TryFrom<Vec<u32>> for ChannelSet {
    type Error = SpaceError;

    fn try_from(widths: Vec<u32>) -> Result<Self, Self::Error> {
        Self::new(widths)
    }
}

impl From<ChannelSet> for Vec<u32> {
    fn from(set: ChannelSet) -> Vec<u32> {
        set.widths
    }
}

/// Named genomes a user can ask for instead of typing codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The U-Net of pix2pix (Isola et al., 2017): widths 64, 128, 256, 512,
    /// 512, ... and every skip kept.
    Pix2pix,
}

impl Preset {
    /// The preset's genome for an encoder of `depth` layers.
    pub fn genome(self, depth: usize) -> Genome {
        match self {
            Preset::Pix2pix => Genome::pix2pix(depth),
        }
    }
}

impl FromStr for Preset {
    type Err = SpaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "pix2pix" => Ok(Preset::Pix2pix),
            other => Err(SpaceError::UnknownPreset(other.to_string())),
        }
    }
}

/// One point of the search space: a channel code and a skip code.
///
/// A genome is valid on its own (positive widths, `n - 1` bits for `n`
/// widths, `n` in the supported range); whether it fits a given image size or
/// channel set is checked separately by [`Genome::check_size`] and
/// [`Genome::check_channel_set`], because an explicit genome may use any
/// width.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Genome {
    channels: Vec<u32>,
    skips: Vec<bool>,
}

impl Genome {
    /// Builds a genome, checking the codes' lengths and widths.
    pub fn new(channels: Vec<u32>, skips: Vec<bool>) -> Result<Self, SpaceError> {
        if let Some(position) = channels.iter().position(|&width| width == 0) {
            return Err(SpaceError::ZeroWidth { position });
        }

        let expected = channels.len().saturating_sub(1);
        if skips.len() != expected {
            return Err(SpaceError::SkipCountMismatch {
                widths: channels.len(),
                bits: skips.len(),
                expected,
            });
        }

        if !(MIN_DEPTH..=MAX_DEPTH).contains(&channels.len()) {
            return Err(SpaceError::DepthOutOfRange(channels.len()));
        }
        Ok(Self { channels, skips })
    }

    /// The pix2pix U-Net for an encoder of `depth` layers: widths
    /// `64 * [1, 2, 4, 8, 8, ...]` capped at 512, every skip kept.
    ///
    /// # Panics
    ///
    /// When `depth` is outside [`MIN_DEPTH`]..=[`MAX_DEPTH`]; take it from an
    /// [`ImageSize`] to rule that out.
    pub fn pix2pix(depth: usize) -> Self {
        assert!(
            (MIN_DEPTH..=MAX_DEPTH).contains(&depth),
            "pix2pix genome asked for depth {depth}"
        );
        let channels = (0..depth).map(|i| (64u32 << i.min(3)).min(512)).collect();
        Self {
            channels,
            skips: vec![true; depth - 1],
        }
    }

    /// Number of encoder layers, `n`.
    pub fn depth(&self) -> usize {
        self.channels.len()
    }

    /// The channel code: encoder output widths, outermost first.
    pub fn channels(&self) -> &[u32] {
        &self.channels
    }

    /// The skip code: whether pair `j` (0 outermost) keeps its skip.
    pub fn skips(&self) -> &[bool] {
        &self.skips
    }

    /// The image size this genome decodes for.
    pub fn size(&self) -> ImageSize {
        ImageSize::from_depth(self.depth()).expect("genome depth is checked when it is built")
    }

    /// Checks that the genome has one width per encoder layer of `size`.
    pub fn check_size(&self, size: ImageSize) -> Result<(), SpaceError> {
        if self.depth() == size.depth() {
            return Ok(());
        }
        Err(SpaceError::DepthMismatch {
            widths: self.depth(),
            size: size.side(),
            expected: size.depth(),
        })
    }

    /// Checks that every width is one of the choices in `set`.
    pub fn check_channel_set(&self, set: &ChannelSet) -> Result<(), SpaceError> {
        for (position, &width) in self.channels.iter().enumerate() {
            if !set.contains(width) {
                return Err(SpaceError::WidthNotInSet {
                    position,
                    width,
                    set: set.to_string(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Display for Genome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let widths: Vec<String> = self.channels.iter().map(u32::to_string).collect();
        let bits: String = self
            .skips
            .iter()
            .map(|&kept| if kept { '1' } else { '0' })
            .collect();
        write!(f, "{}:{}", widths.join("-"), bits)
    }
}

impl FromStr for Genome {
    type Err = SpaceError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SpaceError::EmptyGenome);
        }

        let mut parts = text.split(':');
        let channel_text = parts.next().unwrap_or_default();
        let skip_text = parts
            .next()
            .ok_or_else(|| SpaceError::MissingColon(text.to_string()))?;
        if parts.next().is_some() {
            return Err(SpaceError::ExtraColon(text.to_string()));
        }

        let channels = parse_channel_code(channel_text)?;
        let skips = parse_skip_code(skip_text)?;
        Self::new(channels, skips)
    }
}

impl TryFrom<String> for Genome {
    type Error = SpaceError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Genome> for String {
    fn from(genome: Genome) -> String {
        genome.to_string()
    }
}

/// Parses `64-128-256` into widths, naming the first bad gene.
fn parse_channel_code(text: &str) -> Result<Vec<u32>, SpaceError> {
    text.split('-')
        .enumerate()
        .map(|(position, token)| {
            let width = parse_width(token).ok_or_else(|| SpaceError::WidthNotNumeric {
                position,
                token: token.to_string(),
            })?;
            if width == 0 {
                return Err(SpaceError::ZeroWidth { position });
            }
            Ok(width)
        })
        .collect()
}

/// A width is plain ASCII digits: no sign, no spaces, no exponent.
fn parse_width(token: &str) -> Option<u32> {
    if token.is_empty() || !token.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// Parses `1101` into skip bits, naming the first character that is not 0/1.
fn parse_skip_code(text: &str) -> Result<Vec<bool>, SpaceError> {
    text.chars()
        .enumerate()
        .map(|(position, found)| match found {
            '1' => Ok(true),
            '0' => Ok(false),
            _ => Err(SpaceError::BadSkipBit { position, found }),
        })
        .collect()
}

/// Number of distinct genomes for `size` over `set`: `|C|^n * 2^(n-1)`.
///
/// Returned as an arbitrary-precision integer because a large channel set at
/// depth 10 overflows 64 bits, and users quote the exact figure.
pub fn space_size(size: ImageSize, set: &ChannelSet) -> BigUint {
    let depth = size.depth() as u32;
    let channel_codes = BigUint::from(set.len()).pow(depth);
    let skip_codes = BigUint::from(1u8) << (depth - 1);
    channel_codes * skip_codes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pix2pix_256_matches_the_published_widths() {
        let genome = Genome::pix2pix(8);

        assert_eq!(genome.to_string(), "64-128-256-512-512-512-512-512:1111111");
    }

    #[test]
    fn pix2pix_16_is_truncated_not_capped() {
        assert_eq!(Genome::pix2pix(4).to_string(), "64-128-256-512:111");
    }

    #[test]
    fn sizes_outside_the_range_are_rejected() {
        assert_eq!(ImageSize::new(8), Err(SpaceError::SizeOutOfRange(8)));
        assert_eq!(ImageSize::new(2048), Err(SpaceError::SizeOutOfRange(2048)));
        assert_eq!(ImageSize::new(100), Err(SpaceError::SizeNotPowerOfTwo(100)));
        assert_eq!(ImageSize::new(0), Err(SpaceError::SizeNotPowerOfTwo(0)));
        assert_eq!(ImageSize::new(64).map(ImageSize::depth), Ok(6));
    }

    #[test]
    fn genome_errors_name_the_bad_part() {
        let cases = [
            ("", SpaceError::EmptyGenome),
            (
                "64-128-256-512",
                SpaceError::MissingColon("64-128-256-512".into()),
            ),
            (
                "64-x-256-512:111",
                SpaceError::WidthNotNumeric {
                    position: 1,
                    token: "x".into(),
                },
            ),
            ("64-0-256-512:111", SpaceError::ZeroWidth { position: 1 }),
            (
                "64-128-256-512:121",
                SpaceError::BadSkipBit {
                    position: 1,
                    found: '2',
                },
            ),
            (
                "64-128-256-512:11",
                SpaceError::SkipCountMismatch {
                    widths: 4,
                    bits: 2,
                    expected: 3,
                },
            ),
            ("64-128-256:11", SpaceError::DepthOutOfRange(3)),
            (
                "64-128-256-512:11:1",
                SpaceError::ExtraColon("64-128-256-512:11:1".into()),
            ),
            (
                "64--256-512:111",
                SpaceError::WidthNotNumeric {
                    position: 1,
                    token: String::new(),
                },
            ),
        ];

        for (text, expected) in cases {
            assert_eq!(text.parse::<Genome>(), Err(expected), "parsing {text:?}");
        }
    }

    #[test]
    fn channel_set_rejects_bad_entries() {
        assert_eq!("".parse::<ChannelSet>(), Err(SpaceError::EmptyChannelSet));
        assert_eq!("8,0".parse::<ChannelSet>(), Err(SpaceError::ChannelSetZero));
        assert_eq!(
            "8,16,8".parse::<ChannelSet>(),
            Err(SpaceError::ChannelSetDuplicate(8))
        );
        assert_eq!(
            "8,a".parse::<ChannelSet>(),
            Err(SpaceError::ChannelSetNotNumeric("a".into()))
        );
        assert_eq!(
            "32, 8 ,16".parse::<ChannelSet>().map(|set| set.to_string()),
            Ok("8,16,32".to_string())
        );
    }

    #[test]
    fn channel_set_check_names_the_gene() {
        let set: ChannelSet = "8,16,24,32".parse().unwrap();
        let genome: Genome = "8-16-20-32:101".parse().unwrap();

        assert_eq!(
            genome.check_channel_set(&set),
            Err(SpaceError::WidthNotInSet {
                position: 2,
                width: 20,
                set: "8,16,24,32".into()
            })
        );
    }

    #[test]
    fn space_size_is_exact_beyond_64_bits() {
        let widths: Vec<u32> = (1..=200).collect();
        let set = ChannelSet::new(widths).unwrap();
        let size = ImageSize::new(1024).unwrap();

        // 200^10 * 2^9 = 1.024e23 * 512, about 5.2e25: far past u64::MAX.
        let expected = BigUint::from(200u32).pow(10) * BigUint::from(512u32);
        assert_eq!(space_size(size, &set), expected);
        assert_eq!(
            space_size(size, &set).to_string(),
            "52428800000000000000000000"
        );
    }

    #[test]
    fn default_space_at_256() {
        let size = ImageSize::new(256).unwrap();

        // 6^8 * 2^7 = 1,679,616 * 128.
        assert_eq!(
            space_size(size, &ChannelSet::default()).to_string(),
            "214990848"
        );
    }
}
