//! What a generator costs: parameters, operations, bytes.
//!
//! Two operation counts are kept side by side because users compare with two
//! kinds of published table:
//!
//! - **Paper FLOPs** follow the counter used by the paper we implement (and
//!   by many pix2pix compression papers). A convolution counts one FLOP per
//!   multiply-accumulate, `C_in * C_out * 16 * H_out * W_out`; a *transposed*
//!   convolution is counted the same way at its **output** resolution, which
//!   is four times its real work for stride 2; BatchNorm counts 2 operations
//!   per output element and a bias 1. For pix2pix's `unet_256` this gives
//!   18,146,500,608, printed in the paper as 18147M.
//! - **MACs** are true multiply-accumulates: convolutions as above, but a
//!   transposed convolution at its **input** resolution (each input pixel
//!   scatters one 4x4 kernel). Normalisation, biases, activations and
//!   concatenations count nothing. For `unet_256` this gives 6,048,186,368.
//!
//! Neither counts activations or concatenation. Parameters are learnable
//! tensors only: kernels, biases, BatchNorm scale and shift (BatchNorm running
//! statistics are buffers, not parameters). Model size is parameters at
//! float32, 4 bytes each; MB means 10^6 bytes.

use serde::Serialize;

use crate::genome::{Genome, ImageSize};
use crate::plan::{ImageChannels, Layer, LayerPlan, Output, Side};

/// Bytes per float32 value, for model size and activation memory.
pub const F32_BYTES: u64 = 4;

/// The cost of one layer, in both conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LayerCost {
    /// Learnable parameters (kernel, bias, BatchNorm scale and shift).
    pub parameters: u64,
    /// Operations as the paper counts them (see the module docs).
    pub paper_flops: u64,
    /// True multiply-accumulates.
    pub macs: u64,
}

impl LayerCost {
    /// Counts one layer of a plan.
    pub fn of(layer: &Layer) -> Self {
        let out_pixels = u64::from(layer.out_resolution).pow(2);
        let in_pixels = u64::from(layer.in_resolution).pow(2);
        let out_elements = u64::from(layer.out_channels) * out_pixels;
        let kernel = layer.kernel_weights();

        // A transposed convolution really does its work per input pixel; the
        // paper's counter charges it per output pixel like a convolution.
        let paper_conv = kernel * out_pixels;
        let macs = match layer.side {
            Side::Encoder => kernel * out_pixels,
            Side::Decoder => kernel * in_pixels,
        };

        let (norm_parameters, norm_flops) = match layer.output {
            Output::BatchNorm => (2 * u64::from(layer.out_channels), 2 * out_elements),
            Output::Plain | Output::Tanh => (0, 0),
        };
        let (bias_parameters, bias_flops) = if layer.bias {
            (u64::from(layer.out_channels), out_elements)
        } else {
            (0, 0)
        };

        Self {
            parameters: kernel + norm_parameters + bias_parameters,
            paper_flops: paper_conv + norm_flops + bias_flops,
            macs,
        }
    }
}

/// The cost of a whole generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Learnable parameters.
    pub parameters: u64,
    /// Operations in the paper's convention, per image.
    pub paper_flops: u64,
    /// True multiply-accumulates, per image.
    pub macs: u64,
    /// Model size at float32: `parameters * 4`.
    pub model_bytes: u64,
    /// Most float32 activation bytes alive at once in an inference forward
    /// pass at batch 1 (see [`peak_activation_bytes`]).
    pub peak_activation_bytes: u64,
}

impl Cost {
    /// Counts every layer of `plan`.
    pub fn of(plan: &LayerPlan) -> Self {
        let total = plan
            .layers()
            .map(LayerCost::of)
            .fold(LayerCost::default(), |sum, layer| LayerCost {
                parameters: sum.parameters + layer.parameters,
                paper_flops: sum.paper_flops + layer.paper_flops,
                macs: sum.macs + layer.macs,
            });
        Self {
            parameters: total.parameters,
            paper_flops: total.paper_flops,
            macs: total.macs,
            model_bytes: total.parameters * F32_BYTES,
            peak_activation_bytes: peak_activation_bytes(plan),
        }
    }

    /// Decodes `genome` and counts it.
    pub fn of_genome(genome: &Genome, size: ImageSize, channels: ImageChannels) -> Self {
        Self::of(&LayerPlan::decode(genome, size, channels))
    }

    /// Model size in megabytes (10^6 bytes).
    pub fn model_megabytes(&self) -> f64 {
        self.model_bytes as f64 / 1e6
    }

    /// This cost as fractions of `reference`'s (1.0 = the same).
    pub fn relative_to(&self, reference: &Cost) -> RelativeCost {
        RelativeCost {
            parameters: ratio(self.parameters, reference.parameters),
            paper_flops: ratio(self.paper_flops, reference.paper_flops),
            macs: ratio(self.macs, reference.macs),
        }
    }
}

