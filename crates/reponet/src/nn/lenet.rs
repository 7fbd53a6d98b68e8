use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Initializer, Linear, LinearConfig, PRelu, PReluConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};
use reponet_conv::{conv2d_prelu, ConvKernels};

use super::NamedTensor;
use crate::data::ImageShape;

/// Output channels of LeNet++'s six 5x5 convolutions (Wen et al., ECCV 2016).
const CHANNELS: [usize; 6] = [32, 32, 64, 64, 128, 128];
/// Three 2x2 poolings (floor) divide each side by 8.
const DOWNSAMPLING: usize = 8;

/// LeNet++: [conv5x5, PReLU] x 2 then max-pool 2, three times (32, 64, 128 channels),
/// then a linear layer to the d-dimensional feature. Input `[N, C, H, W]`; the paper's is
/// MNIST's `[N, 1, 28, 28]`, whose flattened feature map is 128 x 3 x 3 = 1152.
#[derive(Module, Debug)]
pub struct LeNetPlusPlus {
    convs: Vec<Conv2d>,
    activations: Vec<PRelu>,
    pool: MaxPool2d,
    embed: Linear,
    /// Whose kernels run the convolutions on the CPU: state of this process, not a weight.
    #[module(skip)]
    conv_kernels: ConvKernels,
}

impl LeNetPlusPlus {
    /// The smallest side LeNet++ takes: three poolings leave at least 1 x 1.
    pub const MIN_SIDE: usize = DOWNSAMPLING;

    /// Values after the last pooling, the linear layer's input: 128 x (H / 8) x (W / 8).
    pub fn flattened_len(input: ImageShape) -> usize {
        CHANNELS[5] * (input.rows / DOWNSAMPLING) * (input.cols / DOWNSAMPLING)
    }

    /// Convolutions: Kaiming-normal weights (gain sqrt 2, fan-in, as PyTorch's
    /// `kaiming_normal_`), zero biases, stride 1, padding 2. PReLU: one slope per layer, 0.25.
    ///
    /// # Panics
    /// If a side of `input` is below [`Self::MIN_SIDE`] (configurations check it first).
    pub fn new(feature_dim: usize, input: ImageShape, device: &Device) -> Self {
        assert!(
            input.rows >= Self::MIN_SIDE && input.cols >= Self::MIN_SIDE,
            "LeNet++ needs images of at least {0} x {0}, not {input}",
            Self::MIN_SIDE
        );
        let channels: Vec<usize> = std::iter::once(input.channels).chain(CHANNELS).collect();
        let convs = channels
            .windows(2)
            .map(|c| {
                let mut conv = Conv2dConfig::new([c[0], c[1]], [5, 5])
                    .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                    .with_initializer(Initializer::KaimingNormal {
                        gain: std::f64::consts::SQRT_2,
                        fan_out_only: false,
                    })
                    .init(device);
                conv.bias = Some(Param::from_tensor(Tensor::zeros([c[1]], device)));
                conv
            })
            .collect();
        let activations = (0..6).map(|_| PReluConfig::new().init(device)).collect();
        Self {
            convs,
            activations,
            pool: MaxPool2dConfig::new([2, 2]).init(),
            embed: LinearConfig::new(Self::flattened_len(input), feature_dim).init(device),
            conv_kernels: ConvKernels::default(),
        }
    }

    /// The same network, running its convolutions on the CPU through `kernels`.
    pub fn with_conv_kernels(mut self, kernels: ConvKernels) -> Self {
        self.conv_kernels = kernels;
        self
    }

    /// Every weight as PyTorch's LeNet++ names and lays it out (`convs.I.weight` and
    /// `.bias`, `acts.I.weight` for the PReLU slopes, `fc.weight` as `[d, 1152]` (for
    /// 28 x 28 inputs) and
    /// `fc.bias`): the module of `benches/pytorch/margin_reponet.py` loads them as they are.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut all = Vec::new();
        for (i, (conv, act)) in self.convs.iter().zip(&self.activations).enumerate() {
            all.push(NamedTensor::of(
                format!("convs.{i}.weight"),
                conv.weight.val(),
            ));
            if let Some(bias) = &conv.bias {
                all.push(NamedTensor::of(format!("convs.{i}.bias"), bias.val()));
            }
            all.push(NamedTensor::of(format!("acts.{i}.weight"), act.alpha.val()));
        }
        // Burn keeps a linear layer's weight as [in, out]; PyTorch as [out, in].
        let fc = self.embed.weight.val().transpose();
        all.push(NamedTensor::of("fc.weight".into(), fc));
        if let Some(bias) = &self.embed.bias {
            all.push(NamedTensor::of("fc.bias".into(), bias.val()));
        }
        all
    }

    /// Features `[N, d]` of images `[N, C, H, W]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        let mut x = images;
        for (i, (conv, act)) in self.convs.iter().zip(&self.activations).enumerate() {
            let pool = (i % 2 == 1).then_some(&self.pool);
            x = conv2d_prelu(self.conv_kernels, conv, act, pool, x);
        }
        self.embed.forward(x.flatten(1, 3))
    }
}
