//! The networks' convolutions, routed to faster kernels on the CPU.
//!
//! On `flex`, burn runs a convolution as 512-pixel tiles of small matrix
//! products after a single-threaded layout change, and computes a weight
//! gradient as one product per input channel (each only 16 columns wide
//! for a 4x4 kernel) that comes back as a transposed view every later pass
//! reads through a slow strided path. The deep layers of a U-Net, with a
//! few pixels and hundreds of channels, then run on one core. Here every
//! convolution the networks need, forward or backward, is one large matrix
//! product over the whole batch, written contiguously ([`flex`]).
//!
//! The change is reached through burn's backend extension mechanism:
//! [`Convolutions`] has default bodies that call burn's operations (used on
//! every backend but `flex`), and its autodiff implementation
//! (`autodiff.rs`) records a backward step that asks the inner backend for
//! both gradients through the extension. Setting [`BURN_CONVOLUTIONS`]
//! takes burn's own kernels everywhere, for comparison.

// burn 0.22 marks its LibTorch backend deprecated, yet it is the only way to
// train on LibTorch, which the optional `tch` feature offers.
#![cfg_attr(feature = "tch", allow(deprecated))]

mod autodiff;
mod flex;

use burn::backend::ops::{ConvOptions, ConvTransposeOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::tensor::Tensor;

use self::flex::Geometry;
use crate::profile::{self, Phase};

/// Unbiased 2-D convolutions and their gradients, which a backend may
/// compute its own way.
#[backend_extension(
    Flex,
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    LibTorch: cfg(feature = "tch"),
    Autodiff,
)]
pub trait Convolutions: Backend {
    /// `conv2d` without bias.
    fn conv2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// The gradient of `conv2d`'s input, in the input's shape.
    fn conv2d_input_gradient(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, output_grad, options)
    }

    /// The gradient of `conv2d`'s weight, in the weight's shape.
    fn conv2d_weight_gradient(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, output_grad, options)
    }

    /// `conv_transpose2d` without bias.
    fn conv_transpose2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d(x, weight, None, options)
    }

    /// The gradient of `conv_transpose2d`'s input, in the input's shape.
    fn conv_transpose2d_input_gradient(
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d_x_backward(weight, output_grad, options)
    }

    /// The gradient of `conv_transpose2d`'s weight, in the weight's shape.
    fn conv_transpose2d_weight_gradient(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv_transpose2d_weight_backward(x, weight, output_grad, options)
    }
}

/// Set (to anything) to take burn's own convolutions instead, for
/// comparison in benchmarks and when in doubt about this path.
pub const BURN_CONVOLUTIONS: &str = "UNET_NAS_BURN_CONVOLUTIONS";

/// The geometry of a convolution this module's kernels handle: one group,
/// symmetric padding, not switched off by [`BURN_CONVOLUTIONS`].
fn conv_geometry(weight: &FloatTensor<Flex>, options: &ConvOptions<2>) -> Option<Geometry> {
    let usable = own_kernels() && options.groups == 1 && !options.is_asymmetric();
    usable.then(|| Geometry {
        kernel: spatial_size(weight),
        stride: options.stride,
        padding: options.padding_begin(),
        dilation: options.dilation,
    })
}

/// [`conv_geometry`] for a transposed convolution.
fn transposed_geometry(
    weight: &FloatTensor<Flex>,
    options: &ConvTransposeOptions<2>,
) -> Option<Geometry> {
    let usable = own_kernels() && options.groups == 1;
    usable.then(|| Geometry {
        kernel: spatial_size(weight),
        stride: options.stride,
        padding: options.padding,
        dilation: options.dilation,
    })
}

/// The spatial size of a `[batch, channels, height, width]` tensor, or a
/// kernel's `[kh, kw]` for an `[out, in, kh, kw]` weight.
fn spatial_size(tensor: &FloatTensor<Flex>) -> [usize; 2] {
    let shape = tensor.layout().shape();
    [shape[2], shape[3]]
}

/// The output size of a transposed convolution over an input of `size`:
/// `(size - 1) * stride - 2 * padding + dilation * (kernel - 1) +
/// padding_out + 1` per axis, as in burn and PyTorch.
fn transposed_output_size(
    size: [usize; 2],
    geometry: Geometry,
    options: &ConvTransposeOptions<2>,
) -> Option<[usize; 2]> {
    let axis = |a: usize| {
        ((size[a] - 1) * geometry.stride[a]
            + geometry.dilation[a] * (geometry.kernel[a] - 1)
            + options.padding_out[a]
            + 1)
        .checked_sub(2 * geometry.padding[a])
    };
    Some([axis(0)?, axis(1)?])
}

