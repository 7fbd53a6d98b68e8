//! The residual networks of He et al. (CVPR 2016): the CIFAR family (`resnet20` to
//! `resnet110`: 16/32/64 channels, identity shortcuts that subsample and pad with zero
//! channels, "option A") and the ImageNet family (`resnet18`, `resnet34` with basic blocks,
//! `resnet50` with bottlenecks, projection shortcuts), each ending in global average
//! pooling and a linear layer to the polytope's d.

use std::collections::BTreeMap;

use burn::module::{Module, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};
use reponet_conv::{conv2d_batch_norm, ConvKernels};
use serde::{Deserialize, Serialize};

use super::pretrained::{WeightFile, WeightsError};
use super::NamedTensor;
use crate::data::ImageShape;

/// Which layers open the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Stem {
    /// `cifar` up to 64 pixels a side, `imagenet` above.
    #[default]
    Auto,
    /// One 3x3 convolution, stride 1, no pooling: small images keep their resolution.
    Cifar,
    /// A 7x7 convolution with stride 2, then a 3x3 max-pool with stride 2 (torchvision's).
    Imagenet,
}

impl Stem {
    /// Sides above this get the ImageNet stem under `auto`.
    pub const CIFAR_MAX_SIDE: usize = 64;

    /// `auto` made concrete for images of `input`'s shape.
    pub fn resolve(self, input: ImageShape) -> Self {
        match self {
            Self::Auto if input.rows.max(input.cols) > Self::CIFAR_MAX_SIDE => Self::Imagenet,
            Self::Auto => Self::Cifar,
            other => other,
        }
    }
}

/// The architecture of one ResNet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResNetSpec {
    /// Residual blocks per stage.
    pub blocks: &'static [usize],
    /// Output channels of each stage's 3x3 convolutions (a bottleneck's middle width).
    pub widths: &'static [usize],
    /// Bottleneck blocks (1x1, 3x3, 1x1, four times wider out) instead of basic ones.
    pub bottleneck: bool,
    /// The CIFAR family: 16 stem channels and option-A shortcuts, never the ImageNet stem.
    pub cifar: bool,
}

impl ResNetSpec {
    /// The CIFAR ResNet of `depth` = 6n + 2 layers: n basic blocks in each of 3 stages.
    pub const fn cifar(depth: usize) -> Self {
        let blocks: &'static [usize] = match depth {
            20 => &[3, 3, 3],
            32 => &[5, 5, 5],
            44 => &[7, 7, 7],
            56 => &[9, 9, 9],
            _ => &[18, 18, 18],
        };
        Self {
            blocks,
            widths: &[16, 32, 64],
            bottleneck: false,
            cifar: true,
        }
    }

    /// torchvision's ResNet-18, -34 or -50.
    pub const fn imagenet(depth: usize) -> Self {
        Self {
            blocks: match depth {
                18 => &[2, 2, 2, 2],
                _ => &[3, 4, 6, 3],
            },
            widths: &[64, 128, 256, 512],
            bottleneck: depth >= 50,
            cifar: false,
        }
    }

    fn expansion(&self) -> usize {
        if self.bottleneck {
            4
        } else {
            1
        }
    }

    /// Channels of the pooled feature (64 for the CIFAR family, 512 or 2048).
    pub fn pooled_channels(&self) -> usize {
        self.widths[self.widths.len() - 1] * self.expansion()
    }

    /// Values one image's convolutions output with `stem` (concrete) on `input`: what a
    /// training step keeps per image, scaled by how many tensors each layer keeps.
    pub fn conv_output_values(&self, stem: Stem, input: ImageShape) -> usize {
        let stem_width = if self.cifar { 16 } else { 64 };
        let (mut rows, mut cols) = (input.rows, input.cols);
        let half = |n: usize| n.div_ceil(2);
        if stem == Stem::Imagenet {
            (rows, cols) = (half(rows), half(cols));
        }
        let mut total = stem_width * rows * cols;
        if stem == Stem::Imagenet {
            (rows, cols) = (half(rows), half(cols));
        }
        for (s, (&blocks, &width)) in self.blocks.iter().zip(self.widths).enumerate() {
            if s > 0 {
                (rows, cols) = (half(rows), half(cols));
            }
            let per_block = if self.bottleneck {
                2 * width + 4 * width
            } else {
                2 * width
            };
            // The first block's projection shortcut outputs as much again as its last conv.
            total += blocks * per_block * rows * cols;
        }
        total
    }

    /// How much the stem and the strided stages shrink each side.
    pub fn downsampling(&self, stem: Stem) -> usize {
        let stages = 1 << (self.widths.len() - 1);
        match stem {
            Stem::Imagenet => 4 * stages,
            _ => stages,
        }
    }
}

