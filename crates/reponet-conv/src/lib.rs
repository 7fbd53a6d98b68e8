//! Convolutions (and the batch norms after them) on the CPU through reponet's own kernels.
//!
//! Burn's flex backend trained LeNet++ at about a quarter of PyTorch's speed, most of the
//! gap in its backward convolutions, and ResNets at a third of PyTorch's (BENCHMARKS.md).
//! [`conv2d`] runs a Burn [`Conv2d`] module, [`conv2d_prelu`] one followed by a [`PRelu`]
//! and optionally a 2x2 [`MaxPool2d`] (LeNet++), and [`conv2d_batch_norm`] one followed by
//! a [`BatchNorm`], a shortcut sum and a ReLU (ResNets), through two Burn backend
//! extensions: [`ConvBackend`], whose flex implementation is [`kernels`] (Winograd
//! F(4x4, 5x5), F(6x6, 3x3) and F(4x4, 3x3), or im2col + GEMM, with bias, PReLU and pooling,
//! or at inference a ResNet's shortcut and ReLU, fused), and
//! [`NormBackend`] (batch norm with its sum and ReLU); their autodiff implementations
//! register one backward node each. Everything else in the graph stays Burn's, and the
//! modules, their parameters and their records are Burn's unchanged.
//!
//! Where the extensions do not apply (another backend, float16, dilation, groups,
//! asymmetric padding, strides with PReLU, other pooling) or Burn's kernels are chosen
//! ([`ConvKernels::Burn`], passed in by the caller), these functions are the modules' own
//! `forward`s.
//!
//! Layout: [`kernels`] holds the float32 kernels on plain slices (shape, work plan, im2col,
//! GEMM calls, Winograd transforms, epilogue, forward, backward, batch norm), `extension`
//! and `norm` the Burn extensions over them, and this file the entry points a model calls.

mod extension;
mod flex;
pub mod kernels;
mod norm;

use burn::backend::{Dispatch, DispatchDevice};
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::nn::{BatchNorm, PRelu, PaddingConfig2d};
use burn::tensor::activation::relu as relu_of;
use burn::tensor::{DType, Tensor};

pub use extension::ConvBackend;
pub use norm::NormBackend;

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
    extension_conv2d(conv, conv.weight.val(), bias, (ph, pw), x)
}

/// The extension's convolution with `conv`'s geometry and the given weight and bias.
fn extension_conv2d(
    conv: &Conv2d,
    weight: Tensor<4>,
    bias: Tensor<1>,
    (ph, pw): (usize, usize),
    x: Tensor<4>,
) -> Tensor<4> {
    let [sh, sw] = conv.stride;
    let out = <Dispatch as ConvBackend>::reponet_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        ph,
        pw,
        sh,
        sw,
    );
    Tensor::from_dispatch(out)
}

