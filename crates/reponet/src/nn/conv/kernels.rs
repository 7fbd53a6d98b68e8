//! 2-D convolution (stride 1, no dilation, one group) forward and backward on float32
//! NCHW slices, images spread over rayon's threads in tasks and, within a task, taken a
//! group at a time:
//!
//! - 5x5 kernels with 16 or more channels: Winograd F(4x4, 5x5) ([`super::winograd`]) for
//!   the forward pass and for both gradients (the input's as the convolution of the output
//!   gradient with the flipped, transposed kernel; the weight's summed in the transformed
//!   domain), each 64 GEMMs over the group's tiles;
//! - otherwise im2col + one GEMM per group (the `gemm` crate, AVX-512 where the CPU has
//!   it), and col2im for the input's gradient.
//!
//! Bias, PReLU and 2x2 max pooling ([`After`]) are applied while a group's GEMM result is
//! still in cache, and undone the same way in the backward. Why not Burn's: flex computes
//! the input's gradient as a generic transposed convolution with scalar scatter loops and
//! the weight's as a convolution with batch and channels swapped, allocates fresh tensors
//! for each, and runs PReLU and pooling as separate passes with their own graphs.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::winograd;

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
    /// The output size after [`After::pool`] (if set): `(oh, ow)` or their halves.
    pub fn out_size(&self, pool: bool) -> (usize, usize) {
        if pool {
            (self.oh() / 2, self.ow() / 2)
        } else {
            (self.oh(), self.ow())
        }
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
        // Winograd's GEMMs have a column per 4x4 tile: group for at least this many.
        const MIN_WINOGRAD_TILES: usize = 256;
        let per_image = if winograd::applies(self) {
            let (th, tw) = winograd::tiles(self);
            MIN_GEMM_COLUMNS
                .div_ceil(self.pixels())
                .max(MIN_WINOGRAD_TILES.div_ceil(th * tw))
        } else {
            MIN_GEMM_COLUMNS.div_ceil(self.pixels())
        };
        per_image.clamp(1, self.images_per_task())
    }

    /// The convolution whose output is the gradient w.r.t. this one's input: the output
    /// gradient convolved with the flipped, transposed kernel, padded by k - 1 - p (stride
    /// 1). `None` if the padding exceeds k - 1 (then the gradient is not such a convolution).
    pub fn transposed(&self) -> Option<ConvShape> {
        (self.ph < self.kh && self.pw < self.kw).then(|| ConvShape {
            n: self.n,
            c: self.o,
            h: self.oh(),
            w: self.ow(),
            o: self.c,
            kh: self.kh,
            kw: self.kw,
            ph: self.kh - 1 - self.ph,
            pw: self.kw - 1 - self.pw,
        })
    }
}

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

/// A convolution of a group of `images` images (`planes`) by
/// Winograd F(4x4, 5x5) into `res` `[o, images * oh * ow]`, with `u` the transformed
/// kernel and `v`, `m` scratch.
fn winograd_group(
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
    for p in 0..winograd::POSITIONS {
        let m = &mut m[p * s.o * tiles..][..s.o * tiles];
        let u = View::rows(&u[p * s.o * s.c..], s.c);
        let v = View::rows(&v[p * s.c * tiles..], tiles);
        matmul(m, s.o, tiles, s.c, u, v, false);
    }
    winograd::transform_output(s, images, m, res);
}

/// Scratch lengths for [`winograd_group`] of up to `images` images.
fn winograd_scratch(s: &ConvShape, images: usize) -> [usize; 2] {
    let (th, tw) = winograd::tiles(s);
    let tiles = images * th * tw;
    [
        winograd::POSITIONS * s.c * tiles,
        winograd::POSITIONS * s.o * tiles,
    ]
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

/// A matrix view for [`matmul`] on a slice: element (i, j) at `i * row + j * col`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row: usize,
    col: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row: cols,
            col: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row: 1,
            col: cols,
        }
    }
    /// Checks that a `[rows, cols]` matrix fits in the slice (so `matmul` is safe).
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.row + (cols - 1) * self.col < self.data.len()
    }
}