fn conv(inputs: usize, outputs: usize, kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new([inputs, outputs], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        // torchvision: kaiming_normal_(mode="fan_out", nonlinearity="relu").
        .with_initializer(Initializer::KaimingNormal {
            gain: std::f64::consts::SQRT_2,
            fan_out_only: true,
        })
        .init(device)
}

fn batch_norm(channels: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels).init(device)
}

/// A convolution and its batch norm, applied in turn.
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    bn: BatchNorm,
}

impl ConvBn {
    fn new(inputs: usize, outputs: usize, kernel: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv: conv(inputs, outputs, kernel, stride, device),
            bn: batch_norm(outputs, device),
        }
    }

    /// `relu(bn(conv(x)) + residual)`, the residual and the ReLU as asked: one fused
    /// operation on reponet's kernels.
    fn forward(
        &self,
        kernels: ConvKernels,
        x: Tensor<4>,
        residual: Option<Tensor<4>>,
        relu: bool,
    ) -> Tensor<4> {
        conv2d_batch_norm(kernels, &self.conv, &self.bn, x, residual, relu)
    }

    /// torchvision's names: `{conv}.weight`, then the batch norm's under `bn`.
    fn named_tensors(&self, conv: &str, bn: &str, out: &mut Vec<NamedTensor>) {
        out.push(NamedTensor::of(
            format!("{conv}.weight"),
            self.conv.weight.val(),
        ));
        batch_norm_tensors(&self.bn, bn, out);
    }
}

/// A parameter replaced by `values` (its shape, id and trainability kept).
fn replace<const D: usize>(param: &mut Param<Tensor<D>>, values: Vec<f32>) {
    let p = param.clone();
    *param = p.map(|t| {
        // A tensor made from data tracks no gradient until asked to, as the one it replaces.
        let tracked = t.is_require_grad();
        Tensor::from_data(TensorData::new(values, t.shape()), &t.device()).set_require_grad(tracked)
    });
}

/// A running statistic replaced by `values` (`update` alone only queues them for the next
/// synchronisation).
fn running<const D: usize>(state: &RunningState<Tensor<D>>, values: Vec<f32>) {
    let t = state.value();
    state.update(Tensor::from_data(
        TensorData::new(values, t.shape()),
        &t.device(),
    ));
    state.value_sync();
}

/// Takes a named tensor's values out of a checked set ([`WeightFile::take`] made sure every
/// name is there).
struct Source(BTreeMap<String, Vec<f32>>);

impl Source {
    fn take(&mut self, name: &str) -> Vec<f32> {
        self.0
            .remove(name)
            .expect("names checked against the network")
    }

    fn conv_bn(&mut self, layer: &mut ConvBn, conv: &str, bn: &str) {
        replace(&mut layer.conv.weight, self.take(&format!("{conv}.weight")));
        replace(&mut layer.bn.gamma, self.take(&format!("{bn}.weight")));
        replace(&mut layer.bn.beta, self.take(&format!("{bn}.bias")));
        running(
            &layer.bn.running_mean,
            self.take(&format!("{bn}.running_mean")),
        );
        running(
            &layer.bn.running_var,
            self.take(&format!("{bn}.running_var")),
        );
    }
}

fn batch_norm_tensors(bn: &BatchNorm, name: &str, out: &mut Vec<NamedTensor>) {
    out.push(NamedTensor::of(format!("{name}.weight"), bn.gamma.val()));
    out.push(NamedTensor::of(format!("{name}.bias"), bn.beta.val()));
    out.push(NamedTensor::of(
        format!("{name}.running_mean"),
        bn.running_mean.value(),
    ));
    out.push(NamedTensor::of(
        format!("{name}.running_var"),
        bn.running_var.value(),
    ));
}

