//! The backward convolution: the input's, weight's, bias's and PReLU slopes' gradients in
//! one pass over the batch.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::epilogue::{epilogue, gather_grad, sum_lanes, After};
use super::forward::{winograd_group, winograd_scratch};
use super::gemm::{matmul, matmul_partial, View};
use super::im2col::{col2im_add, im2col};
use super::plan::{images_per_gemm, images_per_task};
use super::scratch::{assume_init, filled_vec, with_scratch};
use super::shape::{check_lengths, ConvShape};
use super::winograd;

/// Gradients of a convolution (and its PReLU), each computed only when asked for.
#[derive(Debug, Default)]
pub struct ConvGrads {
    /// W.r.t. the input, `[n, c, h, w]`.
    pub x: Option<Vec<f32>>,
    /// W.r.t. the weight, `[o, c, kh, kw]`.
    pub weight: Option<Vec<f32>>,
    /// W.r.t. the bias, `[o]`.
    pub bias: Option<Vec<f32>>,
    /// W.r.t. the PReLU slopes, `[1]` or `[o]` (when the forward had PReLU).
    pub alpha: Option<Vec<f32>>,
}

/// Which gradients [`conv2d_backward`] computes.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    /// The input's.
    pub x: bool,
    /// The weight's.
    pub weight: bool,
    /// The bias's.
    pub bias: bool,
    /// The PReLU slopes'.
    pub alpha: bool,
}

fn add_assign(total: &mut [f32], values: &[f32]) {
    for (t, v) in total.iter_mut().zip(values) {
        *t += v;
    }
}

