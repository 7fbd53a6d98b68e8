//! Winograd minimal filtering for stride-1 convolutions (Lavin & Gray, "Fast Algorithms
//! for Convolutional Neural Networks", CVPR 2016), in three variants: F(4x4, 5x5) for
//! LeNet++'s 5x5 kernels (64 multiplications per 4x4 outputs and channel pair instead of
//! 400) and F(6x6, 3x3) for ResNets' 3x3 ones (64 per 6x6 outputs instead of 324), which
//! share an 8x8 transformed tile, and F(4x4, 3x3) (36 per 4x4 outputs, 6x6 tiles) for 3x3
//! kernels on small maps, where F(6x6, 3x3)'s tiles would mostly hang over the edge. The
//! element-wise products over channels are one GEMM per position in the transformed tile.
//!
//! The transforms are the Toom-Cook matrices of the interpolation points 0, ±1, ±2, ±1/2
//! and infinity (the first five for 6x6 tiles): for correlation y = Aᵀ[(G g) ⊙ (Bᵀ d)], G
//! and A are the Vandermonde matrices of the points for R (kernel) and M (output)
//! coefficients and Bᵀ is the transposed inverse of the tile's one, so the 8x8 variants
//! share Bᵀ (and its butterfly) and differ in A and G only. The code that depends on M, R
//! and the tile is written once (`variant.rs`) and compiled into one module per variant
//! with its constants, as a C++ template would be: the compiler then drops multiplications
//! by one. The `tests` rebuild the constants in float64 from the points and check them
//! against direct correlation.
//!
//! Accuracy: F(6x6, 3x3)'s Aᵀ has entries up to 32 and 1/32, so its float32 results carry
//! more rounding than a direct sum: on 64 channels of 32x32 against float64 (the kernels'
//! tests), 1.1e-5 of the largest value for the output and input gradient, where
//! F(4x4, 5x5) measured 7e-6 and im2col + GEMM 4e-7.

use std::mem::MaybeUninit;

use super::shape::ConvShape;

/// Lanes of the transforms' rows (8 tiles, or 8 kernel pairs, side by side), and the
/// transformed tile side M + R - 1 of F(4x4, 5x5) and F(6x6, 3x3).
const T: usize = 8;

/// Bᵀ of the 8x8 variants, `[T][T]`: input rows to transformed rows. The kernels apply it
/// as the butterfly of `bt_rows`; the tests check the two agree.
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

/// F(4x4, 5x5): LeNet++'s 5x5 convolutions.
pub mod f4x4_5x5 {
    /// Outputs per tile side.
    pub const M: usize = 4;
    /// Kernel side.
    pub const R: usize = 5;
    /// Transformed tile side.
    pub const TILE: usize = super::T;
    use super::bt_rows;
    #[cfg(test)]
    use super::BT;

    // The transforms, float32 constants so the compiler drops zero terms and
    // multiplications by one (`tests::constants_are_the_toom_cook_matrices` rebuilds them
    // in float64 from the points).

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

    include!("variant.rs");
}

/// F(6x6, 3x3): ResNets' 3x3 convolutions.
pub mod f6x6_3x3 {
    /// Outputs per tile side.
    pub const M: usize = 6;
    /// Kernel side.
    pub const R: usize = 3;
    /// Transformed tile side.
    pub const TILE: usize = super::T;
    use super::bt_rows;
    #[cfg(test)]
    use super::BT;

    /// Aᵀ, `[M][T]`: transformed products to outputs (row i: the points to the power i).
    const AT: [[f32; T]; M] = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 0.0],
        [0.0, 1.0, 1.0, 4.0, 4.0, 0.25, 0.25, 0.0],
        [0.0, 1.0, -1.0, 8.0, -8.0, 0.125, -0.125, 0.0],
        [0.0, 1.0, 1.0, 16.0, 16.0, 0.0625, 0.0625, 0.0],
        [0.0, 1.0, -1.0, 32.0, -32.0, 0.03125, -0.03125, 1.0],
    ];

    /// G, `[T][R]`: kernel rows to transformed rows.
    const G: [[f32; R]; T] = [
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 1.0],
        [1.0, -1.0, 1.0],
        [1.0, 2.0, 4.0],
        [1.0, -2.0, 4.0],
        [1.0, 0.5, 0.25],
        [1.0, -0.5, 0.25],
        [0.0, 0.0, 1.0],
    ];

    include!("variant.rs");
}