/// `relu(bn.forward(conv.forward(x)) + residual)` (the residual and the ReLU as asked): a
/// ResNet's convolution, batch norm, shortcut sum and activation, through reponet's
/// kernels where they apply (see the module docs). While training, the batch norm with
/// its add and ReLU is one operation ([`NormBackend`]) and `bn`'s running statistics are
/// updated as Burn's `BatchNorm` updates them; at inference the batch norm is folded into
/// the convolution's weight and bias (`w γ/σ`, `β - μ γ/σ`), so it costs nothing, and the
/// shortcut and ReLU are applied as the convolution writes its output.
pub fn conv2d_batch_norm(
    kernels: ConvKernels,
    conv: &Conv2d,
    bn: &BatchNorm,
    x: Tensor<4>,
    residual: Option<Tensor<4>>,
    relu: bool,
) -> Tensor<4> {
    let training = x.device().is_autodiff() && bn.training.is_enabled();
    let y = match extension_padding(kernels, conv, &x) {
        Some(_) if training => {
            return batch_norm_train(bn, conv2d(kernels, conv, x), residual, relu);
        }
        Some(padding) => {
            // Inference: the running statistics folded into the convolution.
            let device = x.device();
            let var = bn.running_var.value().to_device(&device);
            let mean = bn.running_mean.value().to_device(&device);
            let scale = bn.gamma.val() / (var + bn.epsilon).sqrt();
            let o = scale.dims()[0];
            let weight = conv.weight.val() * scale.clone().reshape([o, 1, 1, 1]);
            let bias = (bias(conv, &x) - mean) * scale + bn.beta.val();
            if relu {
                // The shortcut and ReLU in the convolution's own pass over its output.
                let stride = (conv.stride[0], conv.stride[1]);
                let (x, weight, bias) = (
                    x.into_dispatch(),
                    weight.into_dispatch(),
                    bias.into_dispatch(),
                );
                return Tensor::from_dispatch(match residual {
                    Some(r) => <Dispatch as ConvBackend>::reponet_conv2d_add_relu(
                        x,
                        weight,
                        bias,
                        r.into_dispatch(),
                        padding,
                        stride,
                    ),
                    None => <Dispatch as ConvBackend>::reponet_conv2d_relu(
                        x, weight, bias, padding, stride,
                    ),
                });
            }
            extension_conv2d(conv, weight, bias, padding, x)
        }
        None => bn.forward(conv.forward(x)),
    };
    let y = match residual {
        Some(r) => y + r,
        None => y,
    };
    if relu {
        relu_of(y)
    } else {
        y
    }
}

