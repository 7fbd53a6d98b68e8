//! Winograd minimal filtering F(4x4, 5x5) for stride-1 5x5 convolutions: each 4x4 block
//! of outputs from an 8x8 block of inputs with 64 multiplications per channel pair
//! instead of 400 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
//! CVPR 2016). The 64 element-wise products over channels are 64 GEMMs, one per position
//! in the 8x8 transformed tile.
//!
//! The transforms are the Toom-Cook matrices of the interpolation points 0, ±1, ±2, ±1/2
//! and infinity: for correlation y = Aᵀ[(G g) ⊙ (Bᵀ d)], G and A are the Vandermonde
//! matrices of the points for 5 and 4 coefficients and Bᵀ is the transposed inverse of the
//! 8x8 one. They are float32 constants here; the `tests` rebuild them in float64 from the
//! points and check them against direct correlation.

use std::mem::MaybeUninit;

use super::shape::ConvShape;

/// Outputs per tile side.
pub const M: usize = 4;
/// Kernel side.
pub const R: usize = 5;
/// Transformed tile side: M + R - 1.
pub const T: usize = M + R - 1;
/// Positions in a transformed tile: one GEMM each.
pub const POSITIONS: usize = T * T;

// The transforms, float32 constants so the compiler drops zero terms and multiplications
// by one: the Toom-Cook matrices of the points 0, 1, -1, 2, -2, 1/2, -1/2 and infinity
// (`tests::constants_are_the_toom_cook_matrices` rebuilds them in float64 from the points).

/// Aᵀ, `[M][T]`: transformed products to outputs.
const AT: [[f32; T]; M] = [
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
    [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0],
    [0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0],
    [0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 1.0],
];

/// G, `[T][R]`: kernel rows to transformed rows.
const G: [[f32; R]; T] = [
    [1.0, 0.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0, -1.0, 1.0],
    [1.0, 2.0, 4.0, 8.0, 16.0],
    [1.0, -2.0, 4.0, -8.0, 16.0],
    [1.0, 0.5, 0.25, 0.125, 0.0625],
    [1.0, -0.5, 0.25, -0.125, 0.0625],
    [0.0, 0.0, 0.0, 0.0, 1.0],
];

/// Bᵀ, `[T][T]`: input rows to transformed rows. The kernels apply it as the butterfly of
/// `bt_rows`; the tests check the two agree.
#[cfg(test)]
#[rustfmt::skip]
const BT: [[f32; T]; T] = [
    [1.0, 0.0, -21.0 / 4.0, 0.0, 21.0 / 4.0, 0.0, -1.0, 0.0],
    [0.0, -2.0 / 9.0, -2.0 / 9.0, 17.0 / 18.0, 17.0 / 18.0, -2.0 / 9.0, -2.0 / 9.0, 0.0],
    [0.0, 2.0 / 9.0, -2.0 / 9.0, -17.0 / 18.0, 17.0 / 18.0, 2.0 / 9.0, -2.0 / 9.0, 0.0],
    [0.0, 1.0 / 180.0, 1.0 / 360.0, -1.0 / 36.0, -1.0 / 72.0, 1.0 / 45.0, 1.0 / 90.0, 0.0],
    [0.0, -1.0 / 180.0, 1.0 / 360.0, 1.0 / 36.0, -1.0 / 72.0, -1.0 / 45.0, 1.0 / 90.0, 0.0],
    [0.0, 64.0 / 45.0, 128.0 / 45.0, -16.0 / 9.0, -32.0 / 9.0, 16.0 / 45.0, 32.0 / 45.0, 0.0],
    [0.0, -64.0 / 45.0, 128.0 / 45.0, 16.0 / 9.0, -32.0 / 9.0, -16.0 / 45.0, 32.0 / 45.0, 0.0],
    [0.0, -1.0, 0.0, 21.0 / 4.0, 0.0, -21.0 / 4.0, 0.0, 1.0],
];

/// The transpose of a `[R][C]` matrix.
const fn transposed<const R: usize, const C: usize>(m: &[[f32; C]; R]) -> [[f32; R]; C] {
    let mut t = [[0.0f32; R]; C];
    let mut i = 0;
    while i < R {
        let mut j = 0;
        while j < C {
            t[j][i] = m[i][j];
            j += 1;
        }
        i += 1;
    }
    t
}