/// Whether this module's kernels are in use (read once).
fn own_kernels() -> bool {
    static OWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OWN.get_or_init(|| std::env::var_os(BURN_CONVOLUTIONS).is_none())
}

impl Convolutions for Flex {
    fn conv2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        profile::time(Phase::Conv2dForward, || {
            let geometry = conv_geometry(&weight, &options)
                .filter(|g| g.output_size(spatial_size(&x)).is_some());
            geometry
                .and_then(|geometry| flex::convolve(&x, &weight, geometry))
                .unwrap_or_else(|| Self::conv2d(x, weight, None, options))
        })
    }

    fn conv2d_input_gradient(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        profile::time(Phase::Conv2dInputGradient, || {
            // dX is the adjoint of the convolution applied to dY.
            let size = spatial_size(&x);
            let gradient = conv_geometry(&weight, &options).and_then(|geometry| {
                flex::convolve_transposed(&output_grad, &weight, geometry, size)
            });
            gradient.unwrap_or_else(|| Self::conv2d_x_backward(x, weight, output_grad, options))
        })
    }

    fn conv2d_weight_gradient(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        profile::time(Phase::Conv2dWeightGradient, || {
            // dW[o, i, ky, kx] correlates the output gradient with the input.
            let gradient = conv_geometry(&weight, &options)
                .and_then(|geometry| flex::correlate(&output_grad, &x, geometry));
            gradient
                .unwrap_or_else(|| Self::conv2d_weight_backward(x, weight, output_grad, options))
        })
    }

    fn conv_transpose2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        profile::time(Phase::ConvTranspose2dForward, || {
            let output = transposed_geometry(&weight, &options).and_then(|geometry| {
                let size = transposed_output_size(spatial_size(&x), geometry, &options)?;
                flex::convolve_transposed(&x, &weight, geometry, size)
            });
            output.unwrap_or_else(|| Self::conv_transpose2d(x, weight, None, options))
        })
    }

    fn conv_transpose2d_input_gradient(
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        profile::time(Phase::ConvTranspose2dInputGradient, || {
            // dX is the convolution (the adjoint of the adjoint) of dY.
            let gradient = transposed_geometry(&weight, &options)
                .filter(|g| g.output_size(spatial_size(&output_grad)).is_some())
                .and_then(|geometry| flex::convolve(&output_grad, &weight, geometry));
            gradient
                .unwrap_or_else(|| Self::conv_transpose2d_x_backward(weight, output_grad, options))
        })
    }

    fn conv_transpose2d_weight_gradient(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        output_grad: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        profile::time(Phase::ConvTranspose2dWeightGradient, || {
            // dW[i, o, ky, kx] correlates the input with the output gradient.
            let gradient = transposed_geometry(&weight, &options)
                .and_then(|geometry| flex::correlate(&x, &output_grad, geometry));
            gradient.unwrap_or_else(|| {
                Self::conv_transpose2d_weight_backward(x, weight, output_grad, options)
            })
        })
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl Convolutions for burn::backend::Cube {}

#[cfg(feature = "tch")]
impl Convolutions for burn::backend::LibTorch {}

/// `layer.forward(x)` for a [`Conv2d`] (`x [batch, in, h, w]` to `[batch,
/// out, h', w']`), through [`Convolutions`].
pub fn conv2d(layer: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let ((top, bottom), (left, right)) = match layer.padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
        // The networks use explicit padding; burn resolves "same" itself.
        PaddingConfig2d::Same => return layer.forward(x),
    };
    let options = ConvOptions::new_with_padding(
        layer.stride,
        [(top, bottom), (left, right)],
        layer.dilation,
        layer.groups,
    );

    let y = Tensor::from_dispatch(<Dispatch as Convolutions>::conv2d_unbiased(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        options,
    ));
    add_bias(y, layer.bias.as_ref().map(|bias| bias.val()))
}

