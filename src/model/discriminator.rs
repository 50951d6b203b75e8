//! pix2pix's PatchGAN discriminator (`NLayerDiscriminator`).

use burn::module::Module;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::leaky_relu;
use burn::tensor::{Device, Tensor};
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Mode;
use super::conv;
use super::init::{INIT_STD, kernel, normal, zero_bias};
use super::norm::BatchNorm2d;
use crate::profile::{self, Phase};

/// LeakyReLU's negative slope in the discriminator.
const LEAKY_SLOPE: f64 = 0.2;

/// Shape of a PatchGAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchGanConfig {
    /// Channels of the input: image A and image B concatenated.
    pub input_channels: usize,
    /// Filters of the first layer (pix2pix's `ndf`, default 64).
    pub ndf: usize,
    /// Strided layers (pix2pix's `n_layers_D`, default 3: 70x70 patches).
    pub n_layers: usize,
}

impl PatchGanConfig {
    /// pix2pix's default for A and B of `in` and `out` channels.
    pub fn pix2pix(in_channels: usize, out_channels: usize) -> Self {
        Self {
            input_channels: in_channels + out_channels,
            ndf: 64,
            n_layers: 3,
        }
    }

    /// Lowers `n_layers` until the patch map of a `side`-pixel image is at
    /// least 1x1, returning the config and whether it was lowered.
    ///
    /// After `k` stride-2 layers and the two stride-1 4x4 layers (each
    /// shrinking the map by 1), the map is `side / 2^k - 2` wide.
    pub fn fit_to(self, side: usize) -> (Self, bool) {
        let mut fitted = self;
        while fitted.n_layers > 1 && (side >> fitted.n_layers) < 3 {
            fitted.n_layers -= 1;
        }
        (fitted, fitted.n_layers != self.n_layers)
    }

    /// Side of the patch map for a `side`-pixel input.
    pub fn patch_side(&self, side: usize) -> usize {
        (side >> self.n_layers).saturating_sub(2)
    }
}

/// `Conv(s2, bias) LReLU | [Conv(s2) BN LReLU] x (n-1) | Conv(s1) BN LReLU
/// | Conv(s1, bias)`: one logit per overlapping patch.
#[derive(Module, Debug)]
pub struct PatchGan {
    /// The convolution blocks in order.
    pub layers: Vec<PatchLayer>,
}

/// One convolution, optionally followed by BatchNorm and LeakyReLU.
#[derive(Module, Debug)]
pub struct PatchLayer {
    /// The 4x4 convolution (padding 1).
    pub conv: Conv2d,
    /// BatchNorm for every layer but the first and the last.
    pub norm: Option<BatchNorm2d>,
    leaky: bool,
}

impl PatchGan {
    /// Builds the discriminator with pix2pix's normal init from `rng`.
    pub fn new(config: &PatchGanConfig, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let mut layers = Vec::with_capacity(config.n_layers + 2);
        let first = config.ndf;
        layers.push(PatchLayer::new(
            config.input_channels,
            first,
            2,
            false,
            true,
            rng,
            device,
        ));

        let mut previous = first;
        for n in 1..=config.n_layers {
            let width = config.ndf * (1 << n).min(8);
            let stride = if n < config.n_layers { 2 } else { 1 };
            layers.push(PatchLayer::new(
                previous, width, stride, true, true, rng, device,
            ));
            previous = width;
        }

        layers.push(PatchLayer::new(previous, 1, 1, false, false, rng, device));
        Self { layers }
    }

    /// Logits `[batch, 1, p, p]` for `input` `[batch, in + out, s, s]`.
    pub fn forward(&self, input: Tensor<4>, mode: &Mode) -> Tensor<4> {
        self.layers
            .iter()
            .fold(input, |x, layer| layer.forward(x, mode))
    }
}

impl PatchLayer {
    fn new(
        cin: usize,
        cout: usize,
        stride: usize,
        normalised: bool,
        leaky: bool,
        rng: &mut ChaCha8Rng,
        device: &Device,
    ) -> Self {
        // pix2pix gives a bias only to convolutions not followed by BatchNorm.
        let mut conv = Conv2dConfig::new([cin, cout], [4, 4])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(!normalised)
            .init(device);
        conv.weight = kernel([cout, cin, 4, 4], rng, device);
        conv.bias = (!normalised).then(|| zero_bias(cout, device));
        let norm = normalised.then(|| {
            let weight = normal([cout], 1.0, INIT_STD, rng, device);
            BatchNorm2d::new(weight, Tensor::zeros([cout], device))
        });
        Self { conv, norm, leaky }
    }

    fn forward(&self, input: Tensor<4>, mode: &Mode) -> Tensor<4> {
        let x = conv::conv2d(&self.conv, input);
        let x = match &self.norm {
            Some(norm) => norm.forward(x, mode),
            None => x,
        };
        if self.leaky {
            profile::time(Phase::ActivationForward, || leaky_relu(x, LEAKY_SLOPE))
        } else {
            x
        }
    }
}