/// A (the second factor of Aᵀ m A) and Gᵀ (of G w Gᵀ).
const A: [[f32; M]; T] = transposed(&AT);
const GT: [[f32; T]; R] = transposed(&G);

/// Whether F(4x4, 5x5) computes this convolution (5x5 kernels; enough input channels
/// that the 64 small GEMMs beat one im2col GEMM).
pub fn applies(s: &ConvShape) -> bool {
    s.kh == R && s.kw == R && s.sh == 1 && s.sw == 1 && s.c >= 16 && s.o >= 16
}

/// Run `$body` (a call of an `#[inline(always)]` function) compiled for AVX2 when this
/// CPU has it, else for the baseline: the crate is built for any x86-64, and the
/// transforms are 8-wide row arithmetic the compiler vectorises only when told the CPU
/// can (the `gemm` crate picks its kernels the same way). Measured here: AVX2 1100
/// inference img/s, SSE2 770, and AVX-512 (auto-vectorised, zmm) 500, so not AVX-512.
macro_rules! simd_dispatch {
    ($name:ident($($arg:ident: $ty:ty),*) $body:block) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2")]
            unsafe fn avx2($($arg: $ty),*) $body
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2.
                return unsafe { avx2($($arg),*) };
            }
        }
        $body
    }};
}

/// The transformed weights `U` `[POSITIONS][o][c]`: G w Gᵀ for every (o, c) pair.
pub fn transform_weights(s: &ConvShape, weight: &[f32]) -> Vec<f32> {
    let mut u = vec![0.0f32; POSITIONS * s.o * s.c];
    let pairs = s.o * s.c;
    assert_eq!(
        weight.len(),
        pairs * R * R,
        "winograd: weight length for {s:?}"
    );
    transform_weights_into(weight, pairs, &mut u);
    u
}

fn transform_weights_into(weight: &[f32], pairs: usize, u: &mut [f32]) {
    simd_dispatch!(weights(weight: &[f32], pairs: usize, u: &mut [f32]) {
        transform_weights_body(weight, pairs, u)
    })
}

// Kernel row i, column j and pair k index several arrays at once: ranges say it plainest.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn transform_weights_body(weight: &[f32], pairs: usize, u: &mut [f32]) {
    // T pairs at a time in the lanes, as the input transform does with tiles: each
    // result is then T consecutive values of a row of `u` (vector stores), where one
    // pair at a time scattered 64 scalars.
    for first in (0..pairs).step_by(T) {
        let n = T.min(pairs - first);
        let mut w = [[[0.0f32; T]; R]; R]; // [i][j][pair]
        for (k, kernel) in weight[first * R * R..]
            .chunks_exact(R * R)
            .take(n)
            .enumerate()
        {
            for i in 0..R {
                for j in 0..R {
                    w[i][j][k] = kernel[i * R + j];
                }
            }
        }
        let gw = product_rows(&G, &w); // [t][j][pair]: (G w)[t][j]
        for (t, gw_t) in gw.iter().enumerate() {
            // Row t of (G w) Gᵀ: Σ_j (G w)[t][j] G[q][j], as G · (row t as a column).
            for (q, row) in product(&G, gw_t).iter().enumerate() {
                put(&mut u[(t * T + q) * pairs + first..], row, n);
            }
        }
    }
}

/// The weight gradient `[o][c][5][5]` from its transformed form `du` `[POSITIONS][o][c]`:
/// Gᵀ du G for every (o, c) pair (the adjoint of [`transform_weights`]).
pub fn weights_from_transformed(s: &ConvShape, du: &[f32]) -> Vec<f32> {
    let pairs = s.o * s.c;
    assert_eq!(
        du.len(),
        POSITIONS * pairs,
        "winograd: transformed gradient length"
    );
    let mut gw = vec![0.0f32; pairs * R * R];
    weights_from_transformed_into(du, pairs, &mut gw);
    gw
}

fn weights_from_transformed_into(du: &[f32], pairs: usize, gw: &mut [f32]) {
    simd_dispatch!(from_transformed(du: &[f32], pairs: usize, gw: &mut [f32]) {
        weights_from_transformed_body(du, pairs, gw)
    })
}

