//! Batch norm over the training batch, with a residual add and ReLU fused in, as a Burn
//! backend extension: the flex backend runs [`crate::kernels::batch_norm`], and its
//! autodiff decorator registers one backward node for the three (Burn records the batch
//! norm, the add and the ReLU as three, each a pass or more over the activation).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, TensorMetadata};

use crate::flex::{contiguous, flex_tensor, values};
use crate::kernels::batch_norm::{batch_norm_backward, batch_norm_forward, NormShape};

/// `relu(x̂ γ + β)` of an input `[n, c, ...]` (float32), x̂ normalised with the batch's own
/// per-channel mean and biased variance, `epsilon` added to the variance, the ReLU when
/// asked; and the same with a residual (x's shape) added before the ReLU. Each returns the
/// output, the mean and the variance (`[c]` each, for the running statistics; not
/// differentiated). (Two operations rather than an optional residual: the extension macro
/// of Burn 0.22.1 passes an `Option` of tensors on without unwrapping it from the dispatch.)
#[backend_extension(Flex, Autodiff)]
pub trait NormBackend: Backend {
    /// The output, the batch mean and the batch variance.
    fn reponet_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The same with `residual` added before the ReLU.
    fn reponet_batch_norm_add(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);
}

fn norm_shape(x: &FlexTensor) -> NormShape {
    let dims = x.shape();
    NormShape {
        n: dims[0],
        c: dims[1],
        plane: dims.iter().skip(2).product(),
    }
}

type Outputs = (FlexTensor, FlexTensor, FlexTensor);

fn forward(
    [x, gamma, beta]: [FlexTensor; 3],
    residual: Option<FlexTensor>,
    epsilon: f64,
    relu: bool,
) -> Outputs {
    let s = norm_shape(&x);
    let dims = x.shape().to_vec();
    let (x, gamma, beta) = (contiguous(x), contiguous(gamma), contiguous(beta));
    let residual = residual.map(contiguous);
    let f = batch_norm_forward(
        &s,
        values(&x),
        [values(&gamma), values(&beta)],
        residual.as_ref().map(values),
        relu,
        epsilon,
    );
    (
        flex_tensor(f.out, dims),
        flex_tensor(f.mean, vec![s.c]),
        flex_tensor(f.var, vec![s.c]),
    )
}

impl NormBackend for Flex {
    fn reponet_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> Outputs {
        forward([x, gamma, beta], None, epsilon, relu)
    }

    fn reponet_batch_norm_add(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        residual: FlexTensor,
        epsilon: f64,
        relu: bool,
    ) -> Outputs {
        forward([x, gamma, beta], Some(residual), epsilon, relu)
    }
}

/// What the backward needs: the input (checkpointed), γ, the batch statistics, and the
/// output when a ReLU decides where the gradient passes.
#[derive(Debug, Clone)]
struct Kept {
    x: NodeId,
    gamma: FlexTensor,
    mean: FlexTensor,
    var: FlexTensor,
    epsilon: f64,
    relu_out: Option<FlexTensor>,
}

#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = Kept;

    fn backward(self, ops: Ops<Kept, 3>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let [x, gamma, beta] = ops.parents.map(|node| node.map(|node| node.id));
        backward([x, gamma, beta, None], grads, checkpointer, ops.state, grad);
    }
}

#[derive(Debug)]
struct NormAddBackward;

impl Backward<Flex, 4> for NormAddBackward {
    type State = Kept;

    fn backward(self, ops: Ops<Kept, 4>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        backward(parents, grads, checkpointer, ops.state, grad);
    }
}

