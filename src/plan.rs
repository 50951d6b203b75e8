//! Decoding a genome into the layers of a U-Net generator.
//!
//! The plan is the single source of truth about a candidate's structure: the
//! cost counter reads it, the model builder instantiates it, and `inspect`
//! prints it. It follows pix2pix's `unet_256` exactly when given the pix2pix
//! genome (checked against PyTorch in `tests/fixtures`):
//!
//! - encoder layer `i = 0..n`: LeakyReLU(0.2) except for `i = 0`, then a 4x4
//!   stride-2 convolution without bias, then BatchNorm except for the
//!   outermost and innermost layers;
//! - decoder layer `j = n-1..=0`: ReLU, a 4x4 stride-2 transposed convolution
//!   (bias only for `j = 0`), then BatchNorm for `j > 0` or Tanh for `j = 0`,
//!   and Dropout(0.5) after the BatchNorm for `j` in `4..=n-2` (pix2pix's
//!   `use_dropout` blocks). Its input is the previous decoder output, with
//!   encoder output `e[j]` concatenated in front of it when skip `j` is kept.
//!
//! What the plan leaves out: weights, tensors and anything about training.

use serde::Serialize;

use crate::genome::{Genome, ImageSize};

/// Image channels at the generator's two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct ImageChannels {
    /// Channels of the input image (3 for RGB, 1 for grayscale).
    pub input: u32,
    /// Channels of the output image.
    pub output: u32,
}

impl Default for ImageChannels {
    fn default() -> Self {
        Self {
            input: 3,
            output: 3,
        }
    }
}

/// Which half of the U-Net a layer sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// A stride-2 convolution that halves the resolution.
    Encoder,
    /// A stride-2 transposed convolution that doubles the resolution.
    Decoder,
}

/// The non-linearity applied to a layer's input before its convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// No activation (the outermost encoder layer reads the image as is).
    None,
    /// LeakyReLU with negative slope 0.2.
    LeakyRelu,
    /// ReLU.
    Relu,
}

/// What follows the convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// The raw convolution output.
    Plain,
    /// BatchNorm (eps 1e-5, momentum 0.1).
    BatchNorm,
    /// Tanh, mapping to the [-1, 1] pixel range (outermost decoder only).
    Tanh,
}

/// One convolution layer of the generator with everything around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// Encoder or decoder.
    pub side: Side,
    /// Index within its side, 0 outermost (pair `i` mirrors encoder `i`).
    pub index: usize,
    /// Channels entering the convolution, skip channels included.
    pub in_channels: u32,
    /// Of `in_channels`, those that arrive through a skip connection.
    pub skip_channels: u32,
    /// Channels the convolution produces.
    pub out_channels: u32,
    /// Side of the input feature map in pixels.
    pub in_resolution: u32,
    /// Side of the output feature map in pixels.
    pub out_resolution: u32,
    /// Non-linearity applied to the input first.
    pub activation: Activation,
    /// Whether the convolution has a bias.
    pub bias: bool,
    /// What follows the convolution.
    pub output: Output,
    /// Whether Dropout(0.5) follows the BatchNorm (decoder only).
    pub dropout: bool,
}

impl Layer {
    /// Learnable weights of the convolution kernel, `in * out * 4 * 4`.
    pub fn kernel_weights(&self) -> u64 {
        u64::from(self.in_channels) * u64::from(self.out_channels) * KERNEL_AREA
    }

    /// Kernel weights that read skip channels: removing this layer's skip
    /// removes exactly these, `skip * out * 4 * 4`.
    pub fn skip_kernel_weights(&self) -> u64 {
        u64::from(self.skip_channels) * u64::from(self.out_channels) * KERNEL_AREA
    }
}

/// Every convolution here is 4x4.
pub const KERNEL_AREA: u64 = 16;

/// The decoded structure of one generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerPlan {
    size: ImageSize,
    channels: ImageChannels,
    encoder: Vec<Layer>,
    decoder: Vec<Layer>,
}

impl LayerPlan {
    /// Decodes `genome` for images of `size`.
    ///
    /// The genome must fit the size; check with [`Genome::check_size`] first
    /// when it comes from the user.
    pub fn decode(genome: &Genome, size: ImageSize, channels: ImageChannels) -> Self {
        debug_assert_eq!(genome.depth(), size.depth());
        let encoder = (0..genome.depth())
            .map(|i| encoder_layer(genome, size, channels, i))
            .collect();
        let decoder = (0..genome.depth())
            .rev()
            .map(|j| decoder_layer(genome, size, channels, j))
            .collect();
        Self {
            size,
            channels,
            encoder,
            decoder,
        }
    }

