//! The networks that turn an image into the d-dimensional feature the head classifies.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use reponet_conv::ConvKernels;
use serde::{Deserialize, Serialize};

use super::feature_mlp::FeatureMlp;
use super::lenet::LeNetPlusPlus;
use super::pretrained::{WeightFile, WeightsError};
use super::resnet::{ResNet, ResNetSpec, Stem};
use super::NamedTensor;
use crate::data::ImageShape;

/// Which backbone a run trains (`--model`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    Serialize,
    Deserialize,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::EnumIter,
)]
#[strum(ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ModelKind {
    /// The paper's LeNet++ (Wen et al. 2016): six 5x5 convolutions with PReLU.
    #[default]
    #[serde(rename = "lenet++")]
    #[strum(serialize = "lenet++")]
    #[cfg_attr(feature = "clap", value(name = "lenet++"))]
    LenetPlusPlus,
    /// CIFAR ResNet-20 (He et al. 2016): 3 stages of 3 basic blocks, 16/32/64 channels.
    #[serde(rename = "resnet20")]
    #[strum(serialize = "resnet20")]
    #[cfg_attr(feature = "clap", value(name = "resnet20"))]
    Resnet20,
    /// CIFAR ResNet-32: 5 blocks a stage.
    #[serde(rename = "resnet32")]
    #[strum(serialize = "resnet32")]
    #[cfg_attr(feature = "clap", value(name = "resnet32"))]
    Resnet32,
    /// CIFAR ResNet-44: 7 blocks a stage.
    #[serde(rename = "resnet44")]
    #[strum(serialize = "resnet44")]
    #[cfg_attr(feature = "clap", value(name = "resnet44"))]
    Resnet44,
    /// CIFAR ResNet-56: 9 blocks a stage.
    #[serde(rename = "resnet56")]
    #[strum(serialize = "resnet56")]
    #[cfg_attr(feature = "clap", value(name = "resnet56"))]
    Resnet56,
    /// CIFAR ResNet-110: 18 blocks a stage.
    #[serde(rename = "resnet110")]
    #[strum(serialize = "resnet110")]
    #[cfg_attr(feature = "clap", value(name = "resnet110"))]
    Resnet110,
    /// torchvision's ResNet-18: basic blocks [2, 2, 2, 2], 64 to 512 channels.
    #[serde(rename = "resnet18")]
    #[strum(serialize = "resnet18")]
    #[cfg_attr(feature = "clap", value(name = "resnet18"))]
    Resnet18,
    /// torchvision's ResNet-34: basic blocks [3, 4, 6, 3].
    #[serde(rename = "resnet34")]
    #[strum(serialize = "resnet34")]
    #[cfg_attr(feature = "clap", value(name = "resnet34"))]
    Resnet34,
    /// torchvision's ResNet-50: bottleneck blocks [3, 4, 6, 3], 2048 pooled channels.
    #[serde(rename = "resnet50")]
    #[strum(serialize = "resnet50")]
    #[cfg_attr(feature = "clap", value(name = "resnet50"))]
    Resnet50,
    /// Precomputed features (`--dataset features:FILE`): one linear layer to d.
    #[serde(rename = "linear")]
    #[strum(serialize = "linear")]
    #[cfg_attr(feature = "clap", value(name = "linear"))]
    Linear,
    /// Precomputed features: a hidden layer (`--hidden N`) with batch norm and ReLU, then to d.
    #[serde(rename = "mlp")]
    #[strum(serialize = "mlp")]
    #[cfg_attr(feature = "clap", value(name = "mlp"))]
    Mlp,
}

impl ModelKind {
    /// The ResNet architecture, or `None` for LeNet++.
    pub fn resnet(self) -> Option<ResNetSpec> {
        Some(match self {
            Self::LenetPlusPlus | Self::Linear | Self::Mlp => return None,
            Self::Resnet20 => ResNetSpec::cifar(20),
            Self::Resnet32 => ResNetSpec::cifar(32),
            Self::Resnet44 => ResNetSpec::cifar(44),
            Self::Resnet56 => ResNetSpec::cifar(56),
            Self::Resnet110 => ResNetSpec::cifar(110),
            Self::Resnet18 => ResNetSpec::imagenet(18),
            Self::Resnet34 => ResNetSpec::imagenet(34),
            Self::Resnet50 => ResNetSpec::imagenet(50),
        })
    }

    /// The stem this model opens with on `input`: the CIFAR family always has the 3x3 one;
    /// LeNet++ has none (reported as `cifar`, it does not shrink the image).
    pub fn stem(self, stem: Stem, input: ImageShape) -> Stem {
        match self.resnet() {
            Some(spec) if !spec.cifar => stem.resolve(input),
            _ => Stem::Cifar,
        }
    }

    /// The smallest side this model takes with `stem`.
    pub fn min_side(self, stem: Stem, input: ImageShape) -> usize {
        match self.resnet() {
            Some(spec) => spec.downsampling(self.stem(stem, input)),
            None if self.takes_features() => 1,
            None => LeNetPlusPlus::MIN_SIDE,
        }
    }

    /// Whether it takes precomputed features (`linear`, `mlp`) rather than images.
    pub fn takes_features(self) -> bool {
        matches!(self, Self::Linear | Self::Mlp)
    }

