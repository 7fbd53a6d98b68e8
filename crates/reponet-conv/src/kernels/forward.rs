//! The forward convolution: Winograd or im2col + GEMM per group of images, then the
//! epilogue.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::epilogue::{epilogue, After};
use super::gemm::{matmul, matmul_row_major, View};
use super::im2col::im2col;
use super::plan::{images_per_gemm, images_per_task};
use super::scratch::{filled_vec, with_scratch};
use super::shape::{check_lengths, ConvShape};
use super::winograd;

/// A convolution of a group of `images` images (`planes`) by
/// Winograd into `res` `[o, images * oh * ow]`, with `u` the transformed
/// kernel and `v`, `m` scratch.
pub(super) fn winograd_group(
    s: &ConvShape,
    images: usize,
    planes: winograd::Planes,
    u: &[f32],
    [v, m]: [&mut [f32]; 2],
    res: &mut [f32],
) {
    let (th, tw) = winograd::tiles(s);
    let tiles = images * th * tw;
    winograd::transform_input(s, images, planes, v);
    for p in 0..winograd::positions(s) {
        let m = &mut m[p * s.o * tiles..][..s.o * tiles];
        let u = &u[p * s.o * s.c..][..s.o * s.c];
        let v = &v[p * s.c * tiles..][..s.c * tiles];
        matmul_row_major(m, s.o, tiles, s.c, u, v);
    }
    winograd::transform_output(s, images, m, res);
}

/// Scratch lengths for [`winograd_group`] of up to `images` images.
pub(super) fn winograd_scratch(s: &ConvShape, images: usize) -> [usize; 2] {
    let (th, tw) = winograd::tiles(s);
    let tiles = images * th * tw;
    [
        winograd::positions(s) * s.c * tiles,
        winograd::positions(s) * s.o * tiles,
    ]
}

/// A forward convolution's output: after the activation, and before it when asked for
/// (the backward of PReLU needs it).
#[derive(Debug)]
pub struct Forward {
    /// `[n, o, oh, ow]` (halved by pooling): the convolution plus bias, then PReLU and
    /// pooling if they were asked for.
    pub out: Vec<f32>,
    /// `[n, o, oh, ow]`: the convolution plus bias, before PReLU and pooling (only with
    /// `keep_pre_activation`, and when there is PReLU or pooling).
    pub pre_activation: Option<Vec<f32>>,
}

/// Forward convolution of `x` `[n, c, h, w]` with `weight` `[o, c, kh, kw]`, then what
/// `after` asks for (bias, PReLU, 2x2 max pooling, or a residual and ReLU), applied while
/// each group's GEMM result is still in cache, as it is copied out.
pub fn conv2d_forward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    after: After,
    keep_pre_activation: bool,
) -> Forward {
    check_lengths(s, x, weight);
    if let Some(r) = after.residual {
        assert!(!after.pool, "conv2d: a residual is added without pooling");
        assert_eq!(r.len(), s.n * s.out_image(), "conv2d: residual length");
    }
    let (pixels, patch, out_image) = (s.pixels(), s.patch(), s.out_image());
    let (ph, pw) = s.out_size(after.pool);
    let final_image = s.o * ph * pw;
    let (per_task, per_gemm) = (images_per_task(s), images_per_gemm(s));
    let pre_len = s.n * out_image;
    let keep = keep_pre_activation && after.needs_pre_activation();
    let u = winograd::applies(s).then(|| winograd::transform_weights(s, weight));
    let mut pre = keep.then(|| Vec::<f32>::with_capacity(pre_len));
    // Scratch: im2col's matrix, or Winograd's transformed input and products.
    let (col_len, [v_len, m_len]) = match u {
        Some(_) => (0, winograd_scratch(s, per_gemm)),
        None => (patch * per_gemm * pixels, [0, 0]),
    };
    let lens = [col_len, s.o * per_gemm * pixels, v_len, m_len];
    let out = filled_vec(s.n * final_image, |out| {
        let pre_chunks: Vec<Option<&mut [MaybeUninit<f32>]>> = match pre.as_mut() {
            Some(pre) => pre.spare_capacity_mut()[..pre_len]
                .chunks_mut(per_task * out_image)
                .map(Some)
                .collect(),
            None => (0..s.n.div_ceil(per_task)).map(|_| None).collect(),
        };
        out.par_chunks_mut(per_task * final_image)
            .zip(pre_chunks)
            .zip(x.par_chunks(per_task * s.image()))
            .enumerate()
            .for_each(|(t, ((out, mut pre), x))| {
                with_scratch(lens, |[col, res, v, m]| {
                    let groups = out
                        .chunks_mut(per_gemm * final_image)
                        .zip(x.chunks(per_gemm * s.image()))
                        .enumerate();
                    for (gi, (out, x)) in groups {
                        let images = x.len() / s.image();
                        let stride = images * pixels;
                        let res = &mut res[..s.o * stride];
                        if let Some(u) = &u {
                            let planes = winograd::Planes::batch(x, s);
                            winograd_group(s, images, planes, u, [&mut *v, &mut *m], res);
                        } else {
                            for (j, image) in x.chunks_exact(s.image()).enumerate() {
                                im2col(s, image, &mut col[j * pixels..], stride);
                            }
                            let cols = View::rows(col, stride);
                            let w = View::rows(weight, patch);
                            matmul(res, s.o, stride, patch, w, cols, false);
                        }
                        let pre = pre
                            .as_deref_mut()
                            .map(|p| &mut p[gi * per_gemm * out_image..][..images * out_image]);
                        let first = t * per_task + gi * per_gemm;
                        epilogue(s, res, (after, first), out, pre);
                    }
                })
            });
    });
    let pre_activation = pre.map(|mut pre| {
        // SAFETY: the epilogue wrote every pre-activation (one chunk per output chunk).
        unsafe { pre.set_len(pre_len) };
        pre
    });
    Forward {
        out,
        pre_activation,
    }
}