#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn weights_from_transformed_body(du: &[f32], pairs: usize, gw: &mut [f32]) {
    // T pairs at a time in the lanes: vector loads of `du`'s rows, then one scalar
    // scatter of the 25 results per pair.
    for first in (0..pairs).step_by(T) {
        let n = T.min(pairs - first);
        let mut d = [[[0.0f32; T]; T]; T]; // [i][j][pair]
        for (i, d_i) in d.iter_mut().enumerate() {
            for (j, row) in d_i.iter_mut().enumerate() {
                *row = get(&du[(i * T + j) * pairs + first..], n);
            }
        }
        let gt_d = product_rows(&GT, &d); // [r][j][pair]: (Gᵀ d)[r][j]
        for (r, gt_d_r) in gt_d.iter().enumerate() {
            // Row r of (Gᵀ d) G: Σ_j (Gᵀ d)[r][j] G[j][c], as Gᵀ · (row r as a column).
            let y = product(&GT, gt_d_r); // [c][pair]
            for k in 0..n {
                for c in 0..R {
                    gw[(first + k) * R * R + r * R + c] = y[c][k];
                }
            }
        }
    }
}

/// Tiles per image: (rows, columns) of 4x4 output blocks.
pub fn tiles(s: &ConvShape) -> (usize, usize) {
    (s.oh().div_ceil(M), s.ow().div_ceil(M))
}

/// Where a group's input planes are: image j's channel c starts at
/// `j * image + c * channel` in `data` and is `[h, w]`.
#[derive(Clone, Copy)]
pub struct Planes<'a> {
    /// The values.
    pub data: &'a [f32],
    /// Offset between images.
    pub image: usize,
    /// Offset between channels.
    pub channel: usize,
}

impl<'a> Planes<'a> {
    /// A batch `[n, c, h, w]` of `s`'s input images.
    pub fn batch(data: &'a [f32], s: &ConvShape) -> Self {
        Self {
            data,
            image: s.c * s.h * s.w,
            channel: s.h * s.w,
        }
    }
}

/// Bᵀ d B of every 8x8 input block of `images` planes into `v` `[POSITIONS][c][tiles]`
/// (tiles of all images side by side).
pub fn transform_input(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
    simd_dispatch!(input(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
        transform_input_body(s, images, planes, v)
    })
}

#[inline(always)]
fn transform_input_body(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
    let (th, tw) = tiles(s);
    let total = images * th * tw;
    for c in 0..s.c {
        // T tiles at a time: the first pass (Bᵀ d) works on each tile's rows, the second
        // (· B) on rows whose lanes are the T tiles, so its results are already T
        // consecutive values of a row of `v` each: no scalar scatter.
        for first in (0..total).step_by(T) {
            let n = T.min(total - first);
            // (Loops, not `from_fn` closures: a closure is compiled without AVX2.) Every
            // one of the T blocks is written, the last tile again past n (its lanes are
            // not stored), so the 2 KiB need no zeroing first: that memset was 3 % of a
            // training step.
            let mut bt_d = [const { MaybeUninit::<[Row; T]>::uninit() }; T];
            for (k, tile_rows) in bt_d.iter_mut().enumerate() {
                let tile = first + k.min(n - 1);
                let (j, ty, tx) = (tile / (th * tw), tile / tw % th, tile % tw);
                let src = &planes.data[j * planes.image + c * planes.channel..][..s.h * s.w];
                tile_rows.write(bt_rows(&input_block(s, src, ty, tx)));
            }
            // SAFETY: the loop wrote all T blocks; MaybeUninit<X> has X's layout.
            let bt_d: [[Row; T]; T] = unsafe { std::mem::transmute(bt_d) };
            for r in 0..T {
                // Row r of every tile, turned: [column][tile].
                let by_column = turn(&bt_d, r);
                for (q, row) in bt_rows(&by_column).iter().enumerate() {
                    put(&mut v[((r * T + q) * s.c + c) * total + first..], row, n);
                }
            }
        }
    }
}

/// `dst[..n] = row[..n]`, a whole-row (vector) copy when n = T.
#[inline(always)]
fn put(dst: &mut [f32], row: &Row, n: usize) {
    if n == T {
        dst[..T].copy_from_slice(row);
    } else {
        dst[..n].copy_from_slice(&row[..n]);
    }
}

