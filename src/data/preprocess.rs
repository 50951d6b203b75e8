//! pix2pix's preprocessing: resize, crop, flip, scale to [-1, 1].

use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{DataError, PairImage};

/// pix2pix resizes with bicubic interpolation; Catmull-Rom is bicubic.
const FILTER: FilterType = FilterType::CatmullRom;

/// How images are brought to the training size (pix2pix's `--preprocess`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Resize to `load x load`, then take a random `crop x crop` window.
    #[default]
    ResizeAndCrop,
    /// Take a random `crop x crop` window of the original.
    Crop,
    /// Scale the width to `crop`, keeping the aspect ratio; the height is
    /// rounded to a multiple of `2^n`. Non-square images need batch size 1.
    ScaleWidth,
    /// Scale the width to `load`, then take a random `crop x crop` window.
    ScaleWidthAndCrop,
    /// Keep the size, rounded to a multiple of `2^n` (batch size 1 unless
    /// every image has the same size).
    None,
}

/// One prepared example: CHW float32 pixels in [-1, 1] and their shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The generator's input, `[channels, height, width]` flattened.
    pub input: Vec<f32>,
    /// The target, likewise.
    pub target: Vec<f32>,
    /// `[channels, height, width]` of `input`.
    pub input_shape: [usize; 3],
    /// `[channels, height, width]` of `target`.
    pub target_shape: [usize; 3],
}

/// The part of a resized image an example uses, and whether it is mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
    flip: bool,
}

/// Preprocessing of one split, random parts drawn per example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preprocess {
    /// The resize rule.
    pub resize: Resize,
    /// Side images are resized to before cropping (pix2pix's `load_size`).
    pub load_size: u32,
    /// Side of the training window (pix2pix's `crop_size`): the model size.
    pub crop_size: u32,
    /// Random horizontal flip of both images (pix2pix flips unless
    /// `--no_flip`).
    pub flip: bool,
    /// Sides are made a multiple of this (`2^n`, what the U-Net needs).
    pub multiple: u32,
}

impl Preprocess {
    /// pix2pix's training defaults for a `size`-pixel model: resize to
    /// `size * 286 / 256`, random crop, random flip.
    pub fn training(size: u32, multiple: u32) -> Self {
        Self {
            resize: Resize::ResizeAndCrop,
            load_size: default_load_size(size),
            crop_size: size,
            flip: true,
            multiple,
        }
    }

    /// The deterministic version for validation and testing: windows are
    /// taken whole or centred instead of at random, and nothing is flipped;
    /// `resize_and_crop` resizes straight to the crop size, so the window
    /// is the whole image rather than its centre.
    pub fn deterministic(self) -> Self {
        let load_size = match self.resize {
            Resize::ResizeAndCrop => self.crop_size,
            _ => self.load_size,
        };
        Self {
            load_size,
            flip: false,
            ..self
        }
    }

