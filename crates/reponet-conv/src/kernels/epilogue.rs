//! What follows the convolution (bias, PReLU, 2x2 max pooling), applied to a group's GEMM
//! result while it is in cache, and undone the same way in the backward.

use std::mem::MaybeUninit;

use super::shape::ConvShape;

/// The PReLU slope of channel `c` (one shared slope, or one per channel).
fn slope(alpha: &[f32], c: usize) -> f32 {
    alpha[c % alpha.len()]
}

/// PReLU of one value with `slope` (1: the identity), without a branch.
#[inline(always)]
fn act(v: f32, slope: f32) -> f32 {
    if v <= 0.0 {
        slope * v
    } else {
        v
    }
}

/// What follows the convolution, fused into its epilogue.
#[derive(Debug, Clone, Copy, Default)]
pub struct After<'a> {
    /// Added per output channel, `[o]`.
    pub bias: Option<&'a [f32]>,
    /// PReLU slopes, `[1]` or `[o]`.
    pub prelu: Option<&'a [f32]>,
    /// Then 2x2 max pooling with stride 2 (odd last rows and columns dropped).
    pub pool: bool,
    /// Then added, `[n, o, oh, ow]` (the whole batch's; not with pooling): a ResNet's
    /// shortcut at inference, where the batch norm is folded into the convolution.
    pub residual: Option<&'a [f32]>,
    /// Then a ReLU (forward only: training runs the batch norm between).
    pub relu: bool,
}

impl After<'_> {
    /// The factor of channel `c`'s non-positive values: its PReLU slope, 1 without PReLU.
    /// Looked up once per plane: the lookup's modulo (one shared slope, or one per
    /// channel) is an integer division, which per value cost several per cent of a step.
    pub(super) fn slope(&self, c: usize) -> f32 {
        self.prelu.map_or(1.0, |alpha| slope(alpha, c))
    }

    /// Whether the backward needs the pre-activation (PReLU's slopes, pooling's argmax).
    pub(super) fn needs_pre_activation(&self) -> bool {
        self.prelu.is_some() || self.pool
    }
}

/// Copy a group's GEMM result `res` `[o, images * pixels]` to `out` `[images, o, pixels]`
/// (pixels halved each way by pooling) through `after`; the values before the activation
/// go to `pre` `[images, o, pixels]` if given. The group's first image is the batch's
/// `first_image` (where its residual starts).
pub(super) fn epilogue(
    s: &ConvShape,
    res: &[f32],
    (after, first_image): (After, usize),
    out: &mut [MaybeUninit<f32>],
    mut pre: Option<&mut [MaybeUninit<f32>]>,
) {
    let (pixels, ow) = (s.pixels(), s.ow());
    let (ph, pw) = s.out_size(after.pool);
    let stride = res.len() / s.o;
    for (j, image) in out.chunks_exact_mut(s.o * ph * pw).enumerate() {
        for (c, plane) in image.chunks_exact_mut(ph * pw).enumerate() {
            let src = &res[c * stride + j * pixels..][..pixels];
            let b = after.bias.map_or(0.0, |b| b[c]);
            let a = after.slope(c);
            if let Some(pre) = pre.as_deref_mut() {
                let pre = &mut pre[(j * s.o + c) * pixels..][..pixels];
                for (p, v) in pre.iter_mut().zip(src) {
                    p.write(v + b);
                }
            }
            if after.pool {
                // The first of a window's largest activations wins (row-major order), as
                // the backward's argmax assumes.
                for (py, row) in plane.chunks_exact_mut(pw).enumerate() {
                    for (px, o) in row.iter_mut().enumerate() {
                        let at = 2 * py * ow + 2 * px;
                        let window = [src[at], src[at + 1], src[at + ow], src[at + ow + 1]];
                        let best = window
                            .map(|v| act(v + b, a))
                            .into_iter()
                            .fold(f32::NEG_INFINITY, |m, v| if v > m { v } else { m });
                        o.write(best);
                    }
                }
            } else {
                let floor = |v: f32| if after.relu { v.max(0.0) } else { v };
                match after.residual {
                    Some(r) => {
                        let r = &r[(first_image + j) * s.o * pixels + c * pixels..][..pixels];
                        for ((o, v), r) in plane.iter_mut().zip(src).zip(r) {
                            o.write(floor(act(v + b, a) + r));
                        }
                    }
                    None => {
                        for (o, v) in plane.iter_mut().zip(src) {
                            o.write(floor(act(v + b, a)));
                        }
                    }
                }
            }
        }
    }
}

