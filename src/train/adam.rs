//! Adam in one fused, parallel, in-place pass per parameter.
//!
//! burn's Adam computes its update with about a dozen element-wise tensor
//! operations per parameter, each a full pass over memory, several of them
//! allocating, and the `flex` backend runs element-wise work on one thread.
//! Worse, burn's own convolution weight gradients arrive as transposed views
//! (the model's convolutions avoid that on flex, see `model::conv`, but any
//! other op may hand one over), which every one of those passes reads
//! through a slow strided path. This
//! optimiser takes the `flex` buffers directly (burn's `extension` feature)
//! and updates parameter, first and second moment in a single pass, reading
//! the gradient in place whatever its strides, split across threads.
//!
//! The arithmetic is burn's, operation for operation in float32, so results
//! are bit-identical to `AdamConfig::init()` (tested); the state is burn's
//! `AdamState`, so records and checkpoints are interchangeable. Tensors that
//! are not float32 `flex` tensors (other backends, other dtypes) take the
//! same arithmetic through ordinary tensor operations.

use burn::backend::flex::FlexTensor;
use burn::backend::{DispatchDevice, Flex};
use burn::optim::{AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer};
use burn::tensor::{DType, Device, Tensor};
use rayon::prelude::*;

/// Elements per parallel task: large enough to amortise scheduling, small
/// enough to balance two to sixteen cores on typical layers.
const CHUNK: usize = 1 << 14;

/// Adam without weight decay or AMSGrad (what pix2pix uses).
#[derive(Debug, Clone, Copy)]
pub struct FusedAdam {
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
}

impl FusedAdam {
    /// Adam with these decay rates and epsilon.
    pub fn new(beta_1: f32, beta_2: f32, epsilon: f32) -> Self {
        Self {
            beta_1,
            beta_2,
            epsilon,
        }
    }

    /// As a whole-module optimiser.
    pub fn into_module_optimizer(self) -> ModuleOptimizer {
        ModuleOptimizer::from(self)
    }

    /// The per-step constants: `(combined factor, epsilon * bias
    /// correction)`, computed exactly as burn computes them.
    fn factors(&self, time: usize) -> (f32, f32) {
        let time = time as i32;
        let bias_correction_2 = (1.0 - self.beta_2.powi(time)).sqrt();
        let combined = bias_correction_2 / (1.0 - self.beta_1.powi(time));
        (combined, self.epsilon * bias_correction_2)
    }
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let fusable =
            on_flex(&tensor.device()) && tensor.dtype() == DType::F32 && grad.dtype() == DType::F32;
        if fusable {
            fused_step(self, lr, tensor, grad, state)
        } else {
            reference_step(self, lr, tensor, grad, state)
        }
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &Device) -> Self::State<D> {
        state.momentum = state.momentum.to_device(device);
        state
    }
}

type Step<const D: usize> = (Tensor<D>, Option<AdamState<D>>);

/// Whether tensors on `device` are `flex` tensors (checked before taking
/// their buffers, so that nothing is cloned and updates stay in place).
fn on_flex(device: &Device) -> bool {
    matches!(device.as_dispatch(), DispatchDevice::Flex(_))
}

/// Takes a tensor on a `flex` device as its buffer.
fn flex<const D: usize>(tensor: Tensor<D>) -> FlexTensor {
    tensor
        .try_into_primitive::<Flex>()
        .expect("a tensor on a flex device is a flex tensor")
}

/// The fused path for float32 tensors on `flex`.
fn fused_step<const D: usize>(
    adam: &FusedAdam,
    lr: LearningRate,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<AdamState<D>>,
) -> Step<D> {
    let mut parameter = contiguous(flex(tensor));
    let gradient = flex(grad);
    let count = parameter.layout().num_elements();
    let (time, mut first, mut second) = match state {
        Some(state) => {
            let momentum = state.momentum;
            let first = contiguous(flex(momentum.moment_1));
            let second = contiguous(flex(momentum.moment_2));
            (momentum.time + 1, first, second)
        }
        None => (1, zeros_like(&parameter), zeros_like(&parameter)),
    };

    let buffers = Buffers {
        parameter: contiguous_mut(&mut parameter, count),
        first: contiguous_mut(&mut first, count),
        second: contiguous_mut(&mut second, count),
    };
    update(adam, lr as f32, time, buffers, &RowReader::new(&gradient));

    let momentum = AdaptiveMomentumState::new(
        time,
        Tensor::from_primitive::<Flex>(first),
        Tensor::from_primitive::<Flex>(second),
    );
    let parameter = Tensor::from_primitive::<Flex>(parameter);
    (parameter, Some(AdamState::new(momentum)))
}