    /// Host memory one image of a training batch needs, estimated from LeNet++'s measured
    /// figure scaled by the values the convolutions output (three tensors kept per
    /// convolution with batch norm and ReLU, one and a PReLU for LeNet++).
    pub fn train_bytes_per_image(self, stem: Stem, input: ImageShape) -> u64 {
        // LeNet++ at 28 x 28: 32 x 28 x 28 x 2 + 64 x 14 x 14 x 2 + 128 x 7 x 7 x 2.
        const LENET_28: u64 = 87_808;
        let per_lenet_value = crate::resources::TRAIN_BYTES_PER_BATCH_IMAGE_28X28 / LENET_28;
        let area = (input.rows * input.cols) as u64;
        match self.resnet() {
            // Inputs, a hidden layer and d values, a few copies each: small beside the data.
            None if self.takes_features() => 64 * input.len() as u64,
            None => crate::resources::TRAIN_BYTES_PER_BATCH_IMAGE_28X28 * area / (28 * 28),
            Some(spec) => {
                let values = spec.conv_output_values(self.stem(stem, input), input) as u64;
                3 * values * per_lenet_value
            }
        }
    }

    /// Whether the stem may be chosen (the ImageNet family's).
    pub fn has_stem_choice(self) -> bool {
        self.resnet().is_some_and(|spec| !spec.cifar)
    }
}

/// The backbone of a [`super::Network`].
// One per network, and Burn's Module derive takes variants by value (no Box).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    /// The paper's network.
    LeNet(LeNetPlusPlus),
    /// A residual network.
    ResNet(ResNet),
    /// Layers on precomputed features.
    Mlp(FeatureMlp),
}

impl Backbone {
    /// A freshly initialised `model` for `input` images, ending in `feature_dim` features.
    ///
    /// # Panics
    /// If a side of `input` is below [`ModelKind::min_side`] (configurations check first).
    pub fn new(
        model: ModelKind,
        stem: Stem,
        feature_dim: usize,
        input: ImageShape,
        device: &Device,
    ) -> Self {
        Self::with_hidden(model, stem, None, feature_dim, input, device)
    }

    /// [`Backbone::new`], with `mlp`'s hidden layers and width (`None`: one layer of
    /// [`Backbone::DEFAULT_HIDDEN`]).
    pub fn with_hidden(
        model: ModelKind,
        stem: Stem,
        hidden: Option<(usize, usize)>,
        feature_dim: usize,
        input: ImageShape,
        device: &Device,
    ) -> Self {
        let inputs = input.len();
        match model.resnet() {
            None if model == ModelKind::Linear => {
                Self::Mlp(FeatureMlp::new(inputs, (0, 0), feature_dim, device))
            }
            None if model == ModelKind::Mlp => Self::Mlp(FeatureMlp::new(
                inputs,
                hidden.unwrap_or((1, Self::DEFAULT_HIDDEN)),
                feature_dim,
                device,
            )),
            None => Self::LeNet(LeNetPlusPlus::new(feature_dim, input, device)),
            Some(spec) => Self::ResNet(ResNet::new(
                &spec,
                model.stem(stem, input),
                feature_dim,
                input,
                device,
            )),
        }
    }

    /// `mlp`'s hidden width when `--hidden` is not given.
    pub const DEFAULT_HIDDEN: usize = 512;

    /// The same backbone, running its convolutions on the CPU through `kernels`.
    pub fn with_conv_kernels(self, kernels: ConvKernels) -> Self {
        match self {
            Self::LeNet(l) => Self::LeNet(l.with_conv_kernels(kernels)),
            Self::ResNet(r) => Self::ResNet(r.with_conv_kernels(kernels)),
            other => other,
        }
    }

    /// Features `[N, d]` of images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::LeNet(l) => l.forward(images),
            Self::ResNet(r) => r.forward(images),
            Self::Mlp(m) => m.forward(images),
        }
    }

    /// A ResNet with its stem and stages from `weights` (see [`ResNet::with_pretrained`]);
    /// LeNet++ takes none.
    pub fn with_pretrained(
        self,
        weights: &WeightFile,
        model: ModelKind,
    ) -> Result<Self, WeightsError> {
        match self {
            Self::ResNet(r) => Ok(Self::ResNet(
                r.with_pretrained(weights, &model.to_string())?,
            )),
            Self::LeNet(_) | Self::Mlp(_) => Err(WeightsError::Mismatch {
                path: weights.path.clone(),
                model: model.to_string(),
                problems: super::pretrained::PRETRAINED_MODELS.into(),
            }),
        }
    }

    /// A ResNet with its stem and stages frozen (see [`ResNet::with_frozen_body`]).
    pub fn with_frozen_body(self) -> Self {
        match self {
            Self::ResNet(r) => Self::ResNet(r.with_frozen_body()),
            other => other,
        }
    }

    /// Every weight under the names of the PyTorch module that loads it (see
    /// [`LeNetPlusPlus::named_tensors`] and [`ResNet::named_tensors`]).
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        match self {
            Self::LeNet(l) => l.named_tensors(),
            Self::ResNet(r) => r.named_tensors(),
            Self::Mlp(m) => m.named_tensors(),
        }
    }
}
