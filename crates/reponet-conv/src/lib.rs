//! Convolutions on the CPU through reponet's own kernels.
//!
//! Burn's flex backend trained LeNet++ at about a quarter of PyTorch's speed, most of the
//! gap in its backward convolutions (BENCHMARKS.md). [`conv2d`] runs a Burn [`Conv2d`]
//! module, and [`conv2d_prelu`] one followed by a [`PRelu`] and optionally a 2x2
//! [`MaxPool2d`], through [`ConvBackend`]: a Burn backend extension whose flex
//! implementation is [`kernels`] (Winograd F(4x4, 5x5) or im2col + GEMM, with bias, PReLU
//! and pooling fused) and whose autodiff implementation registers one backward node that
//! runs their backward. Everything else in the graph stays Burn's, and the modules, their
//! parameters and their records are Burn's `Conv2d`, `PRelu` and `MaxPool2d` unchanged.
//!
//! Where the extension does not apply (another backend, float16, dilation, groups,
//! asymmetric padding, strides with PReLU, other pooling) or Burn's kernels are chosen
//! ([`ConvKernels::Burn`], passed in by the caller), these functions are the modules' own
//! `forward`s.
//!
//! Layout: [`kernels`] holds the float32 kernels on plain slices (shape, work plan, im2col,
//! GEMM calls, Winograd transforms, epilogue, forward, backward), [`ConvBackend`] the Burn
//! extension over them, and this file the two entry points a model calls.

mod extension;
pub mod kernels;

use burn::backend::{Dispatch, DispatchDevice};
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{PRelu, PaddingConfig2d};
use burn::tensor::{DType, Tensor};

pub use extension::ConvBackend;

/// Whose convolution kernels run on the CPU: a value each model holds (LeNet++'s
/// `conv_kernels`), so two models in one process may use different ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::Display, strum::EnumString)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ConvKernels {
    /// reponet's ([`kernels`]): the default.
    #[default]
    Reponet,
    /// Burn's own flex kernels, for comparison.
    Burn,
}

/// `conv.forward(x)`, through reponet's kernels where they apply (see the module docs).
pub fn conv2d(kernels: ConvKernels, conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let Some((ph, pw)) = extension_padding(kernels, conv, &x) else {
        return conv.forward(x);
    };
    let bias = bias(conv, &x);
    let [sh, sw] = conv.stride;
    let out = <Dispatch as ConvBackend>::reponet_conv2d(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        bias.into_dispatch(),
        ph,
        pw,
        sh,
        sw,
    );
    Tensor::from_dispatch(out)
}

/// `act.forward(conv.forward(x))`, then `pool.forward` if given, as one operation
/// through reponet's kernels where they apply (see the module docs): LeNet++'s
/// convolution + PReLU (+ 2x2 max pooling) blocks.
pub fn conv2d_prelu(
    kernels: ConvKernels,
    conv: &Conv2d,
    act: &PRelu,
    pool: Option<&MaxPool2d>,
    x: Tensor<4>,
) -> Tensor<4> {
    // Slopes other than one or one per channel, and other pooling, go to Burn (which
    // refuses the first with its own message).
    let slopes = act.alpha.dims()[0];
    let fused = pool.is_none_or(is_plain_2x2) && (slopes == 1 || slopes == conv.weight.dims()[0]);
    let fused = fused && conv.stride == [1, 1];
    let Some((ph, pw)) = extension_padding(kernels, conv, &x).filter(|_| fused) else {
        let y = act.forward(conv.forward(x));
        return match pool {
            Some(pool) => pool.forward(y),
            None => y,
        };
    };
    let bias = bias(conv, &x);
    let out = <Dispatch as ConvBackend>::reponet_conv2d_prelu(
        x.into_dispatch(),
        conv.weight.val().into_dispatch(),
        bias.into_dispatch(),
        act.alpha.val().into_dispatch(),
        ph,
        pw,
        pool.is_some(),
    );
    Tensor::from_dispatch(out)
}