struct Buffers<'a> {
    parameter: &'a mut [f32],
    first: &'a mut [f32],
    second: &'a mut [f32],
}

/// The update of every element, in parallel chunks. Operation order and
/// rounding match burn's `AdaptiveMomentum::transform` exactly.
fn update(adam: &FusedAdam, lr: f32, time: usize, buffers: Buffers, gradient: &RowReader) {
    let (combined, denominator_shift) = adam.factors(time);
    let (b1, b2) = (adam.beta_1, adam.beta_2);
    let (f1, f2) = (1.0 - b1, 1.0 - b2);
    let first_step = time == 1;

    buffers
        .parameter
        .par_chunks_mut(CHUNK)
        .zip(buffers.first.par_chunks_mut(CHUNK))
        .zip(buffers.second.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(chunk, ((parameter, first), second))| {
            let start = chunk * CHUNK;
            let mut g = vec![0.0f32; parameter.len()];
            gradient.read(start, &mut g);
            if first_step {
                for i in 0..parameter.len() {
                    first[i] = g[i] * f1;
                    second[i] = (g[i] * g[i]) * f2;
                }
            } else {
                for i in 0..parameter.len() {
                    first[i] = first[i] * b1 + g[i] * f1;
                    second[i] = second[i] * b2 + (g[i] * g[i]) * f2;
                }
            }
            for i in 0..parameter.len() {
                let step = (first[i] * combined) / (second[i].sqrt() + denominator_shift);
                parameter[i] -= step * lr;
            }
        });
}

/// Reads a tensor's elements in logical (row-major) order whatever its
/// strides: contiguous tensors as one slice, strided ones run by run.
///
/// Trailing dimensions that are contiguous with each other are merged into
/// one run (a transposed conv weight gradient `[a, b, 4, 4]` with strides
/// `[16, 16 a, 4, 1]` reads in runs of 16), and rows are walked with an
/// odometer rather than recomputed by division, which profiling showed to
/// dominate the optimiser step.
struct RowReader<'a> {
    storage: &'a [f32],
    /// Sizes of the outer dimensions, outermost first.
    outer_shape: Vec<usize>,
    /// Strides of the outer dimensions.
    outer_strides: Vec<isize>,
    /// Elements per contiguous run.
    run: usize,
    offset: usize,
    contiguous: Option<(usize, usize)>,
}

impl<'a> RowReader<'a> {
    fn new(tensor: &'a FlexTensor) -> Self {
        let layout = tensor.layout();
        let shape = layout.shape().as_slice().to_vec();
        let strides = layout.strides().to_vec();

        // Merge trailing dimensions while each is contiguous with the next.
        let mut split = shape.len();
        let mut run = 1usize;
        while split > 0 && strides[split - 1] == run as isize {
            run *= shape[split - 1];
            split -= 1;
        }
        Self {
            storage: tensor.storage::<f32>(),
            outer_shape: shape[..split].to_vec(),
            outer_strides: strides[..split].to_vec(),
            run: run.max(1),
            offset: layout.start_offset(),
            contiguous: layout.contiguous_offsets(),
        }
    }

    /// Fills `out` with the elements at logical indices `start..`.
    fn read(&self, start: usize, out: &mut [f32]) {
        if let Some((begin, _)) = self.contiguous {
            out.copy_from_slice(&self.storage[begin + start..begin + start + out.len()]);
            return;
        }

        // Position of the first run, found once by division.
        let (mut row, mut column) = (start / self.run, start % self.run);
        let mut index = vec![0usize; self.outer_shape.len()];
        for dim in (0..self.outer_shape.len()).rev() {
            index[dim] = row % self.outer_shape[dim];
            row /= self.outer_shape[dim];
        }
        let mut base: isize = self.offset as isize
            + index
                .iter()
                .zip(&self.outer_strides)
                .map(|(&i, &stride)| i as isize * stride)
                .sum::<isize>();

        let mut written = 0;
        while written < out.len() {
            let take = (self.run - column).min(out.len() - written);
            let from = (base + column as isize) as usize;
            out[written..written + take].copy_from_slice(&self.storage[from..from + take]);
            written += take;
            column = 0;
            base = self.advance(&mut index, base);
        }
    }