/// Backward convolution from the gradient `grad` of the forward's output (back through
/// the pooling and PReLU of `after` first, which need the forward's `pre_activation`):
/// the input's gradient (Winograd or `weight`ᵀ · grad folded by col2im), the weight's
/// (Σ grad · im2col(x)ᵀ), the bias's and the slopes' (sums), in one pass over the batch.
pub fn conv2d_backward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    (after, pre_activation): (After, Option<&[f32]>),
    wanted: Wanted,
) -> ConvGrads {
    check_lengths(s, x, weight);
    assert!(
        after.residual.is_none() && !after.relu,
        "conv2d: a residual and ReLU are fused at inference only"
    );
    let (pixels, patch, out_image) = (s.pixels(), s.patch(), s.out_image());
    let (ph, pw) = s.out_size(after.pool);
    let final_image = s.o * ph * pw;
    assert_eq!(
        grad.len(),
        s.n * final_image,
        "conv2d: output gradient length for {s:?}"
    );
    let back = match (after.needs_pre_activation(), pre_activation) {
        (false, _) => None,
        (true, Some(pre)) => {
            assert_eq!(pre.len(), s.n * out_image, "conv2d: pre-activation length");
            Some((after, pre))
        }
        (true, None) => panic!("conv2d: PReLU and pooling need the pre-activation"),
    };
    let (per_task, per_gemm) = (images_per_task(s), images_per_gemm(s));
    let tasks = s.n.div_ceil(per_task);
    let alphas = after.prelu.map_or(0, <[f32]>::len);
    // The input's gradient by Winograd where the transposed convolution allows it.
    let transposed = s.transposed().filter(|t| wanted.x && winograd::applies(t));
    let u_t = transposed.map(|t| winograd::transform_weights(&t, &flip_transpose(s, weight)));
    let [v_len, m_len] = transposed.map_or([0, 0], |t| winograd_scratch(&t, per_gemm));
    // The weight's gradient by Winograd too, summed in the transformed domain
    // (Σ (A dy Aᵀ) ⊙ (Bᵀ x B) over tiles: 64 GEMMs) and brought back once at the end.
    let winograd_weight = wanted.weight && winograd::applies(s);
    let [vx_len, dy_len] = if winograd_weight {
        winograd_scratch(s, per_gemm)
    } else {
        [0, 0]
    };
    let gw_len = match (wanted.weight, winograd_weight) {
        (false, _) => 0,
        (true, false) => s.o * patch,
        (true, true) => winograd::positions(s) * s.o * s.c,
    };
    let col_len = if wanted.weight && !winograd_weight || wanted.x && transposed.is_none() {
        patch * per_gemm * pixels
    } else {
        0
    };
    let res_len = if transposed.is_some() {
        per_gemm * s.image()
    } else {
        0
    };
    let task = |gx: Option<&mut [MaybeUninit<f32>]>, first_image: usize| {
        let x = &x[first_image * s.image()..][..(s.n - first_image).min(per_task) * s.image()];
        let mut gw = Vec::with_capacity(gw_len);
        let mut gb = vec![0.0f32; if wanted.bias { s.o } else { 0 }];
        let mut ga = vec![0.0f32; alphas];
        let mut gx = gx;
        let lens = [
            col_len,
            s.o * per_gemm * pixels,
            v_len,
            m_len,
            res_len,
            vx_len,
            dy_len,
        ];
        with_scratch(lens, |[col, grouped, v, m, res, vx, dy]| {
            for (gi, x) in x.chunks(per_gemm * s.image()).enumerate() {
                let images = x.len() / s.image();
                let stride = images * pixels;
                let first = first_image + gi * per_gemm;
                let g = &mut grouped[..s.o * stride];
                let grad = &grad[first * final_image..][..images * final_image];
                let back =
                    back.map(|(a, pre)| (a, &pre[first * out_image..][..images * out_image]));
                gather_grad(s, grad, back, g, &mut ga);
                let g = &*g;
                // The same gradient as planes (channel o of image j), for Winograd.
                let g_planes = winograd::Planes {
                    data: g,
                    image: pixels,
                    channel: stride,
                };
                if winograd_weight {
                    let (th, tw) = winograd::tiles(s);
                    let tiles = images * th * tw;
                    winograd::transform_input(s, images, winograd::Planes::batch(x, s), vx);
                    winograd::transform_grad(s, images, g_planes, dy);
                    for p in 0..winograd::positions(s) {
                        let dy = View::rows(&dy[p * s.o * tiles..], tiles);
                        let vx = View::transposed(&vx[p * s.c * tiles..], tiles);
                        matmul_partial(&mut gw, p * s.o * s.c, s.o, s.c, tiles, dy, vx);
                    }
                } else if wanted.weight {
                    for (j, image) in x.chunks_exact(s.image()).enumerate() {
                        im2col(s, image, &mut col[j * pixels..], stride);
                    }
                    let cols = View::transposed(col, stride);
                    matmul_partial(&mut gw, 0, s.o, patch, stride, View::rows(g, stride), cols);
                }
                // SAFETY: the first group's GEMMs wrote all of `gw`: Winograd's one per
                // position, POSITIONS x [o, c], or im2col's [o, patch].
                unsafe { gw.set_len(gw_len) };
                if wanted.bias {
                    for (b, row) in gb.iter_mut().zip(g.chunks_exact(stride)) {
                        *b += sum_lanes(row);
                    }
                }
                if let (Some(gx), Some(t), Some(u_t)) = (gx.as_deref_mut(), &transposed, &u_t) {
                    let gx = &mut gx[gi * per_gemm * s.image()..][..images * s.image()];
                    let res = &mut res[..images * s.image()];
                    winograd_group(t, images, g_planes, u_t, [&mut *v, &mut *m], res);
                    epilogue(t, res, (After::default(), 0), gx, None);
                } else if let Some(gx) = gx.as_deref_mut() {
                    let w_t = View::transposed(weight, patch);
                    matmul(col, patch, stride, s.o, w_t, View::rows(g, stride), false);
                    let gx = &mut gx[gi * per_gemm * s.image()..][..images * s.image()];
                    for (j, image) in gx.chunks_exact_mut(s.image()).enumerate() {
                        // Zeroed here, in cache, rather than the whole gradient up front.
                        image.iter_mut().for_each(|v| {
                            v.write(0.0);
                        });
                        // SAFETY: just written.
                        let image = unsafe { assume_init(image) };
                        col2im_add(s, &col[j * pixels..], stride, image);
                    }
                }
            }
        });
        (gw, gb, ga)
    };
    // Each task sums its images' weight, bias and slope gradients; the partial sums (a
    // few per thread, each the size of the weight) are added after, in task order rather
    // than as rayon's work stealing pairs them, so a step's gradients are the same from
    // run to run (a resumed run repeats an uninterrupted one exactly). The weight's are
    // added range by range on every thread, each range in task order.
    let mut partials = Vec::new();
    let gx = wanted.x.then(|| {
        filled_vec(s.n * s.image(), |gx| {
            partials = gx
                .par_chunks_mut(per_task * s.image())
                .enumerate()
                .map(|(t, gx)| task(Some(gx), t * per_task))
                .collect();
        })
    });
    if !wanted.x {
        partials = (0..tasks)
            .into_par_iter()
            .map(|t| task(None, t * per_task))
            .collect();
    }
    let mut partials = partials.into_iter();
    let (mut gw, mut gb, mut ga) = partials.next().expect("a batch has at least one task");
    let rest: Vec<Partials> = partials.collect();
    const RANGE: usize = 16 * 1024;
    gw.par_chunks_mut(RANGE).enumerate().for_each(|(i, total)| {
        for (other, _, _) in &rest {
            add_assign(total, &other[i * RANGE..][..total.len()]);
        }
    });
    for (_, b, a) in &rest {
        add_assign(&mut gb, b);
        add_assign(&mut ga, a);
    }
    let gw = if winograd_weight {
        winograd::weights_from_transformed(s, &gw)
    } else {
        gw
    };
    ConvGrads {
        x: gx,
        weight: wanted.weight.then_some(gw),
        bias: wanted.bias.then_some(gb),
        alpha: (wanted.alpha && after.prelu.is_some()).then_some(ga),
    }
}

type Partials = (Vec<f32>, Vec<f32>, Vec<f32>);

/// The kernel of [`ConvShape::transposed`]: `[c, o, kh, kw]`, each flipped.
fn flip_transpose(s: &ConvShape, weight: &[f32]) -> Vec<f32> {
    let kk = s.kh * s.kw;
    let mut out = vec![0.0f32; weight.len()];
    for o in 0..s.o {
        for c in 0..s.c {
            let src = &weight[(o * s.c + c) * kk..][..kk];
            let dst = &mut out[(c * s.o + o) * kk..][..kk];
            for (d, v) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *v;
            }
        }
    }
    out
}
