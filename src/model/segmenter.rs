//! The segmenter of the FCN-score: a small fully convolutional network that
//! labels every pixel of a photo with a class of the data set's palette.
//!
//! The paper scores generated photos with FCN-8s trained on real ones. We
//! cannot download FCN-8s, so this is a network of the same family, small
//! enough to train on a CPU in minutes: a stack of 3x3 convolution stages,
//! each halving the resolution after the first, and FCN-8s's skip fusion,
//! where a 1x1 "score" layer on every stage predicts class logits that are
//! upsampled and summed from coarse to fine.

use burn::module::{Module, Param};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::activation::relu;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::Mode;
use super::conv;
use super::init::{normal, zero_bias};
use super::norm::BatchNorm2d;

/// Shape of a segmenter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SegmenterShape {
    /// Channels of the images it labels.
    pub in_channels: usize,
    /// Classes it predicts.
    pub classes: usize,
    /// Width of the first stage; each later stage doubles it, up to 4x.
    pub width: usize,
    /// Stages: the first keeps the resolution, each later one halves it.
    pub stages: usize,
}

impl SegmenterShape {
    /// Most stages used (the coarsest map is 1/8 of the image, as in
    /// FCN-8s).
    pub const MAX_STAGES: usize = 4;

    /// Stages for `side`-pixel images: as many as fit, keeping the coarsest
    /// map at least 2x2.
    pub fn stages_for(side: usize) -> usize {
        let mut stages = 1;
        while stages < Self::MAX_STAGES && side >> stages >= 2 {
            stages += 1;
        }
        stages
    }

    fn stage_width(&self, stage: usize) -> usize {
        self.width << stage.min(2)
    }
}

/// Conv-BN-ReLU twice; the first convolution strides by 2 except in the
/// first stage.
#[derive(Module, Debug)]
pub struct Stage {
    down: Conv2d,
    down_norm: BatchNorm2d,
    conv: Conv2d,
    norm: BatchNorm2d,
}

/// The FCN: stages, and one 1x1 class-score layer per stage.
#[derive(Module, Debug)]
pub struct Segmenter {
    stages: Vec<Stage>,
    scores: Vec<Conv2d>,
}

impl Segmenter {
    /// A segmenter of `shape` with He-normal weights drawn from `rng`.
    pub fn new(shape: &SegmenterShape, rng: &mut ChaCha8Rng, device: &Device) -> Self {
        let mut stages = Vec::with_capacity(shape.stages);
        let mut scores = Vec::with_capacity(shape.stages);
        let mut channels = shape.in_channels;
        for stage in 0..shape.stages {
            let width = shape.stage_width(stage);
            let stride = if stage == 0 { 1 } else { 2 };
            stages.push(Stage {
                down: conv3x3(channels, width, stride, rng, device),
                down_norm: batch_norm(width, device),
                conv: conv3x3(width, width, 1, rng, device),
                norm: batch_norm(width, device),
            });
            scores.push(score_layer(width, shape.classes, rng, device));
            channels = width;
        }
        Self { stages, scores }
    }

    /// Class logits `[batch, classes, h, w]` for images `[batch, c, h, w]`
    /// in [-1, 1].
    pub fn forward(&self, input: Tensor<4>, mode: &Mode) -> Tensor<4> {
        let mut features = Vec::with_capacity(self.stages.len());
        let mut x = input;
        for stage in &self.stages {
            x = relu(stage.down_norm.forward(conv::conv2d(&stage.down, x), mode));
            x = relu(stage.norm.forward(conv::conv2d(&stage.conv, x), mode));
            features.push(x.clone());
        }

        let mut logits: Option<Tensor<4>> = None;
        for (feature, score) in features.into_iter().zip(&self.scores).rev() {
            let [_, _, h, w] = feature.dims();
            let here = conv::conv2d(score, feature);
            logits = Some(match logits {
                Some(coarse) => upsample(coarse, [h, w]) + here,
                None => here,
            });
        }
        logits.expect("a segmenter has at least one stage")
    }
}

fn conv3x3(
    cin: usize,
    cout: usize,
    stride: usize,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Conv2d {
    let mut conv = Conv2dConfig::new([cin, cout], [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(device);
    conv.weight = he_normal([cout, cin, 3, 3], rng, device);
    conv
}

fn score_layer(cin: usize, classes: usize, rng: &mut ChaCha8Rng, device: &Device) -> Conv2d {
    let mut conv = Conv2dConfig::new([cin, classes], [1, 1]).init(device);
    conv.weight = he_normal([classes, cin, 1, 1], rng, device);
    conv.bias = Some(zero_bias(classes, device));
    conv
}

/// He init: N(0, 2 / fan_in), which keeps ReLU activations at scale.
fn he_normal(shape: [usize; 4], rng: &mut ChaCha8Rng, device: &Device) -> Param<Tensor<4>> {
    let fan_in = shape[1] * shape[2] * shape[3];
    Param::from_tensor(normal(
        shape,
        0.0,
        (2.0 / fan_in as f64).sqrt(),
        rng,
        device,
    ))
}

fn batch_norm(channels: usize, device: &Device) -> BatchNorm2d {
    BatchNorm2d::new(
        Tensor::ones([channels], device),
        Tensor::zeros([channels], device),
    )
}

/// Bilinear upsampling to `size`.
fn upsample(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size(size),
    )
}
