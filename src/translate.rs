//! Using a trained generator on images of any size and aspect ratio.
//!
//! The U-Net is fully convolutional, so it runs on any image whose sides are
//! multiples of `2^n`. Images are padded by reflection up to the next
//! multiple and cropped back afterwards; images larger than the tile size are
//! cut into overlapping tiles whose outputs are blended with linear ramps, so
//! memory stays bounded and no seams show.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use image::{DynamicImage, GenericImageView};

use crate::data::chw_to_image;
use crate::model::{Generator, Mode};
use crate::seed::stream;
use crate::train::run::{TrainError, load_config};
use crate::train::{RunState, TrainConfig, load_generator};

/// How BatchNorm and dropout behave at inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InferenceMode {
    /// Running statistics, no dropout (the default).
    Eval,
    /// Batch statistics and dropout, as pix2pix's `test.py` does unless
    /// given `--eval`.
    Train,
}

/// A trained generator ready to translate images.
pub struct Translator {
    generator: Generator,
    config: TrainConfig,
    mode: InferenceMode,
    tile: u32,
    device: Device,
    /// Epochs the loaded generator was trained for.
    pub epochs: usize,
    /// Whether its run finished every epoch.
    pub finished: bool,
}

impl Translator {
    /// Loads the latest checkpoint of the training run in `run_dir`.
    /// `tile` is the largest side translated in one piece (a multiple of
    /// `2^n` is used at or below it).
    pub fn open(run_dir: &Path, mode: InferenceMode, tile: u32) -> Result<Self, TrainError> {
        let config = load_config(run_dir)?;
        let not_a_run = |reason: String| TrainError::NotARun {
            path: run_dir.to_path_buf(),
            reason,
        };
        let state = RunState::load(run_dir).map_err(not_a_run)?;
        let checkpoint = state
            .checkpoint
            .clone()
            .ok_or_else(|| not_a_run("no epoch has finished yet".to_string()))?;

        let device = crate::train::compute_device();
        let path = run_dir.join(checkpoint).join("generator.bpk");
        let generator = load_generator(&path, &config, &device)
            .map_err(TrainError::Io)?
            .valid();
        let multiple = 1u32 << config.genome.depth();
        Ok(Self {
            generator,
            mode,
            tile: (tile / multiple).max(1) * multiple,
            device,
            epochs: state.epochs_done,
            finished: state.finished,
            config,
        })
    }

    /// The run's settings.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Translates one image of any size; the result has the same size.
    pub fn translate(&self, image: &DynamicImage) -> DynamicImage {
        let channels = self.config.in_channels;
        let image = if channels == 1 {
            DynamicImage::ImageLuma8(image.to_luma8())
        } else {
            DynamicImage::ImageRgb8(image.to_rgb8())
        };
        let (width, height) = image.dimensions();
        let pixels = to_planes(&image);
        let out =
            self.translate_planes(&pixels, channels as usize, width as usize, height as usize);
        chw_to_image(
            &out,
            [
                self.config.out_channels as usize,
                height as usize,
                width as usize,
            ],
        )
    }

    fn translate_planes(
        &self,
        input: &[f32],
        channels: usize,
        width: usize,
        height: usize,
    ) -> Vec<f32> {
        let tile = self.tile as usize;
        if width <= tile && height <= tile {
            return self.run_padded(input, channels, width, height, (0, 0, width, height));
        }

        // Overlapping tiles, blended with weights that ramp down at tile
        // edges shared with a neighbour.
        let overlap = tile / 4;
        let stride = tile - overlap;
        let out_channels = self.config.out_channels as usize;
        let mut sum = vec![0.0f32; out_channels * width * height];
        let mut weight = vec![0.0f32; width * height];
        for y in tile_starts(height, tile, stride) {
            for x in tile_starts(width, tile, stride) {
                let (w, h) = (tile.min(width - x), tile.min(height - y));
                let out = self.run_padded(input, channels, width, height, (x, y, w, h));
                blend(
                    &mut sum,
                    &mut weight,
                    &out,
                    (x, y, w, h),
                    (width, height),
                    overlap,
                    out_channels,
                );
            }
        }
        for channel in sum.chunks_mut(width * height) {
            for (value, w) in channel.iter_mut().zip(&weight) {
                *value /= w.max(f32::EPSILON);
            }
        }
        sum
    }