/// F(4x4, 3x3): ResNets' 3x3 convolutions on small maps, in 6x6 transformed tiles (the
/// points 0, ±1, ±2 and infinity).
pub mod f4x4_3x3 {
    /// Outputs per tile side.
    pub const M: usize = 4;
    /// Kernel side.
    pub const R: usize = 3;
    /// Transformed tile side.
    pub const TILE: usize = 6;

    /// Aᵀ, `[M][TILE]`.
    const AT: [[f32; TILE]; M] = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        [0.0, 1.0, -1.0, 2.0, -2.0, 0.0],
        [0.0, 1.0, 1.0, 4.0, 4.0, 0.0],
        [0.0, 1.0, -1.0, 8.0, -8.0, 1.0],
    ];

    /// G, `[TILE][R]`.
    const G: [[f32; R]; TILE] = [
        [1.0, 0.0, 0.0],
        [1.0, 1.0, 1.0],
        [1.0, -1.0, 1.0],
        [1.0, 2.0, 4.0],
        [1.0, -2.0, 4.0],
        [0.0, 0.0, 1.0],
    ];

    /// Bᵀ, `[TILE][TILE]`: the transposed inverse of the points' Vandermonde matrix.
    const BT: [[f32; TILE]; TILE] = [
        [1.0, 0.0, -5.0 / 4.0, 0.0, 1.0 / 4.0, 0.0],
        [0.0, 2.0 / 3.0, 2.0 / 3.0, -1.0 / 6.0, -1.0 / 6.0, 0.0],
        [0.0, -2.0 / 3.0, 2.0 / 3.0, 1.0 / 6.0, -1.0 / 6.0, 0.0],
        [0.0, -1.0 / 12.0, -1.0 / 24.0, 1.0 / 12.0, 1.0 / 24.0, 0.0],
        [0.0, 1.0 / 12.0, -1.0 / 24.0, -1.0 / 12.0, 1.0 / 24.0, 0.0],
        [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
    ];

    /// Bᵀ d of the first TILE of 8 rows (each of 8 lanes).
    #[inline(always)]
    fn bt_rows(d: &[super::Row; super::T]) -> [super::Row; TILE] {
        let d: &[super::Row; TILE] = d[..TILE].try_into().expect("TILE rows");
        super::product(&BT, d)
    }

    include!("variant.rs");
}

/// The Winograd variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    F4x4_5x5,
    F6x6_3x3,
    F4x4_3x3,
}

/// The variant for this convolution, if one applies: stride 1, a square 5x5 or 3x3
/// kernel, and enough channels (16 in and out) that the small GEMMs beat one im2col GEMM.
/// (resnet20, whose 3x3s have 16 to 64 channels, trained at 115 img/s with F(6x6, 3x3)
/// from 16 channels, 98 with im2col throughout; inference 438 and 408.) For 3x3 kernels,
/// the variant with fewer transformed values per image: F(6x6, 3x3) and F(4x4, 3x3)
/// make the same 2.25 per output on maps a multiple of 12 wide, but an 8x8 map takes
/// four 8x8 tiles (4 values per output) or four 6x6 ones (2.25).
fn variant(s: &ConvShape) -> Option<Variant> {
    let fits = s.kh == s.kw && s.sh == 1 && s.sw == 1 && s.c >= 16 && s.o >= 16;
    match s.kh {
        _ if !fits => None,
        f4x4_5x5::R => Some(Variant::F4x4_5x5),
        f6x6_3x3::R => {
            let values = |(th, tw): (usize, usize), tile: usize| th * tw * tile * tile;
            let f6 = values(f6x6_3x3::tiles(s), f6x6_3x3::TILE);
            let f4 = values(f4x4_3x3::tiles(s), f4x4_3x3::TILE);
            Some(if f4 < f6 {
                Variant::F4x4_3x3
            } else {
                Variant::F6x6_3x3
            })
        }
        _ => None,
    }
}