/// `layer.forward(x)` for a [`ConvTranspose2d`] (`x [batch, in, h, w]` to
/// `[batch, out, h', w']`), through [`Convolutions`].
pub fn conv_transpose2d(layer: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    let options = ConvTransposeOptions::new(
        layer.stride,
        layer.padding,
        layer.padding_out,
        layer.dilation,
        layer.groups,
    );

    let y = Tensor::from_dispatch(<Dispatch as Convolutions>::conv_transpose2d_unbiased(
        x.into_dispatch(),
        layer.weight.val().into_dispatch(),
        options,
    ));
    add_bias(y, layer.bias.as_ref().map(|bias| bias.val()))
}

/// Adds a per-channel bias, as burn's convolutions do after their product.
fn add_bias(y: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(bias) => {
            let channels = bias.dims()[0];
            y + bias.reshape([1, channels, 1, 1])
        }
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::{Device, Distribution};

    use super::*;

    fn device() -> Device {
        crate::train::compute_device().autodiff()
    }

    fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
    }

    /// Largest difference between two tensors, relative to the largest
    /// magnitude in the reference.
    fn relative_difference<const D: usize>(ours: Tensor<D>, reference: Tensor<D>) -> f32 {
        let scale = reference.clone().abs().max().into_scalar::<f32>().max(1e-6);
        (ours - reference).abs().max().into_scalar::<f32>() / scale
    }

    #[test]
    fn conv2d_matches_burn_in_value_and_all_three_gradients() {
        let device = device();
        for (stride, padding, bias, batch) in [
            (2, 1, true, 1),
            (2, 1, false, 3),
            (1, 1, true, 2),
            (1, 0, false, 2),
        ] {
            let layer = Conv2dConfig::new([3, 5], [4, 4])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(
                    padding, padding, padding, padding,
                ))
                .with_bias(bias)
                .init(&device);
            let x = random([batch, 3, 12, 12], &device).require_grad();

            let outputs = [conv2d(&layer, x.clone()), layer.forward(x.clone())];

            let bias_value = layer.bias.as_ref().map(|b| b.val());
            let case = (stride, padding, bias, batch);
            assert_same_values_and_gradients(outputs, [x, layer.weight.val()], bias_value, case);
        }
    }

    #[test]
    fn conv_transpose2d_matches_burn_in_value_and_all_three_gradients() {
        let device = device();
        for (stride, padding, bias, batch) in [(2, 1, true, 1), (2, 1, false, 3), (1, 0, true, 2)] {
            let layer = ConvTranspose2dConfig::new([4, 3], [4, 4])
                .with_stride([stride, stride])
                .with_padding([padding, padding])
                .with_bias(bias)
                .init(&device);
            let x = random([batch, 4, 6, 6], &device).require_grad();

            let outputs = [
                conv_transpose2d(&layer, x.clone()),
                layer.forward(x.clone()),
            ];

            let bias_value = layer.bias.as_ref().map(|b| b.val());
            let case = (stride, padding, bias, batch);
            assert_same_values_and_gradients(outputs, [x, layer.weight.val()], bias_value, case);
        }
    }

    /// Asserts that `ours` and `reference` agree in value and in the
    /// gradients of a random weighted sum with respect to input, weight
    /// and bias, to float32 rounding.
    fn assert_same_values_and_gradients(
        [ours, reference]: [Tensor<4>; 2],
        [x, weight]: [Tensor<4>; 2],
        bias: Option<Tensor<1>>,
        case: impl std::fmt::Debug,
    ) {
        let weights = random(ours.dims(), &ours.device());
        let grads_ours = (ours.clone() * weights.clone()).sum().backward();
        let grads_reference = (reference.clone() * weights).sum().backward();

        assert!(
            relative_difference(ours, reference) < 1e-5,
            "{case:?}: values"
        );
        for (name, tensor) in [("input", x), ("weight", weight)] {
            let difference = relative_difference(
                tensor.grad(&grads_ours).unwrap(),
                tensor.grad(&grads_reference).unwrap(),
            );
            assert!(
                difference < 1e-5,
                "{case:?}: {name} gradient off by {difference}"
            );
        }
        if let Some(bias) = bias {
            let difference = relative_difference(
                bias.grad(&grads_ours).unwrap(),
                bias.grad(&grads_reference).unwrap(),
            );
            assert!(
                difference < 1e-5,
                "{case:?}: bias gradient off by {difference}"
            );
        }
    }
}