    /// Runs the window `(x, y, w, h)` of the image, reflect-padded to a
    /// multiple of `2^n`, and returns the window's output `[out, h, w]`.
    fn run_padded(
        &self,
        input: &[f32],
        channels: usize,
        width: usize,
        height: usize,
        window: (usize, usize, usize, usize),
    ) -> Vec<f32> {
        let (x0, y0, w, h) = window;
        let multiple = 1usize << self.config.genome.depth();
        let (pw, ph) = (
            w.div_ceil(multiple) * multiple,
            h.div_ceil(multiple) * multiple,
        );
        let mut padded = Vec::with_capacity(channels * pw * ph);
        for channel in 0..channels {
            let plane = &input[channel * width * height..(channel + 1) * width * height];
            for y in 0..ph {
                let sy = y0 + reflect(y, h);
                for x in 0..pw {
                    padded.push(plane[sy * width + x0 + reflect(x, w)]);
                }
            }
        }

        let tensor =
            Tensor::<4>::from_data(TensorData::new(padded, [1, channels, ph, pw]), &self.device);
        let output = match self.mode {
            InferenceMode::Eval => self.generator.forward(tensor, &mut Mode::Eval),
            InferenceMode::Train => {
                let mut rng = stream(self.config.seed, &[99]);
                self.generator.forward(
                    tensor,
                    &mut Mode::Train {
                        dropout_rng: &mut rng,
                    },
                )
            }
        };
        let values = output
            .into_data()
            .try_into_vec::<f32>()
            .expect("float32 output");
        crop(&values, self.config.out_channels as usize, pw, ph, w, h)
    }
}

/// Index `i` of a padded axis mapped back into `0..n` by reflection (no edge
/// repeat, as PyTorch's `reflect`), falling back to the edge when the pad is
/// wider than the image.
fn reflect(i: usize, n: usize) -> usize {
    if i < n {
        return i;
    }
    let mirrored = (2 * (n - 1)).saturating_sub(i);
    mirrored.min(n - 1)
}

fn tile_starts(length: usize, tile: usize, stride: usize) -> Vec<usize> {
    let mut starts: Vec<usize> = (0..length.saturating_sub(tile)).step_by(stride).collect();
    starts.push(length.saturating_sub(tile));
    starts.dedup();
    starts
}

fn crop(values: &[f32], channels: usize, pw: usize, ph: usize, w: usize, h: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(channels * w * h);
    for channel in 0..channels {
        for y in 0..h {
            let row = channel * pw * ph + y * pw;
            out.extend_from_slice(&values[row..row + w]);
        }
    }
    out
}

/// Adds a tile's output into the running sums with a weight that falls
/// linearly to near 0 across the `overlap` pixels of each inner edge.
fn blend(
    sum: &mut [f32],
    weight: &mut [f32],
    tile: &[f32],
    (x0, y0, w, h): (usize, usize, usize, usize),
    (width, height): (usize, usize),
    overlap: usize,
    channels: usize,
) {
    let ramp = |position: usize, length: usize, at_start: bool, at_end: bool| {
        let from_start = if at_start {
            1.0
        } else {
            (position as f32 + 1.0) / (overlap as f32 + 1.0)
        };
        let from_end = if at_end {
            1.0
        } else {
            (length - position) as f32 / (overlap as f32 + 1.0)
        };
        from_start.min(from_end).min(1.0)
    };
    for y in 0..h {
        let wy = ramp(y, h, y0 == 0, y0 + h == height);
        for x in 0..w {
            let wx = ramp(x, w, x0 == 0, x0 + w == width);
            let pixel = (y0 + y) * width + x0 + x;
            weight[pixel] += wx * wy;
            for channel in 0..channels {
                sum[channel * width * height + pixel] +=
                    tile[channel * w * h + y * w + x] * wx * wy;
            }
        }
    }
}

fn to_planes(image: &DynamicImage) -> Vec<f32> {
    let (width, height) = image.dimensions();
    let channels = usize::from(image.color().channel_count());
    let plane = (width * height) as usize;
    let mut out = vec![0.0f32; channels * plane];
    for (pixel, values) in image.as_bytes().chunks_exact(channels).enumerate() {
        for (channel, &value) in values.iter().enumerate() {
            out[channel * plane + pixel] = f32::from(value) / 127.5 - 1.0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflection_mirrors_without_repeating_the_edge() {
        let mapped: Vec<usize> = (0..8).map(|i| reflect(i, 5)).collect();

        assert_eq!(mapped, vec![0, 1, 2, 3, 4, 3, 2, 1]);
        assert_eq!(
            reflect(9, 2),
            0,
            "pads wider than the image fall back to an edge"
        );
    }

    #[test]
    fn tiles_cover_the_whole_axis() {
        assert_eq!(tile_starts(100, 64, 48), vec![0, 36]);
        assert_eq!(tile_starts(64, 64, 48), vec![0]);
        assert_eq!(tile_starts(200, 64, 48), vec![0, 48, 96, 136]);
    }

    #[test]
    fn blending_constant_tiles_gives_the_constant() {
        let (width, height, tile, overlap) = (10, 4, 6, 2);
        let mut sum = vec![0.0; width * height];
        let mut weight = vec![0.0; width * height];
        for x in tile_starts(width, tile, tile - overlap) {
            blend(
                &mut sum,
                &mut weight,
                &[0.5; 24],
                (x, 0, tile, 4),
                (width, height),
                overlap,
                1,
            );
        }

        for (s, w) in sum.iter().zip(&weight) {
            assert!((s / w - 0.5).abs() < 1e-6);
        }
    }
}