    /// Moves the odometer `index` to the next run; returns its offset.
    fn advance(&self, index: &mut [usize], mut base: isize) -> isize {
        for dim in (0..index.len()).rev() {
            index[dim] += 1;
            base += self.outer_strides[dim];
            if index[dim] < self.outer_shape[dim] {
                return base;
            }
            base -= self.outer_strides[dim] * self.outer_shape[dim] as isize;
            index[dim] = 0;
        }
        base
    }
}

fn contiguous(tensor: FlexTensor) -> FlexTensor {
    if tensor.layout().contiguous_offsets().is_some() {
        tensor
    } else {
        tensor.to_contiguous()
    }
}

fn contiguous_mut(tensor: &mut FlexTensor, count: usize) -> &mut [f32] {
    let (begin, _) = tensor
        .layout()
        .contiguous_offsets()
        .expect("made contiguous above");
    &mut tensor.storage_mut::<f32>()[begin..begin + count]
}

fn zeros_like(tensor: &FlexTensor) -> FlexTensor {
    let count = tensor.layout().num_elements();
    let data = burn::tensor::TensorData::new(vec![0.0f32; count], tensor.layout().shape().clone());
    FlexTensor::from_data(data)
}

/// The same arithmetic with tensor operations, for any backend and dtype.
fn reference_step<const D: usize>(
    adam: &FusedAdam,
    lr: LearningRate,
    tensor: Tensor<D>,
    grad: Tensor<D>,
    state: Option<AdamState<D>>,
) -> Step<D> {
    let (b1, b2) = (adam.beta_1, adam.beta_2);
    let momentum = match state {
        Some(state) => {
            let mut momentum = state.momentum;
            momentum.moment_1 = momentum
                .moment_1
                .mul_scalar(b1)
                .add(grad.clone().mul_scalar(1.0 - b1));
            momentum.moment_2 = momentum
                .moment_2
                .mul_scalar(b2)
                .add(grad.square().mul_scalar(1.0 - b2));
            momentum.time += 1;
            momentum
        }
        None => AdaptiveMomentumState::new(
            1,
            grad.clone().mul_scalar(1.0 - b1),
            grad.square().mul_scalar(1.0 - b2),
        ),
    };
    let (combined, shift) = adam.factors(momentum.time);
    let update = momentum
        .moment_1
        .clone()
        .mul_scalar(combined)
        .div(momentum.moment_2.clone().sqrt().add_scalar(shift));
    let tensor = tensor - update.mul_scalar(lr);
    (tensor, Some(AdamState::new(momentum)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// Every chunk of a permuted (strided) tensor reads as the same chunk of
    /// its contiguous copy, whatever the chunk boundaries.
    #[test]
    fn strided_reads_match_the_contiguous_copy() {
        let device = Device::flex();
        let values: Vec<f32> = (0..2 * 3 * 4 * 5).map(|v| v as f32).collect();
        let tensor = Tensor::<4>::from_data(TensorData::new(values, [2, 3, 4, 5]), &device);
        let permuted = tensor.permute([1, 0, 2, 3]); // [3, 2, 4, 5], runs of 20
        let expected = permuted.to_data().try_to_vec::<f32>().unwrap();
        let primitive = flex(permuted);
        assert!(
            primitive.layout().contiguous_offsets().is_none(),
            "a strided view"
        );
        let reader = RowReader::new(&primitive);

        for (start, length) in [(0, 120), (7, 50), (19, 1), (20, 41), (113, 7)] {
            let mut out = vec![0.0; length];
            reader.read(start, &mut out);
            assert_eq!(out, expected[start..start + length], "chunk at {start}");
        }
    }
}