/// Whether a Winograd variant computes this convolution.
pub fn applies(s: &ConvShape) -> bool {
    variant(s).is_some()
}

/// Calls `$f` of the variant for `$s` (one that [`applies`]).
macro_rules! by_kernel {
    ($s:expr, $f:ident($($arg:expr),*)) => {
        match variant($s) {
            Some(Variant::F4x4_5x5) => f4x4_5x5::$f($($arg),*),
            Some(Variant::F6x6_3x3) => f6x6_3x3::$f($($arg),*),
            Some(Variant::F4x4_3x3) => f4x4_3x3::$f($($arg),*),
            None => panic!("winograd: no variant for {:?}", $s),
        }
    };
}

/// Positions in a transformed tile (64 or 36): one GEMM each.
pub fn positions(s: &ConvShape) -> usize {
    by_kernel!(s, positions())
}

/// The transformed weights `U` `[positions][o][c]`: G w Gᵀ for every (o, c) pair.
pub fn transform_weights(s: &ConvShape, weight: &[f32]) -> Vec<f32> {
    by_kernel!(s, transform_weights(s, weight))
}

/// The weight gradient `[o][c][R][R]` from its transformed form `du` `[positions][o][c]`:
/// Gᵀ du G for every (o, c) pair (the adjoint of [`transform_weights`]).
pub fn weights_from_transformed(s: &ConvShape, du: &[f32]) -> Vec<f32> {
    by_kernel!(s, weights_from_transformed(s, du))
}

/// Tiles per image: (rows, columns) of MxM output blocks.
pub fn tiles(s: &ConvShape) -> (usize, usize) {
    by_kernel!(s, tiles(s))
}

/// Bᵀ d B of every input block of `images` planes into `v` `[positions][c][tiles]`
/// (tiles of all images side by side).
pub fn transform_input(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
    by_kernel!(s, transform_input(s, images, planes, v))
}

/// Aᵀ m A of every tile's products `m` `[positions][o][tiles]` into `res`
/// `[o, images * oh * ow]` (images side by side, as the im2col GEMM writes them).
pub fn transform_output(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
    by_kernel!(s, transform_output(s, images, m, res))
}

/// A dy Aᵀ of every MxM block of the output-gradient planes `dy` into `out`
/// `[positions][o][tiles]`: the adjoint of [`transform_output`].
pub fn transform_grad(s: &ConvShape, images: usize, dy: Planes, out: &mut [f32]) {
    by_kernel!(s, transform_grad(s, images, dy, out))
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
fn turn<const N: usize>(m: &[[Row; N]; T], r: usize) -> [Row; T] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX.
        return unsafe { turn_avx(m, r) };
    }
    turn_scalar(m, r)
}

#[inline(always)]
fn turn_scalar<const N: usize>(m: &[[Row; N]; T], r: usize) -> [Row; T] {
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
unsafe fn turn_avx<const N: usize>(m: &[[Row; N]; T], r: usize) -> [Row; T] {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The finite interpolation points; the last of the T points is infinity.
    const POINTS: [f64; T - 1] = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5];

    /// The Vandermonde matrix of a tile's `tile` points (the first `tile` - 1 finite ones
    /// and infinity) for polynomials of `n` coefficients: row j is `[1, p_j, p_j², ...]`,
    /// and the row of infinity picks the leading coefficient.
    pub(super) fn vandermonde(n: usize, tile: usize) -> Vec<Vec<f64>> {
        let mut rows: Vec<Vec<f64>> = POINTS[..tile - 1]
            .iter()
            .map(|p| (0..n).map(|k| p.powi(k as i32)).collect())
            .collect();
        let mut infinity = vec![0.0; n];
        infinity[n - 1] = 1.0;
        rows.push(infinity);
        rows
    }

    /// Inverse by Gauss-Jordan elimination with partial pivoting (float64).
    pub(super) fn inverse(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
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
}
