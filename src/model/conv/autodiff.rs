//! The autodiff side of [`Convolutions`]: the forward pass is the inner
//! backend's, and the recorded backward step takes the input gradient from
//! burn and the weight gradient from the inner backend's extension.

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
        let [node_x, node_weight] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);

        if let Some(node) = node_x {
            let grad = B::conv2d_input_gradient(
                x.clone(),
                weight.clone(),
                output_grad.clone(),
                options.clone(),
            );
            grads.register::<B>(node.id, grad);
        }
        if let Some(node) = node_weight {
            let grad = B::conv2d_weight_gradient(x, weight, output_grad, options);
            grads.register::<B>(node.id, grad);
        }
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
        let [node_x, node_weight] = ops.parents;
        let output_grad = grads.consume::<B>(&ops.node);
        let (x_state, weight_state, options) = ops.state;
        let x = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(x_state);
        let weight = checkpointer.retrieve_node_output::<B::FloatTensorPrimitive>(weight_state);

        if let Some(node) = node_x {
            let grad = B::conv_transpose2d_input_gradient(
                weight.clone(),
                output_grad.clone(),
                options.clone(),
            );
            grads.register::<B>(node.id, grad);
        }
        if let Some(node) = node_weight {
            let grad = B::conv_transpose2d_weight_gradient(x, weight, output_grad, options);
            grads.register::<B>(node.id, grad);
        }
    }
}

impl<B: Backend + Convolutions, C: CheckpointStrategy> Convolutions for Autodiff<B, C> {
    fn conv2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        match Conv2dStep
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output = B::conv2d_unbiased(
                    x.into_primitive(),
                    weight.into_primitive(),
                    options.clone(),
                );
                prep.finish((x_state, weight_state, options), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv2d_unbiased(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }

    fn conv_transpose2d_unbiased(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvTransposeOptions<2>,
    ) -> FloatTensor<Self> {
        match ConvTranspose2dStep
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let weight_state = prep.checkpoint(&weight);
                let output = B::conv_transpose2d_unbiased(
                    x.into_primitive(),
                    weight.into_primitive(),
                    options.clone(),
                );
                prep.finish((x_state, weight_state, options), output)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::conv_transpose2d_unbiased(
                x.into_primitive(),
                weight.into_primitive(),
                options,
            )),
        }
    }
}
