//! The convolution as a Burn backend extension: the flex backend runs [`super::kernels`]
//! forward, and its autodiff decorator registers a backward node that runs their backward,
//! so the rest of the graph (PReLU, pooling, the head, Adam) stays Burn's.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, TensorMetadata};
use burn::tensor::TensorData;

use super::kernels::{
    conv2d_backward, conv2d_forward, prelu_backward, prelu_forward, ConvShape, Wanted,
};

/// A float32 2-D convolution with stride 1, no dilation and one group: input
/// `[n, c, h, w]`, weight `[o, c, kh, kw]`, bias `[o]`, zero padding `padding_h` rows and
/// `padding_w` columns on each side.
#[backend_extension(Flex, Autodiff)]
pub trait ConvBackend: Backend {
    /// The convolution's output `[n, o, oh, ow]`.
    fn reponet_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
    ) -> FloatTensor<Self>;

    /// The same convolution followed by PReLU with slopes `alpha` (`[1]` or `[o]`), as one
    /// operation: one backward node instead of Burn's PReLU graph (masks, selects, sums).
    fn reponet_conv2d_prelu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
    ) -> FloatTensor<Self>;
}

fn conv_shape(x: &FlexTensor, weight: &FlexTensor, ph: usize, pw: usize) -> ConvShape {
    let (xs, ws) = (x.shape(), weight.shape());
    ConvShape {
        n: xs[0],
        c: xs[1],
        h: xs[2],
        w: xs[3],
        o: ws[0],
        kh: ws[2],
        kw: ws[3],
        ph,
        pw,
    }
}

/// The tensor's float32 values in row-major order (a copy only if it is a strided view).
fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("reponet_conv2d: float32 tensors only (the caller checks)")
}

fn flex_tensor(values: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl ConvBackend for Flex {
    fn reponet_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        padding_h: usize,
        padding_w: usize,
    ) -> FlexTensor {
        let s = conv_shape(&x, &weight, padding_h, padding_w);
        let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
        let out = conv2d_forward(&s, values(&x), values(&weight), Some(values(&bias)));
        flex_tensor(out, [s.n, s.o, s.oh(), s.ow()])
    }

    fn reponet_conv2d_prelu(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        alpha: FlexTensor,
        padding_h: usize,
        padding_w: usize,
    ) -> FlexTensor {
        let z = Self::reponet_conv2d(x, weight, bias, padding_h, padding_w);
        prelu(z, &contiguous(alpha))
    }
}

/// PReLU of a convolution's output `z`, in place where `z` is not shared (inference).
fn prelu(mut z: FlexTensor, alpha: &FlexTensor) -> FlexTensor {
    let shape = z.shape();
    prelu_forward(z.storage_mut::<f32>(), values(alpha), shape[2] * shape[3]);
    z
}

/// The backward node: the input and weight are kept (checkpointed) for it; the bias's
/// gradient needs only the output gradient.
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (NodeId, NodeId, usize, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, ph, pw) = ops.state;
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        conv_backward(parents, grads, checkpointer, (x, weight), grad, (ph, pw));
    }
}

/// Registers the gradients of a convolution's parents (their node ids, `None` where no
/// gradient is wanted): input, weight, bias, from the
/// gradient `grad` of its output.
fn conv_backward(
    [node_x, node_weight, node_bias]: [Option<NodeId>; 3],
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
    (x_id, weight_id): (NodeId, NodeId),
    grad: FlexTensor,
    (ph, pw): (usize, usize),
) {
    let grad = contiguous(grad);
    let x = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(x_id));
    let weight = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(weight_id));
    let s = conv_shape(&x, &weight, ph, pw);
    let wanted = Wanted {
        x: node_x.is_some(),
        weight: node_weight.is_some(),
        bias: node_bias.is_some(),
    };
    let g = conv2d_backward(&s, values(&x), values(&weight), values(&grad), wanted);
    if let (Some(node), Some(gx)) = (node_x, g.x) {
        grads.register::<Flex>(node, flex_tensor(gx, [s.n, s.c, s.h, s.w]));
    }
    if let (Some(node), Some(gw)) = (node_weight, g.weight) {
        grads.register::<Flex>(node, flex_tensor(gw, [s.o, s.c, s.kh, s.kw]));
    }
    if let (Some(node), Some(gb)) = (node_bias, g.bias) {
        grads.register::<Flex>(node, FlexTensor::from_data(TensorData::new(gb, [s.o])));
    }
}

/// The backward node of convolution + PReLU: keeps the input and weight (checkpointed),
/// the pre-activation and the slopes.
#[derive(Debug)]
struct ConvPreluBackward;

impl Backward<Flex, 4> for ConvPreluBackward {
    type State = (NodeId, NodeId, FlexTensor, FlexTensor, usize, usize);

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias, node_alpha] = ops.parents;
        let grad = contiguous(grads.consume::<Flex>(&ops.node));
        let (x, weight, z, alpha, ph, pw) = ops.state;
        let shape = z.shape();
        let (gz, galpha) = prelu_backward(
            values(&z),
            values(&alpha),
            values(&grad),
            shape[2] * shape[3],
        );
        if let Some(node) = node_alpha {
            let len = galpha.len();
            grads.register::<Flex>(
                node.id,
                FlexTensor::from_data(TensorData::new(galpha, [len])),
            );
        }
        let gz = flex_tensor(gz, [shape[0], shape[1], shape[2], shape[3]]);
        let parents = [node_x, node_weight, node_bias].map(|node| node.map(|node| node.id));
        conv_backward(parents, grads, checkpointer, (x, weight), gz, (ph, pw));
    }
}

impl<C: CheckpointStrategy> ConvBackend for Autodiff<Flex, C> {
    fn reponet_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
    ) -> FloatTensor<Self> {
        let prep = ConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(mut prep) => {
                let state = (
                    prep.checkpoint(&x),
                    prep.checkpoint(&weight),
                    padding_h,
                    padding_w,
                );
                let out = Flex::reponet_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    padding_h,
                    padding_w,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::reponet_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                padding_h,
                padding_w,
            )),
        }
    }

    fn reponet_conv2d_prelu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
    ) -> FloatTensor<Self> {
        let prep = ConvPreluBackward
            .prepare::<C>([x.node(), weight.node(), bias.node(), alpha.node()])
            .compute_bound()
            .stateful();
        match prep {
            OpsKind::Tracked(mut prep) => {
                let (x_id, weight_id) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let alpha = contiguous(alpha.into_primitive());
                let z = Flex::reponet_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    bias.into_primitive(),
                    padding_h,
                    padding_w,
                );
                let y = prelu(z.clone(), &alpha);
                prep.finish((x_id, weight_id, z, alpha, padding_h, padding_w), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::reponet_conv2d_prelu(
                x.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                alpha.into_primitive(),
                padding_h,
                padding_w,
            )),
        }
    }
}