/// `dst [m, n] (row-major) = (accumulate ? dst : 0) + a [m, k] · b [k, n]`, on this
/// thread (the caller parallelises over images).
fn matmul(dst: &mut [f32], m: usize, n: usize, k: usize, a: View, b: View, accumulate: bool) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    // SAFETY: `dst` holds m*n initialised elements.
    unsafe { gemm_into(dst.as_mut_ptr(), m, n, k, a, b, accumulate) }
}

/// [`matmul`] without `accumulate`, into a destination not yet written (never read).
fn matmul_overwrite(dst: &mut [MaybeUninit<f32>], m: usize, n: usize, k: usize, a: View, b: View) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    // SAFETY: `dst` holds m*n elements, which the GEMM writes without reading them.
    unsafe { gemm_into(dst.as_mut_ptr().cast(), m, n, k, a, b, false) }
}

/// The GEMM of [`matmul`] into `dst`.
///
/// # Safety
/// `dst` must be valid for m*n writes, and for reads (initialised) if `accumulate`.
unsafe fn gemm_into(
    dst: *mut f32,
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    accumulate: bool,
) {
    assert!(
        a.fits(m, k) && b.fits(k, n),
        "matmul: operand outside its slice"
    );
    // SAFETY: `dst` as the caller promises, and every element of the [m, k] and [k, n]
    // operands lies inside its slice (checked above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col as isize,
            a.row as isize,
            b.data.as_ptr(),
            b.col as isize,
            b.row as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `gw[at..at + m n]` = a · b while `gw` is still empty (a task's first group, which
/// writes all of it), += a · b after: the partial sums are never zeroed first (a memset
/// of up to 8 MiB per task and step, 3-5 % of a step at batch 128).
fn matmul_partial(gw: &mut Vec<f32>, at: usize, m: usize, n: usize, k: usize, a: View, b: View) {
    if gw.is_empty() {
        matmul_overwrite(&mut gw.spare_capacity_mut()[at..], m, n, k, a, b);
    } else {
        matmul(&mut gw[at..], m, n, k, a, b, true);
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

thread_local! {
    /// Each thread's im2col and GEMM buffers, kept between calls: a training step runs
    /// a dozen convolutions, and fresh buffers cost a memset or page faults each time.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's scratch buffer split into slices of `lens` floats. The
/// contents are whatever the last user left (never uninitialised); callers write before
/// they read. `f` must not call back into this module (it never does: GEMMs run on
/// the calling thread).
fn with_scratch<const K: usize, R>(lens: [usize; K], f: impl FnOnce([&mut [f32]; K]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        let total = lens.iter().sum();
        if buf.len() < total {
            buf.resize(total, 0.0);
        }
        let mut rest = &mut buf[..total];
        f(lens.map(|len| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            head
        }))
    })
}

/// A vector of `len` floats that `fill` writes completely before anyone reads it,
/// without zeroing it first (a memset of every activation, 6-8 % of a step, before).
fn filled_vec(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: every caller's `fill` writes each of the `len` elements (the chunks it
    // hands out cover the slice, and each chunk is written in full).
    unsafe { v.set_len(len) };
    v
}

/// The slice once every element has been written.
///
/// # Safety
/// Every element of `s` must have been initialised.
unsafe fn assume_init(s: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    // SAFETY: MaybeUninit<f32> has f32's layout; the caller guarantees initialisation.
    unsafe { &mut *(s as *mut [MaybeUninit<f32>] as *mut [f32]) }
}

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
}

impl After<'_> {
    /// The factor of channel `c`'s non-positive values: its PReLU slope, 1 without PReLU.
    /// Looked up once per plane: the lookup's modulo (one shared slope, or one per
    /// channel) is an integer division, which per value cost several per cent of a step.
    fn slope(&self, c: usize) -> f32 {
        self.prelu.map_or(1.0, |alpha| slope(alpha, c))
    }

    /// Whether the backward needs the pre-activation (PReLU's slopes, pooling's argmax).
    fn needs_pre_activation(&self) -> bool {
        self.prelu.is_some() || self.pool
    }
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
/// `after` asks for (bias, PReLU, 2x2 max pooling), applied while each group's GEMM
/// result is still in cache, as it is copied out.
pub fn conv2d_forward(
    s: &ConvShape,
    x: &[f32],
    weight: &[f32],
    after: After,
    keep_pre_activation: bool,
) -> Forward {
    check_lengths(s, x, weight);
    let (pixels, patch, out_image) = (s.pixels(), s.patch(), s.out_image());
    let (ph, pw) = s.out_size(after.pool);
    let final_image = s.o * ph * pw;
    let (per_task, per_gemm) = (s.images_per_task(), s.images_per_gemm());
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
            .for_each(|((out, mut pre), x)| {
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
                        epilogue(s, res, after, out, pre);
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

/// Copy a group's GEMM result `res` `[o, images * pixels]` to `out` `[images, o, pixels]`
/// (pixels halved each way by pooling) through `after`; the values before the activation
/// go to `pre` `[images, o, pixels]` if given.
fn epilogue(
    s: &ConvShape,
    res: &[f32],
    after: After,
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
                for (o, v) in plane.iter_mut().zip(src) {
                    o.write(act(v + b, a));
                }
            }
        }
    }
}

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
    let (per_task, per_gemm) = (s.images_per_task(), s.images_per_gemm());
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
        (true, true) => winograd::POSITIONS * s.o * s.c,
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
                    for p in 0..winograd::POSITIONS {
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
                    epilogue(t, res, After::default(), gx, None);
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

/// A group's output gradient `grad` `[images, o, ph * pw]` into `g` `[o, images *
/// pixels]`, the gradient w.r.t. the convolution's output: back through the pooling (to
/// each window's first largest activation) and PReLU (grad where the pre-activation is
/// positive, else slope · grad, and the slopes' gradient Σ grad · pre-activation there
/// into `ga`), given `after` and the group's pre-activation `[images, o, pixels]`.
fn gather_grad(
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
fn sum_lanes(values: &[f32]) -> f32 {
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

#[cfg(test)]
mod tests {
    //! Every kernel against a direct float64 convolution written from the definition, on
    //! random shapes (padding from none to more than the kernel, 1x1 to 5x5 kernels, odd
    //! sizes, batches that do not divide into the tasks) and LeNet++'s own layers.
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Float64 reference, straight from the sums: the convolution plus bias `z`, then
    /// PReLU with `alpha` if given and 2x2 max pooling if `pool` (`out`); from the
    /// gradient `g` of `out`, the gradients of the input, weight, bias and slopes, and per
    /// slope the largest sum of its terms' sizes (the scale of that sum's rounding).
    ///
    /// Which side of PReLU's kink an entry is on, and which entry wins a pooling window,
    /// is read from `routing` (the tested kernel's own float32 pre-activation) when given:
    /// an entry within rounding of zero (or of its neighbour) may fall either way, and the
    /// gradient of the other piece differs by (1 - slope) · grad there, far above any
    /// tolerance, though both are right to float32 precision.
    fn reference(
        s: &ConvShape,
        [x, w, b, g]: [&[f32]; 4],
        alpha: Option<&[f32]>,
        pool: bool,
        routing: Option<&[f32]>,
    ) -> [Vec<f64>; 7] {
        let (oh, ow) = (s.oh(), s.ow());
        let xi = |n, c, i, j| ((n * s.c + c) * s.h + i) * s.w + j;
        let wi = |o, c, ki, kj| ((o * s.c + c) * s.kh + ki) * s.kw + kj;
        let oi = |n, o, y, x| ((n * s.o + o) * oh + y) * ow + x;
        // The kernel's tap (ki, kj) at output (y, xo): the input pixel, if inside.
        let tap = |y: usize, xo: usize, ki: usize, kj: usize| {
            let (i, j) = (y + ki, xo + kj);
            (i >= s.ph && j >= s.pw && i - s.ph < s.h && j - s.pw < s.w)
                .then(|| (i - s.ph, j - s.pw))
        };
        let mut z = vec![0.0f64; s.n * s.o * oh * ow];
        for (n, o, y, xo) in every(s.n, s.o, oh, ow) {
            let mut acc = b[o] as f64;
            for c in 0..s.c {
                for ki in 0..s.kh {
                    for kj in 0..s.kw {
                        if let Some((i, j)) = tap(y, xo, ki, kj) {
                            acc += x[xi(n, c, i, j)] as f64 * w[wi(o, c, ki, kj)] as f64;
                        }
                    }
                }
            }
            z[oi(n, o, y, xo)] = acc;
        }
        let slope = |o: usize| alpha.map_or(1.0, |a| a[o % a.len()] as f64);
        let positive = |k: usize| routing.map_or(z[k], |r| r[k] as f64) > 0.0;
        let act_of = |k: usize, v: f64| {
            if positive(k) {
                v
            } else {
                slope(k / (oh * ow) % s.o) * v
            }
        };
        let act: Vec<f64> = z.iter().enumerate().map(|(k, v)| act_of(k, *v)).collect();
        // What decides a pooling window: the same activation of the routing values.
        let decide: Vec<f64> = match routing {
            Some(r) => r
                .iter()
                .enumerate()
                .map(|(k, v)| act_of(k, *v as f64))
                .collect(),
            None => act.clone(),
        };
        // Pooling: each window's first largest activation (row-major) takes its gradient.
        let (out, mut gy) = if pool {
            let (ph, pw) = (oh / 2, ow / 2);
            let mut out = vec![0.0f64; s.n * s.o * ph * pw];
            let mut gy = vec![0.0f64; z.len()];
            for (n, o, py, px) in every(s.n, s.o, ph, pw) {
                let window = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .map(|(dy, dx)| oi(n, o, 2 * py + dy, 2 * px + dx));
                let best =
                    window
                        .into_iter()
                        .fold(window[0], |m, k| if decide[k] > decide[m] { k } else { m });
                let k = ((n * s.o + o) * ph + py) * pw + px;
                out[k] = act[best];
                gy[best] = g[k] as f64;
            }
            (out, gy)
        } else {
            (act.clone(), g.iter().map(|v| *v as f64).collect())
        };
        let mut ga = vec![0.0f64; alpha.map_or(0, |a| a.len())];
        let mut ga_terms = ga.clone();
        if let Some(a) = alpha {
            for (k, zk) in z.iter().enumerate() {
                let o = k / (oh * ow) % s.o;
                if !positive(k) {
                    ga[o % a.len()] += gy[k] * zk;
                    ga_terms[o % a.len()] += (gy[k] * zk).abs();
                    gy[k] *= slope(o);
                }
            }
        }
        let (mut gx, mut gw, mut gb) = (
            vec![0.0f64; x.len()],
            vec![0.0f64; w.len()],
            vec![0.0f64; s.o],
        );
        for (n, o, y, xo) in every(s.n, s.o, oh, ow) {
            let go = gy[oi(n, o, y, xo)];
            gb[o] += go;
            for c in 0..s.c {
                for ki in 0..s.kh {
                    for kj in 0..s.kw {
                        if let Some((i, j)) = tap(y, xo, ki, kj) {
                            gx[xi(n, c, i, j)] += go * w[wi(o, c, ki, kj)] as f64;
                            gw[wi(o, c, ki, kj)] += go * x[xi(n, c, i, j)] as f64;
                        }
                    }
                }
            }
        }
        [z, out, gx, gw, gb, ga, ga_terms]
    }

    /// Every (n, o, y, x) of an output.
    fn every(
        n: usize,
        o: usize,
        oh: usize,
        ow: usize,
    ) -> impl Iterator<Item = (usize, usize, usize, usize)> {
        (0..n).flat_map(move |n| {
            (0..o).flat_map(move |o| (0..oh).flat_map(move |y| (0..ow).map(move |x| (n, o, y, x))))
        })
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

    const ALL: Wanted = Wanted {
        x: true,
        weight: true,
        bias: true,
        alpha: true,
    };

    /// Forward and backward of `s` without an activation, with one PReLU slope and with
    /// one per channel, each without and with pooling (where the output is 2x2 or more),
    /// against [`reference`].
    fn check(s: ConvShape, rng: &mut StdRng) {
        let x = random(rng, s.n * s.c * s.h * s.w);
        let w = random(rng, s.o * s.c * s.kh * s.kw);
        let b = random(rng, s.o);
        let poolable = s.oh() >= 2 && s.ow() >= 2;
        for alpha in [None, Some(random(rng, 1)), Some(random(rng, s.o))] {
            for pool in [false, true].into_iter().filter(|p| !p || poolable) {
                let alpha = alpha.as_deref();
                let (oh, ow) = s.out_size(pool);
                let g = random(rng, s.n * s.o * oh * ow);
                let after = After {
                    bias: Some(&b),
                    prelu: alpha,
                    pool,
                };
                let f = conv2d_forward(&s, &x, &w, after, true);
                let routing = f.pre_activation.as_deref();
                let [z, out, gx, gw, gb, ga, ga_terms] =
                    reference(&s, [&x, &w, &b, &g], alpha, pool, routing);
                let back = (after, f.pre_activation.as_deref());
                let grads = conv2d_backward(&s, &x, &w, &g, back, ALL);
                let mut errors = vec![
                    ("forward", rel_err(&f.out, &out)),
                    ("x-gradient", rel_err(grads.x.as_ref().unwrap(), &gx)),
                    (
                        "weight gradient",
                        rel_err(grads.weight.as_ref().unwrap(), &gw),
                    ),
                    ("bias gradient", rel_err(grads.bias.as_ref().unwrap(), &gb)),
                ];
                if after.needs_pre_activation() {
                    errors.push((
                        "pre-activation",
                        rel_err(f.pre_activation.as_ref().unwrap(), &z),
                    ));
                } else {
                    assert!(f.pre_activation.is_none());
                }
                if alpha.is_some() {
                    // A sum of thousands of terms of both signs (grad · pre-activation):
                    // its error is relative to the sum of their sizes, as for any sum.
                    let got = grads.alpha.as_ref().unwrap();
                    let err = got.iter().zip(&ga).map(|(g, w)| (*g as f64 - w).abs());
                    let scale = ga_terms.iter().fold(1e-30f64, |m, v| m.max(*v));
                    errors.push(("slope gradient", err.fold(0.0, f64::max) / scale));
                } else {
                    assert!(grads.alpha.is_none());
                }
                for (what, err) in errors {
                    assert!(
                        err < TOLERANCE,
                        "{what} of {s:?}, slopes {alpha:?}, pool {pool}: relative error {err:e}"
                    );
                }
                // Asking for fewer gradients gives the same ones and leaves the others out.
                let only_weight = Wanted {
                    x: false,
                    weight: true,
                    bias: false,
                    alpha: false,
                };
                let some = conv2d_backward(&s, &x, &w, &g, back, only_weight);
                assert!(some.x.is_none() && some.bias.is_none() && some.alpha.is_none());
                assert_eq!(some.weight, grads.weight);
            }
        }
        // Without a bias the forward is the biased one minus the bias.
        let unbiased = conv2d_forward(&s, &x, &w, After::default(), false).out;
        let g = vec![0.0; s.n * s.o * s.oh() * s.ow()];
        let [z, ..] = reference(&s, [&x, &w, &vec![0.0; s.o], &g], None, false, None);
        assert!(
            rel_err(&unbiased, &z) < TOLERANCE,
            "no-bias forward of {s:?}"
        );
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

    /// A 5x5 convolution padded by 2 (LeNet++'s) on `size` x `size` images.
    fn lenet_like(n: usize, c: usize, o: usize, size: usize) -> ConvShape {
        ConvShape {
            n,
            c,
            h: size,
            w: size,
            o,
            kh: 5,
            kw: 5,
            ph: 2,
            pw: 2,
        }
    }

    #[test]
    fn lenet_layers_match_float64() {
        let mut rng = StdRng::seed_from_u64(11);
        for (c, o, size) in [(1, 32, 28), (32, 32, 28), (32, 64, 14), (64, 128, 7)] {
            check(lenet_like(2, c, o, size), &mut rng);
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
                let s = lenet_like(n, c, o, size);
                assert!(s.images_per_gemm() > 1, "{s:?} is grouped");
                check(s, &mut rng);
            }
        });
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