/// How a block's input reaches its output when the shape changes (without one: the input
/// itself).
// Burn's Module derive takes variants by value (no Box); one per block.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Shortcut {
    /// Option A (CIFAR family): every second pixel, and `pad` zero channels on each side.
    SubsamplePad(SubsamplePad),
    /// Option B (ImageNet family): a strided 1x1 convolution and batch norm.
    Projection(ConvBn),
}

/// Option A's parameter-free shortcut.
#[derive(Module, Debug)]
pub struct SubsamplePad {
    pool: MaxPool2d,
    pad: usize,
}

impl Shortcut {
    fn forward(&self, kernels: ConvKernels, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::SubsamplePad(s) => {
                // A 1x1 max-pool with stride 2 keeps pixels (0, 0), (0, 2), ...: x[:, :, ::2, ::2].
                let x = s.pool.forward(x);
                let [n, _, h, w] = x.dims();
                let zeros = Tensor::zeros([n, s.pad, h, w], &x.device());
                Tensor::cat(vec![zeros.clone(), x, zeros], 1)
            }
            Self::Projection(p) => p.forward(kernels, x, None, false),
        }
    }
}

/// One residual block: two 3x3 convolutions (basic) or 1x1, 3x3, 1x1 (bottleneck, the
/// stride on the 3x3 as torchvision has it), each with batch norm, ReLU between them and
/// after the sum with the shortcut.
#[derive(Module, Debug)]
pub struct Block {
    layers: Vec<ConvBn>,
    shortcut: Option<Shortcut>,
}

impl Block {
    fn new(spec: &ResNetSpec, inputs: usize, width: usize, stride: usize, device: &Device) -> Self {
        let outputs = width * spec.expansion();
        let layers = if spec.bottleneck {
            vec![
                ConvBn::new(inputs, width, 1, 1, device),
                ConvBn::new(width, width, 3, stride, device),
                ConvBn::new(width, outputs, 1, 1, device),
            ]
        } else {
            vec![
                ConvBn::new(inputs, width, 3, stride, device),
                ConvBn::new(width, width, 3, 1, device),
            ]
        };
        let shortcut = if stride == 1 && inputs == outputs {
            None
        } else if spec.cifar {
            Some(Shortcut::SubsamplePad(SubsamplePad {
                pool: MaxPool2dConfig::new([1, 1])
                    .with_strides([stride, stride])
                    .init(),
                pad: (outputs - inputs) / 2,
            }))
        } else {
            Some(Shortcut::Projection(ConvBn::new(
                inputs, outputs, 1, stride, device,
            )))
        };
        Self { layers, shortcut }
    }

    fn forward(&self, kernels: ConvKernels, x: Tensor<4>) -> Tensor<4> {
        let skip = match &self.shortcut {
            Some(shortcut) => shortcut.forward(kernels, x.clone()),
            None => x.clone(),
        };
        // The last convolution's batch norm adds the shortcut before its ReLU.
        let (last, first) = self.layers.split_last().expect("a block has convolutions");
        let y = first
            .iter()
            .fold(x, |y, layer| layer.forward(kernels, y, None, true));
        last.forward(kernels, y, Some(skip), true)
    }

    fn load(&mut self, prefix: &str, source: &mut Source) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let n = i + 1;
            source.conv_bn(
                layer,
                &format!("{prefix}.conv{n}"),
                &format!("{prefix}.bn{n}"),
            );
        }
        if let Some(Shortcut::Projection(p)) = &mut self.shortcut {
            source.conv_bn(
                p,
                &format!("{prefix}.downsample.0"),
                &format!("{prefix}.downsample.1"),
            );
        }
    }

    fn named_tensors(&self, prefix: &str, out: &mut Vec<NamedTensor>) {
        for (i, layer) in self.layers.iter().enumerate() {
            let n = i + 1;
            layer.named_tensors(
                &format!("{prefix}.conv{n}"),
                &format!("{prefix}.bn{n}"),
                out,
            );
        }
        if let Some(Shortcut::Projection(p)) = &self.shortcut {
            p.named_tensors(
                &format!("{prefix}.downsample.0"),
                &format!("{prefix}.downsample.1"),
                out,
            );
        }
    }
}