/// Whether the pooling is the one the kernels fuse: 2x2 windows, stride 2, no padding or
/// dilation, floor rounding.
fn is_plain_2x2(pool: &MaxPool2d) -> bool {
    let no_padding = matches!(
        pool.padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    );
    pool.kernel_size == [2, 2]
        && pool.stride == [2, 2]
        && pool.dilation == [1, 1]
        && !pool.ceil_mode
        && no_padding
}

/// The convolution's bias, zeros (a constant) if it has none.
fn bias(conv: &Conv2d, x: &Tensor<4>) -> Tensor<1> {
    match &conv.bias {
        Some(bias) => bias.val(),
        None => Tensor::zeros([conv.weight.dims()[0]], &x.device()),
    }
}

/// The (rows, columns) padding if the extension computes this convolution, else `None`.
fn extension_padding(kernels: ConvKernels, conv: &Conv2d, x: &Tensor<4>) -> Option<(usize, usize)> {
    let on_flex = matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_));
    let float32 = x.dtype() == DType::F32 && conv.weight.val().dtype() == DType::F32;
    let plain = conv.dilation == [1, 1] && conv.groups == 1;
    if kernels != ConvKernels::Reponet || !on_flex || !float32 || !plain {
        return None;
    }
    let [kh, kw] = conv.kernel_size;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => (0, 0),
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            (top, left)
        }
        PaddingConfig2d::Same if kh % 2 == 1 && kw % 2 == 1 => ((kh - 1) / 2, (kw - 1) / 2),
        _ => return None,
    };
    // Shapes Burn would refuse go to Burn, for its error message.
    let [_, c, h, w] = x.dims();
    let fits = h + 2 * padding.0 >= kh && w + 2 * padding.1 >= kw;
    (fits && conv.weight.dims()[1] == c).then_some(padding)
}

#[cfg(test)]
mod tests {
    //! The extension against Burn's own convolution, through autodiff: same output, same
    //! gradients for the input, weight and bias. Both are float32 sums taken in different
    //! orders, so within 1e-5 relative or 1e-6 absolute (entries near zero); the float64
    //! checks of the kernels themselves are in `kernels`.
    use super::*;
    use burn::module::Param;
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::pool::MaxPool2dConfig;
    use burn::nn::PReluConfig;
    use burn::tensor::{Device, Distribution, Tolerance};

    #[test]
    fn extension_matches_burn_through_autodiff() {
        let device = Device::flex().autodiff();
        // Seeded: a pre-activation within rounding of PReLU's kink could route a gradient
        // differently in the two float32 computations.
        device.seed(7);
        // 5x5 as LeNet++'s; 3x3 stride 2 and 1x1 stride 2 as a ResNet's downsampling.
        for (padding, channels, size, kernel, stride) in [
            (PaddingConfig2d::Explicit(2, 2, 2, 2), [3, 4], 9, 5, 1),
            (PaddingConfig2d::Valid, [2, 3], 7, 5, 1),
            (PaddingConfig2d::Same, [1, 2], 6, 5, 1),
            (PaddingConfig2d::Explicit(1, 1, 1, 1), [3, 4], 9, 3, 2),
            (PaddingConfig2d::Valid, [4, 6], 8, 1, 2),
        ] {
            let mut conv = Conv2dConfig::new(channels, [kernel, kernel])
                .with_padding(padding.clone())
                .with_stride([stride, stride])
                .init(&device);
            let bias = Tensor::random([channels[1]], Distribution::Default, &device);
            conv.bias = Some(Param::from_tensor(bias));
            let x =
                Tensor::<4>::random([5, channels[0], size, size], Distribution::Default, &device)
                    .require_grad();
            assert!(
                extension_padding(ConvKernels::Reponet, &conv, &x).is_some(),
                "{padding:?} takes the extension"
            );
            // Weight the outputs so every gradient entry differs.
            let [_, o, oh, ow] = conv.forward(x.clone()).dims();
            let weights = Tensor::<4>::random([5, o, oh, ow], Distribution::Default, &device);
            let run = |fast: bool| {
                let out = if fast {
                    conv2d(ConvKernels::Reponet, &conv, x.clone())
                } else {
                    conv.forward(x.clone())
                };
                let grads = (out.clone() * weights.clone()).sum().backward();
                let weight = conv.weight.val();
                let bias = conv.bias.as_ref().unwrap().val();
                [
                    out.inner().into_data(),
                    x.grad(&grads).unwrap().into_data(),
                    weight.grad(&grads).unwrap().into_data(),
                    bias.grad(&grads).unwrap().into_data(),
                ]
            };
            for (ours, burns) in run(true).iter().zip(run(false)) {
                ours.assert_approx_eq::<f32>(&burns, Tolerance::rel_abs(1e-5, 1e-6));
            }
        }
    }