    /// Prepares one pair. `rng` draws the crop window and the flip; pass
    /// `None` for the centred, unflipped version.
    pub fn apply(
        &self,
        pair: &PairImage,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Prepared, DataError> {
        let (width, height) = self.resized_size(pair.input.dimensions());
        let input = resize(&pair.input, width, height);
        let target = resize(&pair.target, width, height);

        let window = self.draw(&pair.name, width, height, rng)?;
        let (input, input_shape) = to_chw(&cut(&input, window));
        let (target, target_shape) = to_chw(&cut(&target, window));
        Ok(Prepared {
            input,
            target,
            input_shape,
            target_shape,
        })
    }

    /// Size after the resize step, before cropping.
    fn resized_size(&self, (width, height): (u32, u32)) -> (u32, u32) {
        let scaled_height = |target_width: u32| {
            let exact = f64::from(height) * f64::from(target_width) / f64::from(width);
            round_to_multiple(exact, self.multiple)
        };
        match self.resize {
            Resize::ResizeAndCrop => (self.load_size, self.load_size),
            Resize::Crop => (width, height),
            Resize::ScaleWidth => (self.crop_size, scaled_height(self.crop_size)),
            Resize::ScaleWidthAndCrop => (self.load_size, scaled_height(self.load_size)),
            Resize::None => (
                round_to_multiple(f64::from(width), self.multiple),
                round_to_multiple(f64::from(height), self.multiple),
            ),
        }
    }

    /// The crop window and whether to flip.
    fn draw(
        &self,
        name: &str,
        width: u32,
        height: u32,
        rng: Option<&mut ChaCha8Rng>,
    ) -> Result<Window, DataError> {
        let crops = matches!(
            self.resize,
            Resize::ResizeAndCrop | Resize::Crop | Resize::ScaleWidthAndCrop
        );
        if !crops {
            let flip = rng.is_some_and(|rng| self.flip && rng.random_bool(0.5));
            return Ok(Window {
                x: 0,
                y: 0,
                width,
                height,
                flip,
            });
        }

        let crop = self.crop_size;
        if width < crop || height < crop {
            return Err(DataError::TooSmallToCrop {
                name: name.to_string(),
                width,
                height,
                crop,
            });
        }
        let (x, y, flip) = match rng {
            Some(rng) => (
                rng.random_range(0..=width - crop),
                rng.random_range(0..=height - crop),
                self.flip && rng.random_bool(0.5),
            ),
            None => ((width - crop) / 2, (height - crop) / 2, false),
        };
        Ok(Window {
            x,
            y,
            width: crop,
            height: crop,
            flip,
        })
    }
}

/// pix2pix trains 256-pixel models on images loaded at 286 pixels.
pub fn default_load_size(size: u32) -> u32 {
    (f64::from(size) * 286.0 / 256.0).round() as u32
}

fn round_to_multiple(value: f64, multiple: u32) -> u32 {
    let multiple = f64::from(multiple);
    ((value / multiple).round().max(1.0) * multiple) as u32
}

fn resize(image: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    image.resize_exact(width, height, FILTER)
}

fn cut(image: &DynamicImage, window: Window) -> DynamicImage {
    let whole =
        (window.x, window.y, window.width, window.height) == (0, 0, image.width(), image.height());
    let part = if whole {
        image.clone()
    } else {
        image.crop_imm(window.x, window.y, window.width, window.height)
    };
    if window.flip { part.fliph() } else { part }
}

/// Channel-major float32 pixels in [-1, 1]: `v / 127.5 - 1`.
fn to_chw(image: &DynamicImage) -> (Vec<f32>, [usize; 3]) {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let channels = usize::from(image.color().channel_count());
    let bytes = image.as_bytes();
    let plane = width * height;
    let mut out = vec![0.0f32; channels * plane];
    for (pixel, values) in bytes.chunks_exact(channels).enumerate() {
        for (channel, &value) in values.iter().enumerate() {
            out[channel * plane + pixel] = f32::from(value) / 127.5 - 1.0;
        }
    }
    (out, [channels, height, width])
}

/// The inverse of the model's pixel scaling: CHW float32 in [-1, 1] (1 or 3
/// channels) to an 8-bit image, `(v + 1) * 127.5`, clamped.
pub fn chw_to_image(values: &[f32], [channels, height, width]: [usize; 3]) -> DynamicImage {
    let plane = width * height;
    let byte = |v: f32| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8;
    let (width, height) = (width as u32, height as u32);
    if channels == 1 {
        let pixels = values[..plane].iter().map(|&v| byte(v)).collect();
        let image = image::GrayImage::from_raw(width, height, pixels).expect("one byte per pixel");
        return DynamicImage::ImageLuma8(image);
    }
    let mut pixels = Vec::with_capacity(plane * 3);
    for pixel in 0..plane {
        pixels.extend((0..3).map(|channel| byte(values[channel * plane + pixel])));
    }
    let image = image::RgbImage::from_raw(width, height, pixels).expect("three bytes per pixel");
    DynamicImage::ImageRgb8(image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};
    use rand::SeedableRng;

    fn pair(width: u32, height: u32) -> PairImage {
        let gradient =
            RgbImage::from_fn(width, height, |x, _| Rgb([(x * 255 / width) as u8, 0, 255]));
        PairImage {
            name: "p".into(),
            input: DynamicImage::ImageRgb8(gradient.clone()),
            target: DynamicImage::ImageRgb8(gradient),
        }
    }

    #[test]
    fn training_crop_has_the_model_size_and_range() {
        let preprocess = Preprocess::training(32, 32);
        let mut rng = ChaCha8Rng::seed_from_u64(3);

        let prepared = preprocess.apply(&pair(50, 40), Some(&mut rng)).unwrap();

        assert_eq!(prepared.input_shape, [3, 32, 32]);
        assert_eq!(prepared.input.len(), 3 * 32 * 32);
        assert!(prepared.input.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(
            prepared.input, prepared.target,
            "A and B get the same window and flip"
        );
        assert_eq!(prepared.input[2 * 1024], 1.0, "blue 255 maps to 1");
    }

    #[test]
    fn pixels_survive_the_round_trip() {
        let image = pair(8, 8).input;

        let (values, shape) = to_chw(&image);

        assert_eq!(chw_to_image(&values, shape).to_rgb8(), image.to_rgb8());
    }

    #[test]
    fn deterministic_version_repeats() {
        let preprocess = Preprocess::training(32, 32).deterministic();

        let first = preprocess.apply(&pair(64, 64), None).unwrap();
        let second = preprocess.apply(&pair(64, 64), None).unwrap();

        assert_eq!(first, second);
        assert_eq!(first.input_shape, [3, 32, 32]);
    }

    #[test]
    fn scale_width_keeps_aspect_on_a_multiple() {
        let preprocess = Preprocess {
            resize: Resize::ScaleWidth,
            ..Preprocess::training(32, 16)
        };

        let prepared = preprocess.apply(&pair(64, 100), None).unwrap();

        assert_eq!(prepared.input_shape, [3, 48, 32]);
    }

    #[test]
    fn crop_larger_than_the_image_is_an_error() {
        let preprocess = Preprocess {
            resize: Resize::Crop,
            ..Preprocess::training(64, 64)
        };

        let error = preprocess.apply(&pair(32, 32), None).unwrap_err();

        assert!(error.to_string().contains("smaller than the 64x64 crop"));
    }
}