/// `src[..n]` as a row (zeros after n), a whole-row (vector) copy when n = T.
#[inline(always)]
fn get(src: &[f32], n: usize) -> Row {
    let mut row = [0.0f32; T];
    if n == T {
        row.copy_from_slice(&src[..T]);
    } else {
        row[..n].copy_from_slice(&src[..n]);
    }
    row
}

/// Row `r` of each of the T blocks `m[k]`, turned: `out[x][k] = m[k][r][x]` (an 8x8
/// transpose), by AVX shuffles where the CPU has them: the compiler makes 64 scalar moves
/// of the loops.
#[inline(always)]
fn turn(m: &[[Row; T]; T], r: usize) -> [Row; T] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX.
        return unsafe { turn_avx(m, r) };
    }
    turn_scalar(m, r)
}

#[inline(always)]
fn turn_scalar(m: &[[Row; T]; T], r: usize) -> [Row; T] {
    let mut out = [[0.0f32; T]; T];
    for (k, block) in m.iter().enumerate() {
        for (x, value) in block[r].iter().enumerate() {
            out[x][k] = *value;
        }
    }
    out
}

/// [`turn`] with AVX: unpack pairs of rows, shuffle quadruples, swap 128-bit halves. (No
/// closures: they would be compiled without AVX, each intrinsic a call.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
unsafe fn turn_avx(m: &[[Row; T]; T], r: usize) -> [Row; T] {
    use std::arch::x86_64::*;
    // SAFETY (loads and stores): each `Row` is 8 contiguous f32, as a __m256 reads/writes.
    let load = |k: usize| m[k][r].as_ptr();
    let r = unsafe {
        [
            _mm256_loadu_ps(load(0)),
            _mm256_loadu_ps(load(1)),
            _mm256_loadu_ps(load(2)),
            _mm256_loadu_ps(load(3)),
            _mm256_loadu_ps(load(4)),
            _mm256_loadu_ps(load(5)),
            _mm256_loadu_ps(load(6)),
            _mm256_loadu_ps(load(7)),
        ]
    };
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    let out = [
        _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
    ];
    let mut turned = [[0.0f32; T]; T];
    for (row, v) in turned.iter_mut().zip(out) {
        unsafe { _mm256_storeu_ps(row.as_mut_ptr(), v) };
    }
    turned
}

/// The 8x8 block of `src` `[h, w]` at (4 ty - ph, 4 tx - pw), zeros outside.
#[inline(always)]
fn input_block(s: &ConvShape, src: &[f32], ty: usize, tx: usize) -> [[f32; T]; T] {
    let mut d = [[0.0f32; T]; T];
    let x0 = (tx * M) as isize - s.pw as isize;
    let inside_x = x0 >= 0 && x0 as usize + T <= s.w;
    for (r, row) in d.iter_mut().enumerate() {
        let y = (ty * M + r) as isize - s.ph as isize;
        if y < 0 || y >= s.h as isize {
            continue;
        }
        let line = &src[y as usize * s.w..][..s.w];
        if inside_x {
            row.copy_from_slice(&line[x0 as usize..][..T]);
        } else {
            for (q, v) in row.iter_mut().enumerate() {
                let x = x0 + q as isize;
                if x >= 0 && x < s.w as isize {
                    *v = line[x as usize];
                }
            }
        }
    }
    d
}

type Row = [f32; T];

/// Bᵀ applied to the rows of `d` (each row a vector of 8 lanes): Bᵀ d. Bᵀ's rows 1-6 come
/// in pairs that share their even-index and odd-index parts up to sign (row 1 = e + o,
/// row 2 = e - o, with e from d2, d4, d6 and o from d1, d3, d5), which halves the
/// multiplications of a dense product; `tests::butterfly_is_bt` checks it against `BT`.
#[inline(always)]
fn bt_rows(d: &[Row; T]) -> [Row; T] {
    let (r1, r2) = butterfly(
        d,
        [-2.0 / 9.0, 17.0 / 18.0, -2.0 / 9.0],
        [-2.0 / 9.0, 17.0 / 18.0, -2.0 / 9.0],
    );
    let (r3, r4) = butterfly(
        d,
        [1.0 / 360.0, -1.0 / 72.0, 1.0 / 90.0],
        [1.0 / 180.0, -1.0 / 36.0, 1.0 / 45.0],
    );
    let (r5, r6) = butterfly(
        d,
        [128.0 / 45.0, -32.0 / 9.0, 32.0 / 45.0],
        [64.0 / 45.0, -16.0 / 9.0, 16.0 / 45.0],
    );
    let k = 21.0 / 4.0;
    let mut r0 = [0.0f32; T];
    let mut r7 = [0.0f32; T];
    for l in 0..T {
        r0[l] = d[0][l] - d[6][l] + k * (d[4][l] - d[2][l]);
        r7[l] = d[7][l] - d[1][l] + k * (d[3][l] - d[5][l]);
    }
    [r0, r1, r2, r3, r4, r5, r6, r7]
}

