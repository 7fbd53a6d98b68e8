//! The convolution (alone, or with PReLU and pooling) as a Burn backend extension: the flex
//! backend runs [`crate::kernels`] forward, and its autodiff decorator registers one
//! backward node that runs their backward, so the rest of the graph (the linear layer, the
//! head, the loss, Adam) stays Burn's.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Autodiff, Backend, Flex, TensorMetadata};

use crate::flex::{contiguous, flex_tensor, values};
use crate::kernels::{conv2d_backward, conv2d_forward, After, ConvShape, Wanted};

/// A float32 2-D convolution with no dilation and one group: input `[n, c, h, w]`, weight
/// `[o, c, kh, kw]`, bias `[o]`, zero padding `padding_h` rows and `padding_w` columns on
/// each side, strides `stride_h` and `stride_w` (LeNet++'s convolution + PReLU: stride 1).
#[backend_extension(Flex, Autodiff)]
pub trait ConvBackend: Backend {
    /// The convolution's output `[n, o, oh, ow]`.
    fn reponet_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
        stride_h: usize,
        stride_w: usize,
    ) -> FloatTensor<Self>;

    /// The same convolution followed by PReLU with slopes `alpha` (`[1]` or `[o]`) and, if
    /// `pool`, 2x2 max pooling with stride 2, as one operation: one backward node instead
    /// of Burn's PReLU and pooling graphs (masks, selects, indices, scatters).
    fn reponet_conv2d_prelu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
        pool: bool,
    ) -> FloatTensor<Self>;

    /// The convolution, then a ReLU, as one pass (a ResNet's convolution at inference,
    /// its batch norm folded into `weight` and `bias`). Not differentiated through the
    /// fused kernel: under autodiff it is the convolution and Burn's ReLU.
    fn reponet_conv2d_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding: (usize, usize),
        stride: (usize, usize),
    ) -> FloatTensor<Self>;

    /// The convolution, then `residual` (the output's shape) added and a ReLU, as one
    /// pass: a ResNet block's last convolution at inference, as above. (A second operation
    /// rather than an optional residual for the reason `NormBackend` gives: Burn 0.22.1's
    /// extension macro does not unwrap an `Option` of tensors from the dispatch.)
    fn reponet_conv2d_add_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        padding: (usize, usize),
        stride: (usize, usize),
    ) -> FloatTensor<Self>;
}

/// Padding and stride (rows, columns) and whether 2x2 pooling follows.
#[derive(Debug, Clone, Copy)]
struct Options {
    padding: (usize, usize),
    stride: (usize, usize),
    pool: bool,
}

impl Options {
    /// A convolution alone ([`ConvBackend::reponet_conv2d`]).
    fn conv(padding: (usize, usize), stride: (usize, usize)) -> Self {
        Self {
            padding,
            stride,
            pool: false,
        }
    }

    /// Convolution + PReLU (+ pooling), stride 1 ([`ConvBackend::reponet_conv2d_prelu`]).
    fn prelu(padding: (usize, usize), pool: bool) -> Self {
        Self {
            padding,
            stride: (1, 1),
            pool,
        }
    }
}

fn conv_shape(x: &FlexTensor, weight: &FlexTensor, options: Options) -> ConvShape {
    let (xs, ws) = (x.shape(), weight.shape());
    let ((ph, pw), (sh, sw)) = (options.padding, options.stride);
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
        sh,
        sw,
    }
}

/// The forward on flex tensors: the output, and the pre-activation when `keep` (PReLU).
fn forward(
    inputs: [FlexTensor; 3],
    alpha: Option<FlexTensor>,
    options: Options,
    keep: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    forward_then(inputs, alpha, (None, false), options, keep)
}