/// A ResNet from the image to the d-dimensional feature: stem, stages of residual blocks,
/// global average pooling, a linear layer to d and a batch norm of the d values.
///
/// The last batch norm is ArcFace's ("FC-BN" output, Deng et al. 2019), and the margin
/// loss needs it here: pooled ReLU activations are all positive and alike at the start, so
/// the linear layer maps every image to about the same direction; the fixed head's margin
/// loss then sits at its flat point (target angle past pi - m, gradient near zero) and
/// never leaves it (measured: resnet20 with the cube, loss 45 from the first step to the
/// last, at lr 0.1 and 0.01 alike). Centring each feature over the batch spreads the
/// images over all directions from the first step.
#[derive(Module, Debug)]
pub struct ResNet {
    stem: ConvBn,
    stem_pool: Option<MaxPool2d>,
    stages: Vec<Vec<Block>>,
    embed: Linear,
    embed_bn: BatchNorm,
    /// Whose kernels run the convolutions on the CPU: state of this process, not a weight.
    #[module(skip)]
    conv_kernels: ConvKernels,
}

impl ResNet {
    /// A ResNet of `spec` for images of `input`'s shape with the concrete `stem`, its
    /// weights drawn as torchvision draws them: convolutions Kaiming-normal (fan-out, gain
    /// sqrt 2), batch norm scale 1 and shift 0, the linear layer uniform in +-1/sqrt(fan-in).
    ///
    /// # Panics
    /// If a side of `input` is below `spec.downsampling(stem)` (configurations check first).
    pub fn new(
        spec: &ResNetSpec,
        stem: Stem,
        feature_dim: usize,
        input: ImageShape,
        device: &Device,
    ) -> Self {
        let min = spec.downsampling(stem);
        assert!(
            input.rows >= min && input.cols >= min,
            "this ResNet needs images of at least {min} x {min}, not {input}"
        );
        let stem_width = if spec.cifar { 16 } else { 64 };
        let (stem, stem_pool) = match stem {
            Stem::Imagenet => (
                ConvBn::new(input.channels, stem_width, 7, 2, device),
                Some(
                    MaxPool2dConfig::new([3, 3])
                        .with_strides([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(),
                ),
            ),
            _ => (ConvBn::new(input.channels, stem_width, 3, 1, device), None),
        };
        let mut inputs = stem_width;
        let mut stages = Vec::new();
        for (s, (&blocks, &width)) in spec.blocks.iter().zip(spec.widths).enumerate() {
            let mut stage = Vec::new();
            for b in 0..blocks {
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                stage.push(Block::new(spec, inputs, width, stride, device));
                inputs = width * spec.expansion();
            }
            stages.push(stage);
        }
        Self {
            stem,
            stem_pool,
            stages,
            embed: LinearConfig::new(inputs, feature_dim)
                .with_initializer(Initializer::KaimingUniform {
                    gain: 1.0 / 3f64.sqrt(),
                    fan_out_only: false,
                })
                .init(device),
            embed_bn: batch_norm(feature_dim, device),
            conv_kernels: ConvKernels::default(),
        }
    }

    /// The same network, running its convolutions on the CPU through `kernels`.
    pub fn with_conv_kernels(mut self, kernels: ConvKernels) -> Self {
        self.conv_kernels = kernels;
        self
    }

    /// The pooled features `[N, channels]` before the linear layer to d.
    pub fn pooled(&self, images: Tensor<4>) -> Tensor<2> {
        let kernels = self.conv_kernels;
        let mut x = self.stem.forward(kernels, images, None, true);
        if let Some(pool) = &self.stem_pool {
            x = pool.forward(x);
        }
        for block in self.stages.iter().flatten() {
            x = block.forward(kernels, x);
        }
        let [n, c, _, _] = x.dims();
        x.flatten::<3>(2, 3).mean_dim(2).reshape([n, c])
    }

    /// Features `[N, d]` of images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.embed_bn
            .forward(self.embed.forward(self.pooled(images)))
    }

    /// Every weight and batch-norm statistic under torchvision's names (`conv1.weight`,
    /// `bn1.*`, `layer1.0.conv1.weight`, `layer1.0.downsample.0.weight`, ...); the linear
    /// layer to d as `fc.weight` `[d, channels]` and `fc.bias`. The CIFAR family has no
    /// downsample tensors (option A has none). The batch norm of the features is `fc_bn`.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut all = Vec::new();
        self.stem.named_tensors("conv1", "bn1", &mut all);
        for (s, stage) in self.stages.iter().enumerate() {
            for (b, block) in stage.iter().enumerate() {
                block.named_tensors(&format!("layer{}.{b}", s + 1), &mut all);
            }
        }
        all.push(NamedTensor::of(
            "fc.weight".into(),
            self.embed.weight.val().transpose(),
        ));
        if let Some(bias) = &self.embed.bias {
            all.push(NamedTensor::of("fc.bias".into(), bias.val()));
        }
        batch_norm_tensors(&self.embed_bn, "fc_bn", &mut all);
        all
    }