/// One pair of `bt_rows`: e + o and e - o, with e = c2 d2 + c4 d4 + c6 d6 and
/// o = c1 d1 + c3 d3 + c5 d5. (A function, not a closure: closures are compiled without
/// the AVX2 of the functions that call them.)
#[inline(always)]
fn butterfly(d: &[Row; T], [c2, c4, c6]: [f32; 3], [c1, c3, c5]: [f32; 3]) -> (Row, Row) {
    let mut plus = [0.0f32; T];
    let mut minus = [0.0f32; T];
    for l in 0..T {
        let e = c2 * d[2][l] + c4 * d[4][l] + c6 * d[6][l];
        let o = c1 * d[1][l] + c3 * d[3][l] + c5 * d[5][l];
        plus[l] = e + o;
        minus[l] = e - o;
    }
    (plus, minus)
}

/// `a · b` for small fixed-size matrices, as rows of `b` scaled and added (vectorised
/// along the rows once inlined).
#[inline(always)]
fn product<const R: usize, const K: usize, const C: usize>(
    a: &[[f32; K]; R],
    b: &[[f32; C]; K],
) -> [[f32; C]; R] {
    let mut out = [[0.0f32; C]; R];
    for (oi, ai) in out.iter_mut().zip(a) {
        for (c, bk) in ai.iter().zip(b) {
            for (v, bv) in oi.iter_mut().zip(bk) {
                *v += c * bv;
            }
        }
    }
    out
}

/// [`product`] of `a` and a `b` whose elements are rows of T lanes.
#[inline(always)]
fn product_rows<const R: usize, const K: usize, const C: usize>(
    a: &[[f32; K]; R],
    b: &[[Row; C]; K],
) -> [[Row; C]; R] {
    let mut out = [[[0.0f32; T]; C]; R];
    for (oi, ai) in out.iter_mut().zip(a) {
        for (c, bk) in ai.iter().zip(b) {
            for (o, bv) in oi.iter_mut().zip(bk) {
                for (v, x) in o.iter_mut().zip(bv) {
                    *v += c * x;
                }
            }
        }
    }
    out
}

/// Aᵀ m A of every tile's products `m` `[POSITIONS][o][tiles]` into `res`
/// `[o, images * oh * ow]` (images side by side, as the im2col GEMM writes them).
pub fn transform_output(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
    simd_dispatch!(output(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
        transform_output_body(s, images, m, res)
    })
}

// Tile k and row i index several [..][..][k] arrays at once: ranges say it plainest.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn transform_output_body(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
    let (th, tw) = tiles(s);
    let (oh, ow) = (s.oh(), s.ow());
    let total = images * th * tw;
    let stride = images * oh * ow;
    for o in 0..s.o {
        // T tiles at a time, lanes = tiles throughout: X A row by row (each row of X read
        // straight from m), then Aᵀ (X A) column by column, and only the 4x4 results are
        // written tile by tile.
        for first in (0..total).step_by(T) {
            let n = T.min(total - first);
            let mut xa = [[[0.0f32; T]; M]; T]; // [r][i][tile]: (X A)[r][i]
            for (r, xa_r) in xa.iter_mut().enumerate() {
                let mut x_r = [[0.0f32; T]; T]; // [q][tile]: X[r][q]
                for (q, row) in x_r.iter_mut().enumerate() {
                    *row = get(&m[((r * T + q) * s.o + o) * total + first..], n);
                }
                *xa_r = product(&AT, &x_r);
            }
            let mut y = [[[0.0f32; T]; M]; M]; // [i][i'][tile]: (Aᵀ X A)[i'][i]
            for (i, y_i) in y.iter_mut().enumerate() {
                let mut xa_i = [[0.0f32; T]; T]; // [r][tile]
                for (row, xa_r) in xa_i.iter_mut().zip(&xa) {
                    *row = xa_r[i];
                }
                *y_i = product(&AT, &xa_i);
            }
            for k in 0..n {
                let tile = first + k;
                let (j, ty, tx) = (tile / (th * tw), tile / tw % th, tile % tw);
                let base = o * stride + j * oh * ow;
                let cols = M.min(ow - tx * M);
                for i2 in 0..M.min(oh - ty * M) {
                    let at = base + (ty * M + i2) * ow + tx * M;
                    for (i, out) in res[at..at + cols].iter_mut().enumerate() {
                        *out = y[i][i2][k];
                    }
                }
            }
        }
    }
}