/// [`forward`], then the residual added and the ReLU, as asked (`end`).
fn forward_then(
    [x, weight, bias]: [FlexTensor; 3],
    alpha: Option<FlexTensor>,
    (residual, relu): (Option<FlexTensor>, bool),
    options: Options,
    keep: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let s = conv_shape(&x, &weight, options);
    let pool = options.pool;
    let (x, weight, bias) = (contiguous(x), contiguous(weight), contiguous(bias));
    let (alpha, residual) = (alpha.map(contiguous), residual.map(contiguous));
    let after = After {
        bias: Some(values(&bias)),
        prelu: alpha.as_ref().map(values),
        pool,
        residual: residual.as_ref().map(values),
        relu,
    };
    let f = conv2d_forward(&s, values(&x), values(&weight), after, keep);
    let (oh, ow) = s.out_size(pool);
    let pre = f
        .pre_activation
        .map(|pre| flex_tensor(pre, [s.n, s.o, s.oh(), s.ow()]));
    (flex_tensor(f.out, [s.n, s.o, oh, ow]), pre)
}

impl ConvBackend for Flex {
    fn reponet_conv2d(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        padding_h: usize,
        padding_w: usize,
        stride_h: usize,
        stride_w: usize,
    ) -> FlexTensor {
        let options = Options::conv((padding_h, padding_w), (stride_h, stride_w));
        forward([x, weight, bias], None, options, false).0
    }

    fn reponet_conv2d_prelu(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        alpha: FlexTensor,
        padding_h: usize,
        padding_w: usize,
        pool: bool,
    ) -> FlexTensor {
        let options = Options::prelu((padding_h, padding_w), pool);
        forward([x, weight, bias], Some(alpha), options, false).0
    }

    fn reponet_conv2d_relu(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        padding: (usize, usize),
        stride: (usize, usize),
    ) -> FlexTensor {
        let options = Options::conv(padding, stride);
        forward_then([x, weight, bias], None, (None, true), options, false).0
    }

    fn reponet_conv2d_add_relu(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        residual: FlexTensor,
        padding: (usize, usize),
        stride: (usize, usize),
    ) -> FlexTensor {
        let options = Options::conv(padding, stride);
        let end = (Some(residual), true);
        forward_then([x, weight, bias], None, end, options, false).0
    }
}

/// The backward node of a convolution: the input and weight are kept (checkpointed) for
/// it; the bias's gradient needs only the output gradient.
#[derive(Debug)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = (NodeId, NodeId, Options);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, options) = ops.state;
        let [node_x, node_weight, node_bias] = ops.parents.map(|node| node.map(|node| node.id));
        let parents = [node_x, node_weight, node_bias, None];
        let kept = Kept {
            x,
            weight,
            prelu: None,
        };
        backward(parents, grads, checkpointer, kept, grad, options);
    }
}

/// The backward node of convolution + PReLU (+ pooling): keeps the input and weight
/// (checkpointed), the pre-activation and the slopes.
#[derive(Debug)]
struct ConvPreluBackward;

impl Backward<Flex, 4> for ConvPreluBackward {
    type State = (Kept, Options);

    fn backward(
        self,
        ops: Ops<Self::State, 4>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (kept, options) = ops.state;
        let parents = ops.parents.map(|node| node.map(|node| node.id));
        backward(parents, grads, checkpointer, kept, grad, options);
    }
}

/// What a backward node keeps: the input's and weight's checkpoints, and for PReLU the
/// pre-activation and the slopes.
#[derive(Debug, Clone)]
struct Kept {
    x: NodeId,
    weight: NodeId,
    prelu: Option<(FlexTensor, FlexTensor)>,
}