    /// The image size the plan was decoded for.
    pub fn size(&self) -> ImageSize {
        self.size
    }

    /// Image channels at both ends.
    pub fn image_channels(&self) -> ImageChannels {
        self.channels
    }

    /// Encoder layers, outermost (`i = 0`) first.
    pub fn encoder(&self) -> &[Layer] {
        &self.encoder
    }

    /// Decoder layers in execution order: innermost (`j = n-1`) first.
    pub fn decoder(&self) -> &[Layer] {
        &self.decoder
    }

    /// Every layer in forward-pass order.
    pub fn layers(&self) -> impl Iterator<Item = &Layer> {
        self.encoder.iter().chain(&self.decoder)
    }
}

fn encoder_layer(genome: &Genome, size: ImageSize, channels: ImageChannels, i: usize) -> Layer {
    let widths = genome.channels();
    let innermost = i + 1 == genome.depth();
    Layer {
        side: Side::Encoder,
        index: i,
        in_channels: if i == 0 {
            channels.input
        } else {
            widths[i - 1]
        },
        skip_channels: 0,
        out_channels: widths[i],
        in_resolution: size.side() >> i,
        out_resolution: size.side() >> (i + 1),
        activation: if i == 0 {
            Activation::None
        } else {
            Activation::LeakyRelu
        },
        bias: false,
        output: if i == 0 || innermost {
            Output::Plain
        } else {
            Output::BatchNorm
        },
        dropout: false,
    }
}

fn decoder_layer(genome: &Genome, size: ImageSize, channels: ImageChannels, j: usize) -> Layer {
    let widths = genome.channels();
    let depth = genome.depth();
    let innermost = j + 1 == depth;

    // The innermost decoder reads the bottleneck e[n-1] and every other one
    // reads d[j+1]; both have widths[j] channels. A kept skip adds e[j],
    // which has widths[j] channels too.
    let skip_channels = if !innermost && genome.skips()[j] {
        widths[j]
    } else {
        0
    };
    let outermost = j == 0;

    Layer {
        side: Side::Decoder,
        index: j,
        in_channels: widths[j] + skip_channels,
        skip_channels,
        out_channels: if outermost {
            channels.output
        } else {
            widths[j - 1]
        },
        in_resolution: size.side() >> (j + 1),
        out_resolution: size.side() >> j,
        activation: Activation::Relu,
        bias: outermost,
        output: if outermost {
            Output::Tanh
        } else {
            Output::BatchNorm
        },
        dropout: (4..=depth.saturating_sub(2)).contains(&j),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(genome: &str) -> LayerPlan {
        let genome: Genome = genome.parse().unwrap();
        let size = genome.size();
        LayerPlan::decode(&genome, size, ImageChannels::default())
    }

    #[test]
    fn unet_256_dropout_sits_in_the_three_inner_512_blocks() {
        let plan = plan("64-128-256-512-512-512-512-512:1111111");

        let with_dropout: Vec<usize> = plan
            .decoder()
            .iter()
            .filter(|layer| layer.dropout)
            .map(|layer| layer.index)
            .collect();
        assert_eq!(with_dropout, vec![6, 5, 4]);
    }

    #[test]
    fn skip_widens_only_its_own_decoder_layer() {
        let plan = plan("32-16-16-8-24:1010");

        let inputs: Vec<(usize, u32, u32)> = plan
            .decoder()
            .iter()
            .map(|layer| (layer.index, layer.in_channels, layer.skip_channels))
            .collect();
        assert_eq!(
            inputs,
            vec![(4, 24, 0), (3, 8, 0), (2, 32, 16), (1, 16, 0), (0, 64, 32)]
        );
    }

    #[test]
    fn ends_follow_the_image_channels() {
        let genome = Genome::pix2pix(4);
        let channels = ImageChannels {
            input: 1,
            output: 2,
        };
        let plan = LayerPlan::decode(&genome, genome.size(), channels);

        assert_eq!(plan.encoder()[0].in_channels, 1);
        assert_eq!(plan.decoder().last().unwrap().out_channels, 2);
        assert_eq!(plan.decoder().last().unwrap().output, Output::Tanh);
    }
}