/// A dy Aᵀ of every 4x4 block of the output-gradient planes `dy` (image j's channel o,
/// `[oh, ow]`, zeros past the edges) into `out` `[POSITIONS][o][tiles]`: the adjoint of
/// [`transform_output`], for the weight gradient Σ (A dy Aᵀ) ⊙ (Bᵀ d B).
pub fn transform_grad(s: &ConvShape, images: usize, dy: Planes, out: &mut [f32]) {
    simd_dispatch!(grad(s: &ConvShape, images: usize, dy: Planes, out: &mut [f32]) {
        transform_grad_body(s, images, dy, out)
    })
}

// Tile k and row i index several [..][..][k] arrays at once: ranges say it plainest.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn transform_grad_body(s: &ConvShape, images: usize, dy: Planes, out: &mut [f32]) {
    let (th, tw) = tiles(s);
    let (oh, ow) = (s.oh(), s.ow());
    let total = images * th * tw;
    for o in 0..s.o {
        // T tiles at a time, lanes = tiles: A d column by column, then (A d) Aᵀ row by
        // row, whose rows are T consecutive values of a row of `out` as they are.
        for first in (0..total).step_by(T) {
            let n = T.min(total - first);
            let mut d = [[[0.0f32; T]; M]; M]; // [j][i][tile]: dy[i][j]
            for k in 0..n {
                let tile = first + k;
                let (j, ty, tx) = (tile / (th * tw), tile / tw % th, tile % tw);
                let src = &dy.data[j * dy.image + o * dy.channel..][..oh * ow];
                let cols = M.min(ow - tx * M);
                for i in 0..M.min(oh - ty * M) {
                    let at = (ty * M + i) * ow + tx * M;
                    for (jj, value) in src[at..at + cols].iter().enumerate() {
                        d[jj][i][k] = *value;
                    }
                }
            }
            let mut ad = [[[0.0f32; T]; T]; M]; // [j][r][tile]: (A d)[r][j]
            for (ad_j, d_j) in ad.iter_mut().zip(&d) {
                *ad_j = product(&A, d_j);
            }
            for r in 0..T {
                let mut ad_r = [[0.0f32; T]; M]; // [j][tile]
                for (row, ad_j) in ad_r.iter_mut().zip(&ad) {
                    *row = ad_j[r];
                }
                for (q, row) in product(&A, &ad_r).iter().enumerate() {
                    put(&mut out[((r * T + q) * s.o + o) * total + first..], row, n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The finite interpolation points; the last of the T points is infinity.
    const POINTS: [f64; T - 1] = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5];

    /// The points' Vandermonde matrix for polynomials of `n` coefficients: row j is
    /// `[1, p_j, p_j², ...]`, and the row of infinity picks the leading coefficient.
    fn vandermonde(n: usize) -> Vec<Vec<f64>> {
        let mut rows: Vec<Vec<f64>> = POINTS
            .iter()
            .map(|p| (0..n).map(|k| p.powi(k as i32)).collect())
            .collect();
        let mut infinity = vec![0.0; n];
        infinity[n - 1] = 1.0;
        rows.push(infinity);
        rows
    }

    /// Inverse by Gauss-Jordan elimination with partial pivoting (float64).
    fn inverse(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let n = m.len();
        let mut a: Vec<Vec<f64>> = m
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mut r = row.clone();
                r.extend((0..n).map(|j| if i == j { 1.0 } else { 0.0 }));
                r
            })
            .collect();
        for col in 0..n {
            let pivot = (col..n)
                .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                .unwrap();
            a.swap(col, pivot);
            let p = a[col][col];
            a[col].iter_mut().for_each(|v| *v /= p);
            let pivot_row = a[col].clone();
            for (i, row) in a.iter_mut().enumerate() {
                if i != col {
                    let f = row[col];
                    row.iter_mut()
                        .zip(&pivot_row)
                        .for_each(|(v, p)| *v -= f * p);
                }
            }
        }
        a.into_iter().map(|r| r[n..].to_vec()).collect()
    }

    /// For correlation y = Aᵀ[(G g) ⊙ (Bᵀ d)] (the transpose of Toom-Cook polynomial
    /// multiplication): A and G are the Vandermonde matrices for 4 and 5 coefficients,
    /// Bᵀ the transposed inverse of the 8x8 one. The constants match to float32 rounding.
    #[test]
    fn butterfly_is_bt() {
        let d: [Row; T] =
            std::array::from_fn(|i| std::array::from_fn(|j| ((i * 8 + j) as f32 * 0.37).sin()));
        let want: [Row; T] = std::array::from_fn(|i| {
            std::array::from_fn(|j| (0..T).map(|k| BT[i][k] * d[k][j]).sum())
        });
        let got = bt_rows(&d);
        for i in 0..T {
            for j in 0..T {
                assert!(
                    (got[i][j] - want[i][j]).abs() < 1e-5,
                    "[{i}][{j}]: {} vs {}",
                    got[i][j],
                    want[i][j]
                );
            }
        }
    }

    #[test]
    fn turn_is_a_transpose() {
        let m: [[Row; T]; T] = std::array::from_fn(|k| {
            std::array::from_fn(|r| std::array::from_fn(|x| (k * 100 + r * 10 + x) as f32))
        });
        for r in 0..T {
            let (fast, scalar) = (turn(&m, r), turn_scalar(&m, r));
            for (x, (a, b)) in fast.iter().zip(&scalar).enumerate() {
                for k in 0..T {
                    assert_eq!(a[k], m[k][r][x], "turn, r {r} x {x} k {k}");
                    assert_eq!(b[k], m[k][r][x], "turn_scalar, r {r} x {x} k {k}");
                }
            }
        }
    }

    #[test]
    fn transform_input_matches_float64() {
        let s = ConvShape {
            n: 1,
            c: 3,
            h: 11,
            w: 9,
            o: 2,
            kh: 5,
            kw: 5,
            ph: 2,
            pw: 2,
            sh: 1,
            sw: 1,
        };
        let data: Vec<f32> = (0..3 * 11 * 9).map(|i| (i as f32 * 0.37).sin()).collect();
        let (th, tw) = tiles(&s);
        let total = th * tw;
        let mut v = vec![0.0f32; POSITIONS * s.c * total];
        let planes = Planes {
            data: &data,
            image: s.c * 99,
            channel: 99,
        };
        transform_input(&s, 1, planes, &mut v);
        for c in 0..s.c {
            for ty in 0..th {
                for tx in 0..tw {
                    let at = |r: usize, q: usize| {
                        let (y, x) = ((ty * 4 + r) as isize - 2, (tx * 4 + q) as isize - 2);
                        if y < 0 || x < 0 || y >= 11 || x >= 9 {
                            0.0
                        } else {
                            data[c * 99 + y as usize * 9 + x as usize] as f64
                        }
                    };
                    for i in 0..T {
                        for j in 0..T {
                            let want: f64 = (0..T)
                                .flat_map(|k| (0..T).map(move |l| (k, l)))
                                .map(|(k, l)| BT[i][k] as f64 * at(k, l) * BT[j][l] as f64)
                                .sum();
                            let got = v[((i * T + j) * s.c + c) * total + ty * tw + tx];
                            assert!(
                                (got as f64 - want).abs() < 1e-4,
                                "c {c} tile {ty},{tx} [{i}][{j}]: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn constants_are_the_toom_cook_matrices() {
        let (va, vr, inv) = (vandermonde(M), vandermonde(R), inverse(&vandermonde(T)));
        let close = |c: f32, v: f64| (c as f64 - v).abs() <= 1e-7 * v.abs().max(1.0);
        for i in 0..T {
            for k in 0..M {
                assert!(close(AT[k][i], va[i][k]), "Aᵀ[{k}][{i}]");
            }
            for k in 0..R {
                assert!(close(G[i][k], vr[i][k]), "G[{i}][{k}]");
            }
            for j in 0..T {
                assert!(
                    close(BT[j][i], inv[i][j]),
                    "Bᵀ[{j}][{i}] = {} vs {}",
                    BT[j][i],
                    inv[i][j]
                );
            }
        }
    }

    /// The weight transforms (T pairs in the lanes) against G w Gᵀ and Gᵀ du G in
    /// float64, pair by pair, for 17 x 19 pairs: a short last group of 3. Tolerance:
    /// 1e-6 of the sum of the terms' magnitudes (float32 rounding of a few dozen terms).
    #[test]
    fn weight_transforms_match_float64() {
        let (o, c) = (17, 19);
        let s = ConvShape {
            n: 1,
            c,
            h: 8,
            w: 8,
            o,
            kh: R,
            kw: R,
            ph: 2,
            pw: 2,
            sh: 1,
            sw: 1,
        };
        let pairs = o * c;
        let value = |i: usize, a: usize, m: usize| ((i * a + 7) % m) as f32 / (m / 2) as f32 - 1.0;
        let weight: Vec<f32> = (0..pairs * R * R).map(|i| value(i, 37, 101)).collect();
        let du: Vec<f32> = (0..POSITIONS * pairs).map(|i| value(i, 53, 97)).collect();
        let u = transform_weights(&s, &weight);
        let gw = weights_from_transformed(&s, &du);
        let close = |got: f32, terms: &mut dyn Iterator<Item = f64>, what: &str| {
            let (mut sum, mut scale) = (0.0f64, 0.0f64);
            for t in terms {
                sum += t;
                scale += t.abs();
            }
            assert!(
                (got as f64 - sum).abs() <= 1e-6 * scale.max(1.0),
                "{what}: {got} vs {sum}"
            );
        };
        let g = |i: usize, k: usize| G[i][k] as f64;
        for pair in 0..pairs {
            let w = |i: usize, j: usize| weight[pair * R * R + i * R + j] as f64;
            let d = |i: usize, j: usize| du[(i * T + j) * pairs + pair] as f64;
            for (t, q) in (0..T).flat_map(|t| (0..T).map(move |q| (t, q))) {
                let mut terms =
                    (0..R).flat_map(|i| (0..R).map(move |j| g(t, i) * w(i, j) * g(q, j)));
                close(u[(t * T + q) * pairs + pair], &mut terms, "G w Gᵀ");
            }
            for (r, k) in (0..R).flat_map(|r| (0..R).map(move |k| (r, k))) {
                let mut terms =
                    (0..T).flat_map(|i| (0..T).map(move |j| g(i, r) * d(i, j) * g(j, k)));
                close(gw[pair * R * R + r * R + k], &mut terms, "Gᵀ du G");
            }
        }
    }

    /// 1-D check in float64 terms: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation Σ_k d[i+k] g[k].
    #[test]
    fn transforms_compute_correlation() {
        let d: Vec<f32> = (0..T)
            .map(|i| ((i * 7 + 3) % 11) as f32 / 5.0 - 1.0)
            .collect();
        let g: Vec<f32> = (0..R)
            .map(|i| ((i * 5 + 2) % 7) as f32 / 3.0 - 1.0)
            .collect();
        let gg: Vec<f64> = (0..T)
            .map(|i| (0..R).map(|k| G[i][k] as f64 * g[k] as f64).sum())
            .collect();
        let bd: Vec<f64> = (0..T)
            .map(|i| (0..T).map(|k| BT[i][k] as f64 * d[k] as f64).sum())
            .collect();
        for i in 0..M {
            let y: f64 = (0..T).map(|k| AT[i][k] as f64 * gg[k] * bd[k]).sum();
            let want: f64 = (0..R).map(|k| d[i + k] as f64 * g[k] as f64).sum();
            assert!((y - want).abs() < 1e-5, "output {i}: {y} vs {want}");
        }
    }
}