/// A group's output gradient `grad` `[images, o, ph * pw]` into `g` `[o, images *
/// pixels]`, the gradient w.r.t. the convolution's output: back through the pooling (to
/// each window's first largest activation) and PReLU (grad where the pre-activation is
/// positive, else slope · grad, and the slopes' gradient Σ grad · pre-activation there
/// into `ga`), given `after` and the group's pre-activation `[images, o, pixels]`.
pub(super) fn gather_grad(
    s: &ConvShape,
    grad: &[f32],
    back: Option<(After, &[f32])>,
    g: &mut [f32],
    ga: &mut [f32],
) {
    let (pixels, ow) = (s.pixels(), s.ow());
    let stride = g.len() / s.o;
    let Some((after, pre)) = back else {
        for (j, image) in grad.chunks_exact(s.out_image()).enumerate() {
            for (c, plane) in image.chunks_exact(pixels).enumerate() {
                g[c * stride + j * pixels..][..pixels].copy_from_slice(plane);
            }
        }
        return;
    };
    let (ph, pw) = s.out_size(after.pool);
    for (j, image) in grad.chunks_exact(s.o * ph * pw).enumerate() {
        for (c, plane) in image.chunks_exact(ph * pw).enumerate() {
            let dst = &mut g[c * stride + j * pixels..][..pixels];
            let z = &pre[(j * s.o + c) * pixels..][..pixels];
            if after.pool {
                dst.fill(0.0);
                let a = after.slope(c);
                for (py, row) in plane.chunks_exact(pw).enumerate() {
                    for (px, gv) in row.iter().enumerate() {
                        let at = 2 * py * ow + 2 * px;
                        let mut best = at;
                        for cand in [at + 1, at + ow, at + ow + 1] {
                            if act(z[cand], a) > act(z[best], a) {
                                best = cand;
                            }
                        }
                        dst[best] = *gv;
                    }
                }
            } else {
                dst.copy_from_slice(plane);
            }
            if let Some(alpha) = after.prelu {
                ga[c % alpha.len()] += prelu_backward(dst, z, slope(alpha, c));
            }
        }
    }
}

/// Lanes of the sums below: independent partial sums the compiler keeps in vector
/// registers, instead of one running sum whose every addition waits for the last.
const LANES: usize = 16;

/// Σ `values`, in `LANES` partial sums.
pub(super) fn sum_lanes(values: &[f32]) -> f32 {
    let mut acc = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

/// PReLU's backward on one plane: `grad` (w.r.t. its output) becomes the gradient w.r.t.
/// its input `z` (times `slope` where z <= 0); returns the slope's gradient Σ grad · z
/// over z <= 0, in `LANES` partial sums. Branch-free, so it vectorises.
fn prelu_backward(grad: &mut [f32], z: &[f32], slope: f32) -> f32 {
    let mut acc = [0.0f32; LANES];
    let mut rest = 0.0f32;
    let step = |acc: &mut f32, g: &mut f32, z: f32| {
        let negative = z <= 0.0;
        *acc += if negative { *g * z } else { 0.0 };
        *g = if negative { *g * slope } else { *g };
    };
    let mut grads = grad.chunks_exact_mut(LANES);
    let mut zs = z.chunks_exact(LANES);
    for (g, z) in (&mut grads).zip(&mut zs) {
        for ((a, g), z) in acc.iter_mut().zip(g).zip(z) {
            step(a, g, *z);
        }
    }
    for (g, z) in grads.into_remainder().iter_mut().zip(zs.remainder()) {
        step(&mut rest, g, *z);
    }
    acc.iter().sum::<f32>() + rest
}