/// Registers the gradients of the parents (x, γ, β, residual; `None` where none is wanted).
fn backward(
    [node_x, node_gamma, node_beta, node_residual]: [Option<NodeId>; 4],
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
    kept: Kept,
    grad: FlexTensor,
) {
    let x = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(kept.x));
    let s = norm_shape(&x);
    let dims = x.shape().to_vec();
    let grad = contiguous(grad);
    let g = batch_norm_backward(
        &s,
        values(&x),
        values(&kept.gamma),
        [values(&kept.mean), values(&kept.var)],
        kept.epsilon,
        kept.relu_out.as_ref().map(values),
        values(&grad),
        node_residual.is_some(),
    );
    if let Some(node) = node_x {
        grads.register::<Flex>(node, flex_tensor(g.x, dims.clone()));
    }
    if let Some(node) = node_gamma {
        grads.register::<Flex>(node, flex_tensor(g.gamma, vec![s.c]));
    }
    if let Some(node) = node_beta {
        grads.register::<Flex>(node, flex_tensor(g.beta, vec![s.c]));
    }
    if let (Some(node), Some(gr)) = (node_residual, g.residual) {
        grads.register::<Flex>(node, flex_tensor(gr, dims));
    }
}

/// The tracked forward: runs the kernel and keeps what [`backward`] needs.
fn kept_forward(
    x_id: NodeId,
    inputs: [FlexTensor; 3],
    residual: Option<FlexTensor>,
    epsilon: f64,
    relu: bool,
) -> (Kept, Outputs) {
    let gamma = contiguous(inputs[1].clone());
    let (out, mean, var) = forward(inputs, residual, epsilon, relu);
    let kept = Kept {
        x: x_id,
        gamma,
        mean: mean.clone(),
        var: var.clone(),
        epsilon,
        relu_out: relu.then(|| out.clone()),
    };
    (kept, (out, mean, var))
}

type AutodiffOutputs<C> = (
    FloatTensor<Autodiff<Flex, C>>,
    FloatTensor<Autodiff<Flex, C>>,
    FloatTensor<Autodiff<Flex, C>>,
);

impl<C: CheckpointStrategy> NormBackend for Autodiff<Flex, C> {
    fn reponet_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> AutodiffOutputs<C> {
        let prep = NormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful();
        tracked_forward(prep, [x, gamma, beta], None, epsilon, relu)
    }

    fn reponet_batch_norm_add(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        epsilon: f64,
        relu: bool,
    ) -> AutodiffOutputs<C> {
        let prep = NormAddBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node(), residual.node()])
            .compute_bound()
            .stateful();
        tracked_forward(prep, [x, gamma, beta], Some(residual), epsilon, relu)
    }
}

/// The forward of either operation under autodiff: kept for the backward when tracked.
fn tracked_forward<BO, C, const N: usize>(
    prep: OpsKind<BO, Flex, Kept, C, N>,
    [x, gamma, beta]: [FloatTensor<Autodiff<Flex, C>>; 3],
    residual: Option<FloatTensor<Autodiff<Flex, C>>>,
    epsilon: f64,
    relu: bool,
) -> AutodiffOutputs<C>
where
    BO: Backward<Flex, N, State = Kept>,
    C: CheckpointStrategy,
{
    let residual = residual.map(|r| r.into_primitive());
    match prep {
        OpsKind::Tracked(mut prep) => {
            let x_id = prep.checkpoint(&x);
            let inputs = [x, gamma, beta].map(|t| t.into_primitive());
            let (kept, (out, mean, var)) = kept_forward(x_id, inputs, residual, epsilon, relu);
            (
                prep.finish(kept, out),
                constant::<C>(mean),
                constant::<C>(var),
            )
        }
        OpsKind::UnTracked(prep) => {
            let inputs = [x, gamma, beta].map(|t| t.into_primitive());
            let (out, mean, var) = forward(inputs, residual, epsilon, relu);
            (prep.finish(out), constant::<C>(mean), constant::<C>(var))
        }
    }
}

/// A statistic as a constant of the graph (the running statistics detach it anyway).
fn constant<C: CheckpointStrategy>(t: FlexTensor) -> FloatTensor<Autodiff<Flex, C>> {
    <Autodiff<Flex, C> as burn::backend::AutodiffBackend>::from_inner(t)
}
