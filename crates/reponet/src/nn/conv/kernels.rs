//! 2-D convolution (stride 1, no dilation, one group) forward and backward on float32
//! NCHW slices, as im2col/col2im around one GEMM per image (the `gemm` crate, AVX-512
//! where the CPU has it), images spread over rayon's threads.
//!
//! Why not Burn's: flex computes the gradient w.r.t. x as a generic transposed
//! convolution with scalar scatter loops and the weight gradient as a convolution with
//! batch and channels swapped; here both are one GEMM per image on the same im2col
//! buffer, computed in a single pass over the batch, with one scratch buffer per task
//! instead of fresh tensors per image.

use rayon::prelude::*;

/// Shapes of one convolution: input `[n, c, h, w]`, weight `[o, c, kh, kw]`, padding
/// `(ph, pw)` on both sides, stride 1. Output `[n, o, oh, ow]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Batch size.
    pub n: usize,
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub o: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Padding rows above and below.
    pub ph: usize,
    /// Padding columns left and right.
    pub pw: usize,
}

impl ConvShape {
    /// Output height.
    pub fn oh(&self) -> usize {
        self.h + 2 * self.ph + 1 - self.kh
    }
    /// Output width.
    pub fn ow(&self) -> usize {
        self.w + 2 * self.pw + 1 - self.kw
    }
    /// Elements of one input image.
    fn image(&self) -> usize {
        self.c * self.h * self.w
    }
    /// Elements of one output image.
    fn out_image(&self) -> usize {
        self.o * self.oh() * self.ow()
    }
    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }
    /// Columns of the im2col matrix: one per output pixel.
    fn pixels(&self) -> usize {
        self.oh() * self.ow()
    }
    /// Whether the kernel fits in the padded input.
    pub fn is_valid(&self) -> bool {
        self.kh >= 1
            && self.kw >= 1
            && self.h + 2 * self.ph >= self.kh
            && self.w + 2 * self.pw >= self.kw
    }

    /// Images per parallel task: enough tasks to keep every thread busy (4 per thread,
    /// for balance), but whole images so each task reuses one scratch buffer.
    fn images_per_task(&self) -> usize {
        let tasks = 4 * rayon::current_num_threads();
        self.n.div_ceil(tasks).max(1)
    }

    /// Images per GEMM: small feature maps (LeNet++'s 7x7 and 14x14) are grouped side by
    /// side so each GEMM has at least `MIN_GEMM_COLUMNS` columns; one 49-column GEMM per
    /// image spent more time packing than multiplying.
    fn images_per_gemm(&self) -> usize {
        const MIN_GEMM_COLUMNS: usize = 512;
        MIN_GEMM_COLUMNS
            .div_ceil(self.pixels())
            .clamp(1, self.images_per_task())
    }
}

/// For kernel offset `k` and padding `p`, the output positions `lo..hi` whose input
/// position `out + k - p` lies inside `0..size`.
fn valid_range(k: usize, p: usize, size: usize, out: usize) -> (usize, usize) {
    let lo = p.saturating_sub(k).min(out);
    let hi = (size + p).saturating_sub(k).min(out).max(lo);
    (lo, hi)
}

/// Unfold one image `[c, h, w]` into the first `oh*ow` columns of `col`, a
/// `[c*kh*kw, stride]` matrix (zeros where the kernel overhangs the padding). A group of
/// images shares one matrix, side by side: the caller offsets `col` by the image's columns.
fn im2col(s: &ConvShape, image: &[f32], col: &mut [f32], stride: usize) {
    let (oh, ow) = (s.oh(), s.ow());
    let mut r = 0;
    for c in 0..s.c {
        let plane = &image[c * s.h * s.w..][..s.h * s.w];
        for ki in 0..s.kh {
            let (y0, y1) = valid_range(ki, s.ph, s.h, oh);
            for kj in 0..s.kw {
                let (x0, x1) = valid_range(kj, s.pw, s.w, ow);
                let row = &mut col[r * stride..][..oh * ow];
                r += 1;
                row[..y0 * ow].fill(0.0);
                row[y1 * ow..].fill(0.0);
                for y in y0..y1 {
                    let dst = &mut row[y * ow..][..ow];
                    let src = &plane[(y + ki - s.ph) * s.w..][..s.w];
                    dst[..x0].fill(0.0);
                    dst[x1..].fill(0.0);
                    dst[x0..x1].copy_from_slice(&src[x0 + kj - s.pw..x1 + kj - s.pw]);
                }
            }
        }
    }
}

