//! im2col and its adjoint, col2im: images unfolded into patch matrices for one GEMM.

use super::shape::ConvShape;

/// For kernel offset `k`, padding `p` and stride `st`, the output positions `lo..hi`
/// whose input position `out * st + k - p` lies inside `0..size`.
pub(super) fn valid_range(
    k: usize,
    p: usize,
    st: usize,
    size: usize,
    out: usize,
) -> (usize, usize) {
    let lo = p.saturating_sub(k).div_ceil(st).min(out);
    let hi = (size + p).saturating_sub(k).div_ceil(st).min(out).max(lo);
    (lo, hi)
}

/// The input row (or column) that output position `out` reads at kernel offset `k`.
fn source(out: usize, k: usize, p: usize, st: usize) -> usize {
    out * st + k - p
}

/// Unfold one image `[c, h, w]` into the first `oh*ow` columns of `col`, a
/// `[c*kh*kw, stride]` matrix (zeros where the kernel overhangs the padding). A group of
/// images shares one matrix, side by side: the caller offsets `col` by the image's columns.
pub(super) fn im2col(s: &ConvShape, image: &[f32], col: &mut [f32], stride: usize) {
    let (oh, ow) = (s.oh(), s.ow());
    let mut r = 0;
    for c in 0..s.c {
        let plane = &image[c * s.h * s.w..][..s.h * s.w];
        for ki in 0..s.kh {
            let (y0, y1) = valid_range(ki, s.ph, s.sh, s.h, oh);
            for kj in 0..s.kw {
                let (x0, x1) = valid_range(kj, s.pw, s.sw, s.w, ow);
                let row = &mut col[r * stride..][..oh * ow];
                r += 1;
                row[..y0 * ow].fill(0.0);
                row[y1 * ow..].fill(0.0);
                for y in y0..y1 {
                    let dst = &mut row[y * ow..][..ow];
                    let src = &plane[source(y, ki, s.ph, s.sh) * s.w..][..s.w];
                    dst[..x0].fill(0.0);
                    dst[x1..].fill(0.0);
                    if x0 == x1 {
                        continue;
                    }
                    let first = source(x0, kj, s.pw, s.sw);
                    if s.sw == 1 {
                        dst[x0..x1].copy_from_slice(&src[first..first + x1 - x0]);
                    } else {
                        for (d, v) in dst[x0..x1]
                            .iter_mut()
                            .zip(src[first..].iter().step_by(s.sw))
                        {
                            *d = *v;
                        }
                    }
                }
            }
        }
    }
}

/// Fold the first `oh*ow` columns of `col` `[c*kh*kw, stride]` back onto one image
/// `[c, h, w]`, adding (the adjoint of [`im2col`]). `image` must start at zero.
pub(super) fn col2im_add(s: &ConvShape, col: &[f32], stride: usize, image: &mut [f32]) {
    let (oh, ow) = (s.oh(), s.ow());
    let mut r = 0;
    for c in 0..s.c {
        let plane = &mut image[c * s.h * s.w..][..s.h * s.w];
        for ki in 0..s.kh {
            let (y0, y1) = valid_range(ki, s.ph, s.sh, s.h, oh);
            for kj in 0..s.kw {
                let (x0, x1) = valid_range(kj, s.pw, s.sw, s.w, ow);
                let row = &col[r * stride..][..oh * ow];
                r += 1;
                if x0 == x1 {
                    continue;
                }
                for y in y0..y1 {
                    let src = &row[y * ow + x0..y * ow + x1];
                    let line = &mut plane[source(y, ki, s.ph, s.sh) * s.w..][..s.w];
                    let dst = line[source(x0, kj, s.pw, s.sw)..].iter_mut().step_by(s.sw);
                    for (d, v) in dst.zip(src) {
                        *d += v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ranges_by_hand() {
        // 5x5 kernel, padding 2, 7 inputs, 7 outputs: offset 0 reads inputs o-2, valid
        // for o in 2..7; offset 4 reads o+2, valid for o in 0..5.
        assert_eq!(valid_range(0, 2, 1, 7, 7), (2, 7));
        assert_eq!(valid_range(2, 2, 1, 7, 7), (0, 7));
        assert_eq!(valid_range(4, 2, 1, 7, 7), (0, 5));
        // A kernel wider than input + padding on that side: nothing valid.
        assert_eq!(valid_range(4, 0, 1, 2, 1), (0, 0));
        // 3x3, padding 1, stride 2, 8 inputs, 4 outputs (ResNet's downsampling): offset 0
        // reads 2o-1, valid for o in 1..4; offset 2 reads 2o+1, valid for all 4.
        assert_eq!(valid_range(0, 1, 2, 8, 4), (1, 4));
        assert_eq!(valid_range(2, 1, 2, 8, 4), (0, 4));
        // 1x1, no padding, stride 2 on 7 inputs: 4 outputs read 0, 2, 4, 6.
        assert_eq!(valid_range(0, 0, 2, 7, 4), (0, 4));
    }
}
