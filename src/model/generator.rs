//! The U-Net generator, built from a [`LayerPlan`].

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::tensor::activation::{leaky_relu, relu};
use burn::tensor::{Device, Tensor, TensorData};
use rand::Rng;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Mode;
use super::conv;
use super::init::{INIT_STD, kernel, normal, zero_bias};
use super::norm::BatchNorm2d;
use crate::plan::{Activation, Layer, LayerPlan, Output};
use crate::profile::{self, Phase};

/// LeakyReLU's negative slope in pix2pix's encoder.
const LEAKY_SLOPE: f64 = 0.2;

/// Generator settings that are not part of the genome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GeneratorOptions {
    /// Dropout(0.5) after the BatchNorm of decoder layers 4..=n-2, as
    /// pix2pix does by default; off gives a deterministic generator.
    pub dropout: bool,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        Self { dropout: true }
    }
}

/// A U-Net generator: `n` encoder layers and `n` decoder layers, with the
/// skips the genome keeps.
///
/// `encoder[i]` and `decoder[j]` are indexed as in the layer plan (0 is
/// outermost); the forward pass runs the decoder from `n-1` down to 0.
#[derive(Module, Debug)]
pub struct Generator {
    /// Encoder layers, outermost first.
    pub encoder: Vec<EncoderLayer>,
    /// Decoder layers by index, outermost first (executed innermost first).
    pub decoder: Vec<DecoderLayer>,
}

/// `[LeakyReLU] -> Conv2d(4, stride 2, pad 1) -> [BatchNorm]`.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// The strided convolution, without bias.
    pub conv: Conv2d,
    /// BatchNorm, absent for the outermost and innermost layers.
    pub norm: Option<BatchNorm2d>,
    leaky: bool,
}

/// `ReLU -> ConvTranspose2d(4, stride 2, pad 1) -> BatchNorm [-> Dropout]`,
/// or `-> Tanh` for the outermost layer.
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// The strided transposed convolution; biased only when outermost.
    pub conv: ConvTranspose2d,
    /// BatchNorm, absent for the outermost layer.
    pub norm: Option<BatchNorm2d>,
    skip: bool,
    dropout: bool,
    tanh: bool,
}

impl Generator {
    /// Builds the generator of `plan` with pix2pix's normal init drawn from
    /// `rng` (encoder first, then decoder, outermost first).
    pub fn new(
        plan: &LayerPlan,
        options: GeneratorOptions,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let encoder = plan
            .encoder()
            .iter()
            .map(|layer| EncoderLayer::new(layer, rng, device))
            .collect();
        // The plan lists the decoder in execution order; store it by index.
        let decoder = plan
            .decoder()
            .iter()
            .rev()
            .map(|layer| DecoderLayer::new(layer, options, rng, device))
            .collect();
        Self { encoder, decoder }
    }

    /// Translates `input` `[batch, in_channels, s, s]` into
    /// `[batch, out_channels, s, s]` in [-1, 1]. `s` must be a multiple of
    /// `2^n`; any such size works, not only the one searched for.
    pub fn forward(&self, input: Tensor<4>, mode: &mut Mode) -> Tensor<4> {
        let depth = self.encoder.len();
        let mut skips: Vec<Option<Tensor<4>>> = Vec::with_capacity(depth);
        let mut x = input;
        for (i, layer) in self.encoder.iter().enumerate() {
            x = layer.forward(x, mode);
            skips.push(self.decoder[i].skip.then(|| x.clone()));
        }

        for j in (0..depth).rev() {
            if let Some(skip) = skips[j].take() {
                x = profile::time(Phase::ConcatForward, || Tensor::cat(vec![skip, x], 1)); // [batch, 2 * c[j], h, w]
            }
            x = self.decoder[j].forward(x, mode);
        }
        x
    }
}

impl EncoderLayer {
    fn new(layer: &Layer, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let (cin, cout) = (layer.in_channels as usize, layer.out_channels as usize);
        let mut conv = Conv2dConfig::new([cin, cout], [4, 4])
            .with_stride([2, 2])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(device);
        conv.weight = kernel([cout, cin, 4, 4], rng, device);
        let norm = (layer.output == Output::BatchNorm).then(|| batch_norm(cout, rng, device));

        Self {
            conv,
            norm,
            leaky: layer.activation == Activation::LeakyRelu,
        }
    }

    fn forward(&self, input: Tensor<4>, mode: &Mode) -> Tensor<4> {
        let x = if self.leaky {
            profile::time(Phase::ActivationForward, || leaky_relu(input, LEAKY_SLOPE))
        } else {
            input
        };
        let x = conv::conv2d(&self.conv, x); // [batch, out, h / 2, w / 2]
        match &self.norm {
            Some(norm) => norm.forward(x, mode),
            None => x,
        }
    }
}

impl DecoderLayer {
    fn new(
        layer: &Layer,
        options: GeneratorOptions,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let (cin, cout) = (layer.in_channels as usize, layer.out_channels as usize);
        let mut conv = ConvTranspose2dConfig::new([cin, cout], [4, 4])
            .with_stride([2, 2])
            .with_padding([1, 1])
            .with_bias(layer.bias)
            .init(device);
        // PyTorch's transposed-convolution layout, [in, out, kh, kw].
        conv.weight = kernel([cin, cout, 4, 4], rng, device);
        conv.bias = layer.bias.then(|| zero_bias(cout, device));
        let norm = (layer.output == Output::BatchNorm).then(|| batch_norm(cout, rng, device));

        Self {
            conv,
            norm,
            skip: layer.skip_channels > 0,
            dropout: options.dropout && layer.dropout,
            tanh: layer.output == Output::Tanh,
        }
    }

    fn forward(&self, input: Tensor<4>, mode: &mut Mode) -> Tensor<4> {
        let x = profile::time(Phase::ActivationForward, || relu(input));
        let x = conv::conv_transpose2d(&self.conv, x); // [batch, out, 2h, 2w]
        let x = match &self.norm {
            Some(norm) => norm.forward(x, mode),
            None => x,
        };
        profile::time(Phase::ActivationForward, || {
            let x = if self.tanh { x.tanh() } else { x };
            match mode {
                Mode::Train { dropout_rng } if self.dropout => dropout_half(x, dropout_rng),
                _ => x,
            }
        })
    }
}

/// BatchNorm with pix2pix's init: scale N(1, 0.02), shift 0.
fn batch_norm(channels: usize, rng: &mut ChaCha8Rng, device: &Device) -> BatchNorm2d {
    let weight = normal([channels], 1.0, INIT_STD, rng, device);
    BatchNorm2d::new(weight, Tensor::zeros([channels], device))
}

/// Dropout with p = 0.5: zero each element with probability 1/2 and double
/// the rest, one random bit per element.
fn dropout_half(input: Tensor<4>, rng: &mut ChaCha8Rng) -> Tensor<4> {
    let shape = input.dims();
    let count: usize = shape.iter().product();
    let mut mask = Vec::with_capacity(count);
    while mask.len() < count {
        let bits = rng.next_u64();
        let take = (count - mask.len()).min(64);
        mask.extend((0..take).map(|bit| if bits >> bit & 1 == 1 { 2.0f32 } else { 0.0 }));
    }
    let mask = Tensor::from_data(TensorData::new(mask, shape), &input.device());
    input * mask
}