    /// Whether the stem is torchvision's (7x7 stride 2, max-pool).
    pub fn has_imagenet_stem(&self) -> bool {
        self.stem_pool.is_some()
    }

    /// The network with everything before the projection to d (stem and stages) taken from
    /// `weights`, under torchvision's names (timm's are the same): each tensor there with
    /// its shape, nothing else there but the file's own classifier (`fc.*`) and batch
    /// counters. `model` names the network in errors.
    pub fn with_pretrained(
        mut self,
        weights: &WeightFile,
        model: &str,
    ) -> Result<Self, WeightsError> {
        let body: Vec<(String, Vec<usize>)> = self
            .named_tensors()
            .into_iter()
            .filter(|t| !t.name.starts_with("fc"))
            .map(|t| (t.name, t.shape))
            .collect();
        let values = weights.take(model, &body, |name| {
            name.starts_with("fc.") || name.ends_with(".num_batches_tracked")
        })?;
        let mut source = Source(values);
        source.conv_bn(&mut self.stem, "conv1", "bn1");
        for (s, stage) in self.stages.iter_mut().enumerate() {
            for (b, block) in stage.iter_mut().enumerate() {
                block.load(&format!("layer{}.{b}", s + 1), &mut source);
            }
        }
        Ok(self)
    }

    /// The network with its stem and stages frozen: no gradients, batch norm on its running
    /// statistics; the projection to d and its batch norm still train (a linear probe).
    pub fn with_frozen_body(mut self) -> Self {
        self.stem = self.stem.freeze();
        self.stages = self.stages.freeze();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Option A: `x[:, :, ::2, ::2]` with `pad` zero channels before and after, as the
    /// CIFAR ResNets' `F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad))`.
    #[test]
    fn option_a_subsamples_and_pads_with_zero_channels() {
        let device = Device::flex();
        let (c, h, w) = (2, 5, 4);
        let values: Vec<f32> = (0..c * h * w).map(|v| v as f32 + 1.0).collect();
        let x = Tensor::<4>::from_data(TensorData::new(values.clone(), [1, c, h, w]), &device);
        let shortcut = Shortcut::SubsamplePad(SubsamplePad {
            pool: MaxPool2dConfig::new([1, 1]).with_strides([2, 2]).init(),
            pad: 1,
        });
        let y = shortcut.forward(ConvKernels::Reponet, x);
        assert_eq!(y.dims(), [1, 4, 3, 2]);
        let got: Vec<f32> = y.into_data().iter::<f32>().collect();
        let mut want = vec![0.0; 6];
        for ch in 0..c {
            for r in (0..h).step_by(2) {
                for col in (0..w).step_by(2) {
                    want.push(values[ch * h * w + r * w + col]);
                }
            }
        }
        want.extend([0.0; 6]);
        assert_eq!(got, want);
    }
}