/// Registers the gradients of the parents (their node ids, `None` where no gradient is
/// wanted: input, weight, bias, PReLU slopes) from the gradient `grad` of the output.
fn backward(
    [node_x, node_weight, node_bias, node_alpha]: [Option<NodeId>; 4],
    grads: &mut Gradients,
    checkpointer: &mut Checkpointer,
    kept: Kept,
    grad: FlexTensor,
    options: Options,
) {
    let grad = contiguous(grad);
    let x = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(kept.x));
    let weight = contiguous(checkpointer.retrieve_node_output::<FlexTensor>(kept.weight));
    let s = conv_shape(&x, &weight, options);
    let wanted = Wanted {
        x: node_x.is_some(),
        weight: node_weight.is_some(),
        bias: node_bias.is_some(),
        alpha: node_alpha.is_some(),
    };
    let after = After {
        bias: None,
        prelu: kept.prelu.as_ref().map(|(_, alpha)| values(alpha)),
        pool: options.pool,
        ..After::default()
    };
    let pre = kept.prelu.as_ref().map(|(pre, _)| values(pre));
    let (x, weight, grad) = (values(&x), values(&weight), values(&grad));
    let g = conv2d_backward(&s, x, weight, grad, (after, pre), wanted);
    let as_tensor = |v: Vec<f32>| {
        let len = v.len();
        flex_tensor(v, [len])
    };
    if let (Some(node), Some(gx)) = (node_x, g.x) {
        grads.register::<Flex>(node, flex_tensor(gx, [s.n, s.c, s.h, s.w]));
    }
    if let (Some(node), Some(gw)) = (node_weight, g.weight) {
        grads.register::<Flex>(node, flex_tensor(gw, [s.o, s.c, s.kh, s.kw]));
    }
    if let (Some(node), Some(gb)) = (node_bias, g.bias) {
        grads.register::<Flex>(node, as_tensor(gb));
    }
    if let (Some(node), Some(ga)) = (node_alpha, g.alpha) {
        grads.register::<Flex>(node, as_tensor(ga));
    }
}

impl<C: CheckpointStrategy> ConvBackend for Autodiff<Flex, C> {
    fn reponet_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
        stride_h: usize,
        stride_w: usize,
    ) -> FloatTensor<Self> {
        let prep = ConvBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful();
        let options = Options::conv((padding_h, padding_w), (stride_h, stride_w));
        match prep {
            OpsKind::Tracked(mut prep) => {
                let state = (prep.checkpoint(&x), prep.checkpoint(&weight), options);
                let inputs = [x, weight, bias].map(|t| t.into_primitive());
                prep.finish(state, forward(inputs, None, options, false).0)
            }
            OpsKind::UnTracked(prep) => {
                let inputs = [x, weight, bias].map(|t| t.into_primitive());
                prep.finish(forward(inputs, None, options, false).0)
            }
        }
    }

    fn reponet_conv2d_prelu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        alpha: FloatTensor<Self>,
        padding_h: usize,
        padding_w: usize,
        pool: bool,
    ) -> FloatTensor<Self> {
        let prep = ConvPreluBackward
            .prepare::<C>([x.node(), weight.node(), bias.node(), alpha.node()])
            .compute_bound()
            .stateful();
        let options = Options::prelu((padding_h, padding_w), pool);
        match prep {
            OpsKind::Tracked(mut prep) => {
                let (x_id, weight_id) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                let alpha = contiguous(alpha.into_primitive());
                let inputs = [x, weight, bias].map(|t| t.into_primitive());
                let (out, pre) = forward(inputs, Some(alpha.clone()), options, true);
                let pre = pre.expect("PReLU keeps its pre-activation when asked");
                let kept = Kept {
                    x: x_id,
                    weight: weight_id,
                    prelu: Some((pre, alpha)),
                };
                prep.finish((kept, options), out)
            }
            OpsKind::UnTracked(prep) => {
                let inputs = [x, weight, bias].map(|t| t.into_primitive());
                let alpha = Some(alpha.into_primitive());
                prep.finish(forward(inputs, alpha, options, false).0)
            }
        }
    }

    fn reponet_conv2d_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        (padding_h, padding_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
    ) -> FloatTensor<Self> {
        let y = Self::reponet_conv2d(x, weight, bias, padding_h, padding_w, stride_h, stride_w);
        Self::relu(y)
    }

    fn reponet_conv2d_add_relu(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        residual: FloatTensor<Self>,
        (padding_h, padding_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
    ) -> FloatTensor<Self> {
        let y = Self::reponet_conv2d(x, weight, bias, padding_h, padding_w, stride_h, stride_w);
        Self::relu(Self::float_add(y, residual))
    }
}