/// A cost as fractions of a reference generator's (usually pix2pix's U-Net
/// at the same size and channels).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RelativeCost {
    /// Parameters over the reference's.
    pub parameters: f64,
    /// Paper FLOPs over the reference's.
    pub paper_flops: f64,
    /// MACs over the reference's.
    pub macs: f64,
}

fn ratio(value: u64, reference: u64) -> f64 {
    value as f64 / reference as f64
}

/// Peak float32 activation memory of an inference forward pass at batch 1.
///
/// The pass is walked in execution order with each tensor freed right after
/// its last use. While a layer runs, its input, its output and every skip
/// tensor still waiting for its decoder layer are alive. A kept skip is
/// joined by a concatenation that materialises a new tensor, so for that
/// step the skip, the upward tensor and the concatenated result are alive.
/// Activations, BatchNorm and dropout are treated as in place. The input
/// image and the output image count as activations.
pub fn peak_activation_bytes(plan: &LayerPlan) -> u64 {
    let mut walk = LivenessWalk::default();
    let input = feature_elements(plan.image_channels().input, plan.size().side());
    let mut current = input;

    // Encoder: e[i] replaces its input; a kept e[i] is also held for later,
    // and then counts once, as held, while the next layer reads it.
    let kept: Vec<bool> = plan
        .decoder()
        .iter()
        .rev()
        .map(|layer| layer.skip_channels > 0)
        .collect();
    let mut held: Vec<u64> = Vec::new();
    let mut current_is_held = false;
    for layer in plan.encoder() {
        let output = feature_elements(layer.out_channels, layer.out_resolution);
        let input = if current_is_held { 0 } else { current };
        walk.observe(&held, &[input, output]);
        current_is_held = kept[layer.index];
        if current_is_held {
            held.push(output);
        }
        current = output;
    }

    // Decoder: innermost first, so held skips come back in reverse order.
    for layer in plan.decoder() {
        if layer.skip_channels > 0 {
            let skip = held
                .pop()
                .expect("a kept skip was held by its encoder layer");
            let joined = feature_elements(layer.in_channels, layer.in_resolution);
            walk.observe(&held, &[skip, current, joined]);
            current = joined;
        }
        let output = feature_elements(layer.out_channels, layer.out_resolution);
        walk.observe(&held, &[current, output]);
        current = output;
    }
    walk.peak_elements * F32_BYTES
}

fn feature_elements(channels: u32, resolution: u32) -> u64 {
    u64::from(channels) * u64::from(resolution).pow(2)
}

/// Tracks the largest number of elements alive at any observed step.
#[derive(Default)]
struct LivenessWalk {
    peak_elements: u64,
}

impl LivenessWalk {
    fn observe(&mut self, held: &[u64], in_use: &[u64]) {
        let alive: u64 = held.iter().chain(in_use).sum();
        self.peak_elements = self.peak_elements.max(alive);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(genome: &str, side: u64) -> Cost {
        let genome: Genome = genome.parse().unwrap();
        let size = ImageSize::new(side).unwrap();
        Cost::of_genome(&genome, size, ImageChannels::default())
    }

    /// Golden values from the task statement and the fixture README in
    /// `tests/fixtures/unet-reference` (pix2pix `unet_256`, counted by the
    /// PyTorch script that produced the fixtures).
    #[test]
    fn unet_256_matches_published_counts() {
        let cost = cost("64-128-256-512-512-512-512-512:1111111", 256);

        assert_eq!(cost.parameters, 54_413_955);
        assert_eq!(cost.paper_flops, 18_146_500_608);
        assert_eq!(cost.macs, 6_048_186_368);
        assert_eq!(cost.model_bytes, 217_655_820);
    }

    #[test]
    fn peak_activation_of_a_tiny_net_by_hand() {
        // 16x16, widths 4-4-4-4, only skip 0 kept. Sizes in elements:
        // x 768, e0 4*64=256 (held until d0), e1 64, e2 16, e3 4; d3 16,
        // d2 64, d1 256, cat0 8*64=512, d0 3*256=768. Steps: e0 768+256,
        // e1 256+64, ..., d1 256+64+256, cat0 256+256+512, d0 512+768.
        // The largest is d0 at 1280; e1 would be 576 if e0 counted twice.
        let cost = cost("4-4-4-4:100", 16);

        assert_eq!(cost.peak_activation_bytes, 1280 * 4);
    }

    #[test]
    fn removing_every_skip_lowers_peak_memory() {
        let with = cost("64-128-256-512-512-512:11111", 64);
        let without = cost("64-128-256-512-512-512:00000", 64);

        assert!(without.peak_activation_bytes < with.peak_activation_bytes);
    }
}
