//! Image quality metrics on pixels scaled to [0, 1].
//!
//! - **L1**: mean absolute difference over every pixel and channel, in
//!   [0, 1] (0 = identical).
//! - **PSNR**: `10 log10(1 / MSE)` in dB with a peak of 1; higher is better,
//!   infinite for identical images (reported as `None`).
//! - **SSIM**: Wang, Bovik, Sheikh and Simoncelli (2004), "Image quality
//!   assessment: from error visibility to structural similarity": an 11x11
//!   Gaussian window with sigma 1.5, `C1 = (0.01 L)^2`, `C2 = (0.03 L)^2`
//!   with `L = 1`, computed per channel over the valid window positions and
//!   averaged; in [-1, 1], 1 = identical. Images smaller than the window
//!   use a window as large as the image.

use serde::{Deserialize, Serialize};

/// Side of the SSIM window.
const WINDOW: usize = 11;
/// Standard deviation of the SSIM window's Gaussian.
const SIGMA: f64 = 1.5;

/// The metrics of one generated image against its target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImageScores {
    /// Mean absolute error.
    pub l1: f64,
    /// Peak signal-to-noise ratio in dB; `None` when the images are equal.
    pub psnr: Option<f64>,
    /// Structural similarity.
    pub ssim: f64,
}

/// Scores `generated` against `target`, both CHW in [0, 1] with the given
/// `[channels, height, width]`.
pub fn score(generated: &[f32], target: &[f32], shape: [usize; 3]) -> ImageScores {
    assert_eq!(generated.len(), target.len(), "images of one shape");
    let count = generated.len() as f64;
    let (mut absolute, mut squared) = (0.0f64, 0.0f64);
    for (&a, &b) in generated.iter().zip(target) {
        let difference = f64::from(a) - f64::from(b);
        absolute += difference.abs();
        squared += difference * difference;
    }
    let mse = squared / count;
    let plane = shape[1] * shape[2];
    let ssim = (0..shape[0])
        .map(|c| {
            ssim_plane(
                &generated[c * plane..(c + 1) * plane],
                &target[c * plane..(c + 1) * plane],
                shape[1],
                shape[2],
            )
        })
        .sum::<f64>()
        / shape[0] as f64;
    ImageScores {
        l1: absolute / count,
        psnr: (mse > 0.0).then(|| 10.0 * (1.0 / mse).log10()),
        ssim,
    }
}

/// Mean SSIM of one channel over every valid window position.
fn ssim_plane(a: &[f32], b: &[f32], height: usize, width: usize) -> f64 {
    let side = WINDOW.min(height).min(width);
    let kernel = gaussian(side);
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    let mut total = 0.0;
    let mut windows = 0usize;
    for y in 0..=height - side {
        for x in 0..=width - side {
            let (mut mean_a, mut mean_b) = (0.0, 0.0);
            let (mut aa, mut bb, mut ab) = (0.0, 0.0, 0.0);
            for dy in 0..side {
                for dx in 0..side {
                    let weight = kernel[dy * side + dx];
                    let index = (y + dy) * width + x + dx;
                    let (va, vb) = (f64::from(a[index]), f64::from(b[index]));
                    mean_a += weight * va;
                    mean_b += weight * vb;
                    aa += weight * va * va;
                    bb += weight * vb * vb;
                    ab += weight * va * vb;
                }
            }
            let (var_a, var_b, cov) = (
                aa - mean_a * mean_a,
                bb - mean_b * mean_b,
                ab - mean_a * mean_b,
            );
            total += ((2.0 * mean_a * mean_b + c1) * (2.0 * cov + c2))
                / ((mean_a * mean_a + mean_b * mean_b + c1) * (var_a + var_b + c2));
            windows += 1;
        }
    }
    total / windows as f64
}

/// A normalised `side x side` Gaussian window.
fn gaussian(side: usize) -> Vec<f64> {
    let centre = (side as f64 - 1.0) / 2.0;
    let one_d: Vec<f64> = (0..side)
        .map(|i| (-((i as f64 - centre).powi(2)) / (2.0 * SIGMA * SIGMA)).exp())
        .collect();
    let mut kernel: Vec<f64> = one_d
        .iter()
        .flat_map(|&u| one_d.iter().map(move |&v| u * v))
        .collect();
    let sum: f64 = kernel.iter().sum();
    kernel.iter_mut().for_each(|w| *w /= sum);
    kernel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(side: usize) -> Vec<f32> {
        (0..side * side)
            .map(|i| (i % side) as f32 / side as f32)
            .collect()
    }

    #[test]
    fn identical_images_score_perfectly() {
        let image = ramp(16);

        let scores = score(&image, &image, [1, 16, 16]);

        assert_eq!(scores.l1, 0.0);
        assert_eq!(scores.psnr, None);
        assert!((scores.ssim - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_constant_offset_has_known_l1_and_psnr() {
        let image = ramp(16);
        let shifted: Vec<f32> = image.iter().map(|v| v + 0.1).collect();

        let scores = score(&shifted, &image, [1, 16, 16]);

        // MSE = 0.01, so PSNR = 10 log10(100) = 20 dB.
        assert!((scores.l1 - 0.1).abs() < 1e-6);
        assert!((scores.psnr.unwrap() - 20.0).abs() < 1e-4);
        assert!(
            scores.ssim < 1.0 && scores.ssim > 0.9,
            "a small shift keeps structure"
        );
    }

    #[test]
    fn structure_loss_lowers_ssim_more_than_a_shift() {
        let image = ramp(16);
        let flat = vec![0.5f32; 256];
        let shifted: Vec<f32> = image.iter().map(|v| v + 0.05).collect();

        let structure_lost = score(&flat, &image, [1, 16, 16]).ssim;
        let shifted = score(&shifted, &image, [1, 16, 16]).ssim;

        assert!(
            structure_lost < 0.5 * shifted,
            "{structure_lost} vs {shifted}"
        );
    }
}
