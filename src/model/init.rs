//! pix2pix's "normal" weight initialisation from an explicit RNG.
//!
//! pix2pix (`init_type = normal`, `init_gain = 0.02`) draws convolution
//! weights from N(0, 0.02), BatchNorm scales from N(1, 0.02), and sets
//! every bias and BatchNorm shift to 0. Draws happen in construction order
//! from the caller's RNG, so a seed fixes every weight.

use burn::module::Param;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use rand_distr::Normal;

/// Standard deviation of pix2pix's normal init (`init_gain`).
pub const INIT_STD: f64 = 0.02;

/// A tensor of `shape` with entries from N(`mean`, `std`).
pub fn normal<const D: usize>(
    shape: [usize; D],
    mean: f64,
    std: f64,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Tensor<D> {
    let distribution = Normal::new(mean, std).expect("init std is finite and positive");
    let count = shape.iter().product();
    let values: Vec<f32> = (0..count)
        .map(|_| rng.sample(distribution) as f32)
        .collect();
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A convolution kernel parameter drawn from N(0, 0.02).
pub fn kernel(shape: [usize; 4], rng: &mut ChaCha8Rng, device: &Device) -> Param<Tensor<4>> {
    Param::from_tensor(normal(shape, 0.0, INIT_STD, rng, device))
}

/// A zero bias parameter.
pub fn zero_bias(channels: usize, device: &Device) -> Param<Tensor<1>> {
    Param::from_tensor(Tensor::zeros([channels], device))
}