/// Burn's `BatchNorm::forward` in training, with the residual add and ReLU, as one
/// [`NormBackend`] operation; the running statistics move as Burn moves them
/// (`(1 - momentum) running + momentum batch`, the biased batch variance).
fn batch_norm_train(
    bn: &BatchNorm,
    x: Tensor<4>,
    residual: Option<Tensor<4>>,
    relu: bool,
) -> Tensor<4> {
    let device = x.device();
    let (x, gamma, beta) = (
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
    );
    let (out, mean, var) = match residual {
        Some(r) => <Dispatch as NormBackend>::reponet_batch_norm_add(
            x,
            gamma,
            beta,
            r.into_dispatch(),
            bn.epsilon,
            relu,
        ),
        None => <Dispatch as NormBackend>::reponet_batch_norm(x, gamma, beta, bn.epsilon, relu),
    };
    let mean = Tensor::<1>::from_dispatch(mean).detach();
    let var = Tensor::<1>::from_dispatch(var).detach();
    let momentum = bn.momentum;
    let running_mean = bn.running_mean.value_sync().to_device(&device);
    let running_var = bn.running_var.value_sync().to_device(&device);
    bn.running_mean
        .update((running_mean * (1.0 - momentum) + mean * momentum).detach());
    bn.running_var
        .update((running_var * (1.0 - momentum) + var * momentum).detach());
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
    use burn::module::{Module, Param};
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::pool::MaxPool2dConfig;
    use burn::nn::PReluConfig;
    use burn::tensor::{Device, Distribution, TensorData, Tolerance};

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

    /// A ResNet's convolution + batch norm (+ shortcut + ReLU) against Burn's modules
    /// through autodiff: output, the gradients of the input, weight, γ, β and residual,
    /// and the running statistics after the step; then at inference, the folded convolution
    /// against Burn's with those statistics. Tolerance: 1e-4 of each tensor's largest
    /// value. Winograd F(6x6, 3x3) (the 16-channel case) rounds to about 1e-5 of the
    /// largest, and batch norm's input gradient is a difference of sums
    /// (g - mean g - x̂ mean(g x̂)) that Burn takes in float32, the kernels in float64.
    #[test]
    fn conv_batch_norm_matches_burn() {
        use burn::nn::BatchNormConfig;
        let device = Device::flex().autodiff();
        device.seed(11);
        for (channels, kernel, stride, residual, relu) in [
            ([16, 16], 3, 1, true, true),
            ([3, 8], 3, 2, false, true),
            ([8, 16], 1, 2, false, false),
        ] {
            let conv = Conv2dConfig::new(channels, [kernel, kernel])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(
                    kernel / 2,
                    kernel / 2,
                    kernel / 2,
                    kernel / 2,
                ))
                .with_bias(false)
                .init(&device);
            let fresh_bn = || {
                let mut bn = BatchNormConfig::new(channels[1]).init(&device);
                bn.gamma = Param::from_tensor(Tensor::random(
                    [channels[1]],
                    Distribution::Uniform(0.5, 1.5),
                    &device,
                ));
                bn.beta = Param::from_tensor(Tensor::random(
                    [channels[1]],
                    Distribution::Default,
                    &device,
                ));
                bn
            };
            let (ours_bn, burns_bn) = (fresh_bn(), fresh_bn());
            let burns_bn = BatchNorm {
                gamma: Param::from_tensor(ours_bn.gamma.val()),
                beta: Param::from_tensor(ours_bn.beta.val()),
                ..burns_bn
            };
            let x = Tensor::<4>::random([6, channels[0], 9, 9], Distribution::Default, &device)
                .require_grad();
            let out_dims = conv.forward(x.clone()).dims();
            let r = residual.then(|| {
                Tensor::<4>::random(out_dims, Distribution::Default, &device).require_grad()
            });
            let weights = Tensor::<4>::random(out_dims, Distribution::Default, &device);
            let run = |bn: &BatchNorm, fast: bool| {
                let out = if fast {
                    conv2d_batch_norm(ConvKernels::Reponet, &conv, bn, x.clone(), r.clone(), relu)
                } else {
                    let y = bn.forward(conv.forward(x.clone()));
                    let y = r.clone().map_or(y.clone(), |r| y + r);
                    if relu {
                        relu_of(y)
                    } else {
                        y
                    }
                };
                let grads = (out.clone() * weights.clone()).sum().backward();
                let mut all = vec![
                    out.inner().into_data(),
                    x.grad(&grads).unwrap().into_data(),
                    conv.weight.val().grad(&grads).unwrap().into_data(),
                    bn.gamma.val().grad(&grads).unwrap().into_data(),
                    bn.beta.val().grad(&grads).unwrap().into_data(),
                    bn.running_mean.value_sync().into_data(),
                    bn.running_var.value_sync().into_data(),
                ];
                if let Some(r) = &r {
                    all.push(r.grad(&grads).unwrap().into_data());
                }
                all
            };
            let close = |ours: &TensorData, burns: &TensorData, what: &str| {
                let a: Vec<f32> = ours.iter::<f32>().collect();
                let b: Vec<f32> = burns.iter::<f32>().collect();
                let scale = b.iter().fold(1e-12f32, |m, v| m.max(v.abs()));
                let err = a
                    .iter()
                    .zip(&b)
                    .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
                assert!(
                    err <= 1e-4 * scale,
                    "{what} of {channels:?}: {err:e} of {scale:e}"
                );
            };
            let names = [
                "output",
                "x grad",
                "weight grad",
                "gamma grad",
                "beta grad",
                "running mean",
                "running var",
                "residual grad",
            ];
            for ((ours, burns), what) in run(&ours_bn, true)
                .iter()
                .zip(run(&burns_bn, false))
                .zip(names)
            {
                close(ours, &burns, what);
            }
            // Inference (no autodiff): the folded convolution with the statistics above.
            let (conv, x) = (conv.valid(), x.clone().inner());
            let (ours_bn, burns_bn) = (ours_bn.valid(), burns_bn.valid());
            let r = r.map(|r| r.inner());
            let ours = conv2d_batch_norm(
                ConvKernels::Reponet,
                &conv,
                &ours_bn,
                x.clone(),
                r.clone(),
                relu,
            );
            let y = burns_bn.forward(conv.forward(x));
            let y = r.map_or(y.clone(), |r| y + r);
            let burns = if relu { relu_of(y) } else { y };
            close(&ours.into_data(), &burns.into_data(), "inference output");
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
