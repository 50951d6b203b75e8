//! The autodiff side of [`Convolutions`]: the forward pass is the inner
//! backend's, and the recorded backward step asks the inner backend's
//! extension for both gradients.

use burn::backend::Backend;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::ops::{ConvOptions, ConvTransposeOptions};
use burn::backend::tensor::FloatTensor;

use super::Convolutions;

/// The backward step of an unbiased `conv2d`.
#[derive(Debug)]
struct Conv2dStep;

impl<B: Backend + Convolutions> Backward<B, 2> for Conv2dStep {
    type State = (NodeId, NodeId, ConvOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let gradients = [B::conv2d_input_gradient, B::conv2d_weight_gradient];
        register_gradients::<B, _>(ops, grads, checkpointer, gradients);
    }
}

/// The backward step of an unbiased `conv_transpose2d`.
#[derive(Debug)]
struct ConvTranspose2dStep;

impl<B: Backend + Convolutions> Backward<B, 2> for ConvTranspose2dStep {
    type State = (NodeId, NodeId, ConvTransposeOptions<2>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        // The input gradient of a transposed convolution does not read x.
        let input: Gradient<B, _> = |_x, weight, output_grad, options| {
            B::conv_transpose2d_input_gradient(weight, output_grad, options)
        };
        let gradients = [input, B::conv_transpose2d_weight_gradient];
        register_gradients::<B, _>(ops, grads, checkpointer, gradients);
    }
}

/// A gradient of a convolution from `(x, weight, output gradient, options)`.
type Gradient<B, O> = fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, O) -> FloatTensor<B>;

/// The shared backward step: the input and the weight gradient, each
/// computed only when its operand is tracked.
fn register_gradients<B: Backend, O: Clone>(
    ops: Ops<(NodeId, NodeId, O), 2>,
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
    [input, weight_gradient]: [Gradient<B, O>; 2],
) {
    let [node_x, node_weight] = ops.parents;
    let output_grad = grads.consume::<B>(&ops.node);
    let (x_state, weight_state, options) = ops.state;
    let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
    let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);

    if let Some(node) = node_x {
        let grad = input(
            x.clone(),
            weight.clone(),
            output_grad.clone(),
            options.clone(),
        );
        grads.register::<B>(node.id, grad);
    }
    if let Some(node) = node_weight {
        let grad = weight_gradient(x, weight, output_grad, options);
        grads.register::<B>(node.id, grad);
    }
}

/// Runs `forward` on the inner backend, recording `step` for the backward
/// pass when either operand is tracked.
fn record<B, C, S, O>(
    step: S,
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    options: O,
    forward: fn(FloatTensor<B>, FloatTensor<B>, O) -> FloatTensor<B>,
) -> FloatTensor<Autodiff<B, C>>
where
    B: Backend,
    C: CheckpointStrategy,
    S: Backward<B, 2, State = (NodeId, NodeId, O)>,
    O: Clone + Send + std::fmt::Debug + 'static,
{
    match step
        .prepare::<C>([x.node(), weight.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let weight_state = prep.checkpoint(&weight);
            let output = forward(x.into_primitive(), weight.into_primitive(), options.clone());
            prep.finish((x_state, weight_state, options), output)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(
            x.into_primitive(),
            weight.into_primitive(),
            options,
        )),
    }
}

impl<B: Backend + Convolutions, C: CheckpointStrategy> Convolutions for Autodiff<B, C> {
    fn conv2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        record::<B, C, _, _>(Conv2dStep, x, weight, options, B::conv2d_unbiased)
    }

    fn conv_transpose2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        record::<B, C, _, _>(
            ConvTranspose2dStep,
            x,
            weight,
            options,
            B::conv_transpose2d_unbiased,
        )
    }
}