/// Fold the first `oh*ow` columns of `col` `[c*kh*kw, stride]` back onto one image
/// `[c, h, w]`, adding (the adjoint of [`im2col`]). `image` must start at zero.
fn col2im_add(s: &ConvShape, col: &[f32], stride: usize, image: &mut [f32]) {
    let (oh, ow) = (s.oh(), s.ow());
    let mut r = 0;
    for c in 0..s.c {
        let plane = &mut image[c * s.h * s.w..][..s.h * s.w];
        for ki in 0..s.kh {
            let (y0, y1) = valid_range(ki, s.ph, s.h, oh);
            for kj in 0..s.kw {
                let (x0, x1) = valid_range(kj, s.pw, s.w, ow);
                let row = &col[r * stride..][..oh * ow];
                r += 1;
                for y in y0..y1 {
                    let src = &row[y * ow + x0..y * ow + x1];
                    let dst = &mut plane[(y + ki - s.ph) * s.w + x0 + kj - s.pw..][..x1 - x0];
                    for (d, v) in dst.iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
        }
    }
}

/// A row-major matrix view for [`matmul`]: element (i, j) at `i * row + j * col`.
#[derive(Clone, Copy)]
struct View {
    ptr: *const f32,
    row: isize,
    col: isize,
}

impl View {
    fn rows(m: &[f32], cols: usize) -> Self {
        Self {
            ptr: m.as_ptr(),
            row: cols as isize,
            col: 1,
        }
    }
    /// The transpose of a row-major `[rows, cols]` matrix.
    fn transposed(m: &[f32], cols: usize) -> Self {
        Self {
            ptr: m.as_ptr(),
            row: 1,
            col: cols as isize,
        }
    }
}

/// `dst [m, n] (row-major) = (accumulate ? dst : 0) + a [m, k] · b [k, n]`, on this
/// thread (the caller parallelises over images).
fn matmul(dst: &mut [f32], m: usize, n: usize, k: usize, a: View, b: View, accumulate: bool) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    // SAFETY: `dst` holds m*n elements (checked above); `a` and `b` were built from slices
    // holding the [m, k] and [k, n] matrices their strides describe (see the callers).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.ptr,
            a.col,
            a.row,
            b.ptr,
            b.col,
            b.row,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

fn check_lengths(s: &ConvShape, x: &[f32], weight: &[f32]) {
    assert!(
        s.is_valid(),
        "conv2d: kernel larger than padded input: {s:?}"
    );
    assert_eq!(x.len(), s.n * s.image(), "conv2d: input length for {s:?}");
    assert_eq!(
        weight.len(),
        s.o * s.patch(),
        "conv2d: weight length for {s:?}"
    );
}

/// Forward convolution: `[n, o, oh, ow]` from `x` `[n, c, h, w]`, `weight`
/// `[o, c, kh, kw]` and `bias` `[o]`.
pub fn conv2d_forward(s: &ConvShape, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
    check_lengths(s, x, weight);
    let (pixels, patch, out_image) = (s.pixels(), s.patch(), s.out_image());
    let (per_task, per_gemm) = (s.images_per_task(), s.images_per_gemm());
    let mut out = vec![0.0f32; s.n * out_image];
    out.par_chunks_mut(per_task * out_image)
        .zip(x.par_chunks(per_task * s.image()))
        .for_each(|(out, x)| {
            let mut col = vec![0.0f32; patch * per_gemm * pixels];
            let mut grouped = vec![
                0.0f32;
                if per_gemm > 1 {
                    out_image * per_gemm
                } else {
                    0
                }
            ];
            for (out, x) in out
                .chunks_mut(per_gemm * out_image)
                .zip(x.chunks(per_gemm * s.image()))
            {
                let stride = x.len() / s.image() * pixels;
                for (j, image) in x.chunks_exact(s.image()).enumerate() {
                    im2col(s, image, &mut col[j * pixels..], stride);
                }
                // One image: the GEMM writes the output in place; several: `[o, images *
                // pixels]`, then each image's columns are copied to its place.
                let dst = if stride == pixels {
                    &mut *out
                } else {
                    &mut grouped[..s.o * stride]
                };
                if let Some(bias) = bias {
                    for (row, b) in dst.chunks_exact_mut(stride).zip(bias) {
                        row.fill(*b);
                    }
                }
                let cols = View::rows(&col, stride);
                matmul(
                    dst,
                    s.o,
                    stride,
                    patch,
                    View::rows(weight, patch),
                    cols,
                    bias.is_some(),
                );
                if stride != pixels {
                    ungroup(&grouped[..s.o * stride], s.o, pixels, out);
                }
            }
        });
    out
}

/// `[o, images * pixels]` (images side by side, as the grouped GEMM writes them) to
/// `[images, o, pixels]`.
fn ungroup(grouped: &[f32], o: usize, pixels: usize, images: &mut [f32]) {
    let stride = grouped.len() / o;
    for (j, image) in images.chunks_exact_mut(o * pixels).enumerate() {
        for (c, plane) in image.chunks_exact_mut(pixels).enumerate() {
            plane.copy_from_slice(&grouped[c * stride + j * pixels..][..pixels]);
        }
    }
}

/// `[images, o, pixels]` to `[o, images * pixels]`: the inverse of [`ungroup`].
fn group(images: &[f32], o: usize, pixels: usize, grouped: &mut [f32]) {
    let stride = grouped.len() / o;
    for (j, image) in images.chunks_exact(o * pixels).enumerate() {
        for (c, plane) in image.chunks_exact(pixels).enumerate() {
            grouped[c * stride + j * pixels..][..pixels].copy_from_slice(plane);
        }
    }
}

/// Gradients of a convolution, each computed only when asked for.
#[derive(Debug, Default)]
pub struct ConvGrads {
    /// W.r.t. the input, `[n, c, h, w]`.
    pub x: Option<Vec<f32>>,
    /// W.r.t. the weight, `[o, c, kh, kw]`.
    pub weight: Option<Vec<f32>>,
    /// W.r.t. the bias, `[o]`.
    pub bias: Option<Vec<f32>>,
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
}

fn add_assign(total: &mut [f32], values: &[f32]) {
    for (t, v) in total.iter_mut().zip(values) {
        *t += v;
    }
}

/// Backward convolution from the output gradient `grad` `[n, o, oh, ow]`: the input's
/// gradient (`weight`ᵀ · grad per image, folded by col2im), the weight's
/// (Σ grad · im2col(x)ᵀ) and the bias's (Σ grad over images and pixels), in one pass.
pub fn conv2d_backward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    wanted: Wanted,
) -> ConvGrads {
    check_lengths(s, x, weight);
    let (pixels, patch, out_image) = (s.pixels(), s.patch(), s.out_image());
    assert_eq!(
        grad.len(),
        s.n * out_image,
        "conv2d: output gradient length for {s:?}"
    );
    let (per_task, per_gemm) = (s.images_per_task(), s.images_per_gemm());
    let tasks = s.n.div_ceil(per_task);
    let mut gx = wanted.x.then(|| vec![0.0f32; s.n * s.image()]);
    // Each task sums its images' weight and bias gradients; the partial sums are added
    // after (a few per thread, each the size of the weight).
    let (gw, gb) = {
        let gx_chunks: Vec<Option<&mut [f32]>> = match gx.as_mut() {
            Some(gx) => gx.chunks_mut(per_task * s.image()).map(Some).collect(),
            None => (0..tasks).map(|_| None).collect(),
        };
        gx_chunks
            .into_par_iter()
            .zip(x.par_chunks(per_task * s.image()))
            .zip(grad.par_chunks(per_task * out_image))
            .map(|((mut gx, x), grad)| {
                let mut col = vec![0.0f32; patch * per_gemm * pixels];
                let mut grouped = vec![
                    0.0f32;
                    if per_gemm > 1 {
                        out_image * per_gemm
                    } else {
                        0
                    }
                ];
                let mut gw = vec![0.0f32; if wanted.weight { s.o * patch } else { 0 }];
                let mut gb = vec![0.0f32; if wanted.bias { s.o } else { 0 }];
                let groups = x
                    .chunks(per_gemm * s.image())
                    .zip(grad.chunks(per_gemm * out_image));
                for (first, (x, g)) in groups.enumerate() {
                    let images = x.len() / s.image();
                    let stride = images * pixels;
                    // The group's output gradient as `[o, images * pixels]`.
                    let g = if images == 1 {
                        g
                    } else {
                        group(g, s.o, pixels, &mut grouped[..s.o * stride]);
                        &grouped[..s.o * stride]
                    };
                    if wanted.weight {
                        for (j, image) in x.chunks_exact(s.image()).enumerate() {
                            im2col(s, image, &mut col[j * pixels..], stride);
                        }
                        let cols = View::transposed(&col, stride);
                        let g = View::rows(g, stride);
                        matmul(&mut gw, s.o, patch, stride, g, cols, first > 0);
                    }
                    if wanted.bias {
                        for (b, row) in gb.iter_mut().zip(g.chunks_exact(stride)) {
                            *b += row.iter().sum::<f32>();
                        }
                    }
                    if let Some(gx) = gx.as_deref_mut() {
                        let w_t = View::transposed(weight, patch);
                        matmul(
                            &mut col,
                            patch,
                            stride,
                            s.o,
                            w_t,
                            View::rows(g, stride),
                            false,
                        );
                        let gx = &mut gx[first * per_gemm * s.image()..][..images * s.image()];
                        for (j, image) in gx.chunks_exact_mut(s.image()).enumerate() {
                            col2im_add(s, &col[j * pixels..], stride, image);
                        }
                    }
                }
                (gw, gb)
            })
            .reduce_with(|(mut gw, mut gb), (w, b)| {
                add_assign(&mut gw, &w);
                add_assign(&mut gb, &b);
                (gw, gb)
            })
            .expect("a batch has at least one task")
    };
    ConvGrads {
        x: gx,
        weight: wanted.weight.then_some(gw),
        bias: wanted.bias.then_some(gb),
    }
}

/// PReLU on a convolution's output `z` `[n, o, pixels]`, in place: `z` where positive,
/// else `alpha · z`, with one slope (`alpha.len() == 1`) or one per channel.
pub fn prelu_forward(z: &mut [f32], alpha: &[f32], pixels: usize) {
    z.par_chunks_mut(pixels).enumerate().for_each(|(plane, z)| {
        let a = alpha[plane % alpha.len()];
        for z in z {
            if *z <= 0.0 {
                *z *= a;
            }
        }
    });
}

/// PReLU's backward from the output gradient `grad`: the gradient w.r.t. `z` and, per
/// slope, Σ grad · z over the non-positive entries.
pub fn prelu_backward(
    z: &[f32],
    alpha: &[f32],
    grad: &[f32],
    pixels: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut gz = vec![0.0f32; z.len()];
    let per_plane: Vec<f32> = gz
        .par_chunks_mut(pixels)
        .zip(z.par_chunks(pixels).zip(grad.par_chunks(pixels)))
        .enumerate()
        .map(|(plane, (gz, (z, g)))| {
            let a = alpha[plane % alpha.len()];
            let mut slope_grad = 0.0f32;
            for ((gz, z), g) in gz.iter_mut().zip(z).zip(g) {
                if *z > 0.0 {
                    *gz = *g;
                } else {
                    *gz = a * g;
                    slope_grad += g * z;
                }
            }
            slope_grad
        })
        .collect();
    let mut galpha = vec![0.0f32; alpha.len()];
    for (plane, v) in per_plane.iter().enumerate() {
        galpha[plane % alpha.len()] += v;
    }
    (gz, galpha)
}

#[cfg(test)]
mod tests {
    //! Every kernel against a direct float64 convolution written from the definition, on
    //! random shapes (padding from none to more than the kernel, 1x1 to 5x5 kernels, odd
    //! sizes, batches that do not divide into the tasks) and LeNet++'s own layers.
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Float64 reference: forward and the three gradients, straight from the sums.
    fn reference(s: &ConvShape, x: &[f32], w: &[f32], b: &[f32], g: &[f32]) -> [Vec<f64>; 4] {
        let (oh, ow) = (s.oh(), s.ow());
        let xi = |n, c, i, j| ((n * s.c + c) * s.h + i) * s.w + j;
        let wi = |o, c, ki, kj| ((o * s.c + c) * s.kh + ki) * s.kw + kj;
        let oi = |n, o, y, x| ((n * s.o + o) * oh + y) * ow + x;
        let mut out = vec![0.0f64; s.n * s.o * oh * ow];
        let mut gx = vec![0.0f64; x.len()];
        let mut gw = vec![0.0f64; w.len()];
        let mut gb = vec![0.0f64; s.o];
        for n in 0..s.n {
            for o in 0..s.o {
                for y in 0..oh {
                    for xo in 0..ow {
                        let go = g[oi(n, o, y, xo)] as f64;
                        let mut acc = b[o] as f64;
                        gb[o] += go;
                        for c in 0..s.c {
                            for ki in 0..s.kh {
                                for kj in 0..s.kw {
                                    let (i, j) = (y + ki, xo + kj);
                                    if i < s.ph || j < s.pw || i - s.ph >= s.h || j - s.pw >= s.w {
                                        continue;
                                    }
                                    let (i, j) = (i - s.ph, j - s.pw);
                                    let xv = x[xi(n, c, i, j)] as f64;
                                    let wv = w[wi(o, c, ki, kj)] as f64;
                                    acc += xv * wv;
                                    gx[xi(n, c, i, j)] += go * wv;
                                    gw[wi(o, c, ki, kj)] += go * xv;
                                }
                            }
                        }
                        out[oi(n, o, y, xo)] = acc;
                    }
                }
            }
        }
        [out, gx, gw, gb]
    }

    /// Normwise relative error max|got - want| / max|want|.
    fn rel_err(got: &[f32], want: &[f64]) -> f64 {
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
        let err = got
            .iter()
            .zip(want)
            .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
        err / scale
    }

    fn random(rng: &mut StdRng, len: usize) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
    }

    /// Tolerance: float32 sums of up to c*kh*kw (forward, x-gradient) or n*oh*ow
    /// (weight gradient) products; measured errors are about 1e-7 to 1e-6.
    const TOLERANCE: f64 = 1e-4;

    fn check(s: ConvShape, rng: &mut StdRng) {
        let x = random(rng, s.n * s.c * s.h * s.w);
        let w = random(rng, s.o * s.c * s.kh * s.kw);
        let b = random(rng, s.o);
        let g = random(rng, s.n * s.o * s.oh() * s.ow());
        let [out, gx, gw, gb] = reference(&s, &x, &w, &b, &g);
        let all = Wanted {
            x: true,
            weight: true,
            bias: true,
        };
        let grads = conv2d_backward(&s, &x, &w, &g, all);
        let errors = [
            (
                "forward",
                rel_err(&conv2d_forward(&s, &x, &w, Some(&b)), &out),
            ),
            ("x-gradient", rel_err(grads.x.as_ref().unwrap(), &gx)),
            (
                "weight gradient",
                rel_err(grads.weight.as_ref().unwrap(), &gw),
            ),
            ("bias gradient", rel_err(grads.bias.as_ref().unwrap(), &gb)),
        ];
        for (what, err) in errors {
            assert!(err < TOLERANCE, "{what} of {s:?}: relative error {err:e}");
        }
        // Without a bias the forward is the biased one minus the bias.
        let unbiased = conv2d_forward(&s, &x, &w, None);
        let shifted: Vec<f64> = out
            .iter()
            .enumerate()
            .map(|(i, v)| v - b[(i / (s.oh() * s.ow())) % s.o] as f64)
            .collect();
        assert!(
            rel_err(&unbiased, &shifted) < TOLERANCE,
            "no-bias forward of {s:?}"
        );
        // Asking for fewer gradients gives the same ones and leaves the others out.
        let some = conv2d_backward(
            &s,
            &x,
            &w,
            &g,
            Wanted {
                x: false,
                weight: true,
                bias: false,
            },
        );
        assert!(some.x.is_none() && some.bias.is_none());
        assert_eq!(some.weight, grads.weight);
    }

    #[test]
    fn random_shapes_match_float64() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..25 {
            let (kh, kw) = (rng.random_range(1..=5), rng.random_range(1..=5));
            let s = ConvShape {
                n: rng.random_range(1..=9),
                c: rng.random_range(1..=4),
                h: rng.random_range(1..=9),
                w: rng.random_range(1..=9),
                o: rng.random_range(1..=5),
                kh,
                kw,
                ph: rng.random_range(0..=kh + 1),
                pw: rng.random_range(0..=kw + 1),
            };
            if s.is_valid() {
                check(s, &mut rng);
            }
        }
    }

    #[test]
    fn lenet_layers_match_float64() {
        let mut rng = StdRng::seed_from_u64(11);
        for (c, o, size) in [(1, 32, 28), (32, 32, 28), (32, 64, 14), (64, 128, 7)] {
            let s = ConvShape {
                n: 3,
                c,
                h: size,
                w: size,
                o,
                kh: 5,
                kw: 5,
                ph: 2,
                pw: 2,
            };
            check(s, &mut rng);
        }
    }

    #[test]
    fn grouped_gemms_match_float64() {
        // Small maps put several images side by side in one GEMM; batches that do not
        // divide into tasks or groups leave short last ones. Pinned to 2 threads (CI's)
        // so the grouping is the same on every machine.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        pool.install(|| {
            for (n, c, o, size) in [(37, 8, 16, 7), (64, 3, 4, 5), (29, 2, 3, 14)] {
                let s = ConvShape {
                    n,
                    c,
                    h: size,
                    w: size,
                    o,
                    kh: 5,
                    kw: 5,
                    ph: 2,
                    pw: 2,
                };
                assert!(s.images_per_gemm() > 1, "{s:?} is grouped");
                check(s, &mut rng);
            }
        });
    }

    #[test]
    fn prelu_matches_float64() {
        let mut rng = StdRng::seed_from_u64(3);
        let (n, o, pixels) = (3, 4, 10);
        let z = random(&mut rng, n * o * pixels);
        let g = random(&mut rng, z.len());
        for alpha in [vec![0.25f32], random(&mut rng, o)] {
            let slope = |i: usize| alpha[(i / pixels) % o % alpha.len()] as f64;
            let mut y = z.clone();
            prelu_forward(&mut y, &alpha, pixels);
            let (gz, galpha) = prelu_backward(&z, &alpha, &g, pixels);
            let mut want_galpha = vec![0.0f64; alpha.len()];
            for (i, (&zi, &gi)) in z.iter().zip(&g).enumerate() {
                let (zi, gi) = (zi as f64, gi as f64);
                let (want_y, want_gz) = if zi > 0.0 {
                    (zi, gi)
                } else {
                    (slope(i) * zi, slope(i) * gi)
                };
                assert!(
                    (y[i] as f64 - want_y).abs() <= 1e-7 * want_y.abs(),
                    "y[{i}]"
                );
                assert!(
                    (gz[i] as f64 - want_gz).abs() <= 1e-7 * want_gz.abs(),
                    "gz[{i}]"
                );
                if zi <= 0.0 {
                    want_galpha[(i / pixels) % o % alpha.len()] += gi * zi;
                }
            }
            assert!(rel_err(&galpha, &want_galpha) < TOLERANCE, "alpha gradient");
        }
    }

    #[test]
    fn valid_ranges_by_hand() {
        // 5x5 kernel, padding 2, 7 inputs, 7 outputs: offset 0 reads inputs o-2, valid
        // for o in 2..7; offset 4 reads o+2, valid for o in 0..5.
        assert_eq!(valid_range(0, 2, 7, 7), (2, 7));
        assert_eq!(valid_range(2, 2, 7, 7), (0, 7));
        assert_eq!(valid_range(4, 2, 7, 7), (0, 5));
        // A kernel wider than input + padding on that side: nothing valid.
        assert_eq!(valid_range(4, 0, 2, 1), (0, 0));
    }
}