    #[test]
    fn conv_prelu_pool_matches_burn_through_autodiff() {
        let device = Device::flex().autodiff();
        // Seeded: a pre-activation within rounding of PReLU's kink could route a gradient
        // differently in the two float32 computations.
        device.seed(7);
        let pool = MaxPool2dConfig::new([2, 2]).init();
        // 16 channels in and out takes the Winograd path; 9x9 leaves an odd row to drop.
        for (slopes, channels, size, pool) in [
            (1, [2, 3], 8, None),
            (3, [2, 3], 9, Some(&pool)),
            (16, [16, 16], 8, Some(&pool)),
        ] {
            let conv = Conv2dConfig::new(channels, [5, 5])
                .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
                .init(&device);
            let mut act = PReluConfig::new().with_num_parameters(slopes).init(&device);
            act.alpha =
                Param::from_tensor(Tensor::random([slopes], Distribution::Default, &device));
            let x =
                Tensor::<4>::random([4, channels[0], size, size], Distribution::Default, &device)
                    .require_grad();
            let burns = |x: Tensor<4>| {
                let y = act.forward(conv.forward(x));
                pool.map_or(y.clone(), |p| p.forward(y))
            };
            let weights =
                Tensor::<4>::random(burns(x.clone()).dims(), Distribution::Default, &device);
            let run = |fast: bool| {
                let out = if fast {
                    conv2d_prelu(ConvKernels::Reponet, &conv, &act, pool, x.clone())
                } else {
                    burns(x.clone())
                };
                let grads = (out.clone() * weights.clone()).sum().backward();
                let bias = conv.bias.as_ref().unwrap().val();
                [
                    out.inner().into_data(),
                    x.grad(&grads).unwrap().into_data(),
                    conv.weight.val().grad(&grads).unwrap().into_data(),
                    bias.grad(&grads).unwrap().into_data(),
                    act.alpha.val().grad(&grads).unwrap().into_data(),
                ]
            };
            for (ours, burns) in run(true).iter().zip(run(false)) {
                ours.assert_approx_eq::<f32>(&burns, Tolerance::rel_abs(1e-4, 1e-5));
            }
        }
    }

    #[test]
    fn falls_back_where_it_does_not_apply() {
        let device = Device::flex();
        let x = Tensor::<4>::zeros([1, 2, 8, 8], &device);
        let dilated = Conv2dConfig::new([2, 2], [3, 3])
            .with_dilation([2, 2])
            .init(&device);
        let asymmetric = Conv2dConfig::new([2, 2], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 0, 0, 1))
            .init(&device);
        let even_same = Conv2dConfig::new([2, 2], [2, 2])
            .with_padding(PaddingConfig2d::Same)
            .init(&device);
        for conv in [dilated, asymmetric, even_same] {
            assert_eq!(extension_padding(ConvKernels::Reponet, &conv, &x), None);
            assert_eq!(
                conv2d(ConvKernels::Reponet, &conv, x.clone()).dims(),
                conv.forward(x.clone()).dims()
            );
        }
    }
}
