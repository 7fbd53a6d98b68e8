//! Winograd minimal filtering F(4x4, 5x5) for stride-1 5x5 convolutions: each 4x4 block
//! of outputs from an 8x8 block of inputs with 64 multiplications per channel pair
//! instead of 400 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks",
//! CVPR 2016). The 64 element-wise products over channels are 64 GEMMs, one per position
//! in the 8x8 transformed tile.
//!
//! The transforms are built in float64 from the interpolation points 0, ±1, ±2, ±1/2 and
//! infinity (Toom-Cook): for correlation y = Aᵀ[(G g) ⊙ (Bᵀ d)], G and A are the
//! Vandermonde matrices of the points for 5 and 4 coefficients and Bᵀ is the transposed
//! inverse of the 8x8 one (the `tests` check this against direct correlation).

use std::sync::OnceLock;

use super::kernels::ConvShape;

/// Outputs per tile side.
pub const M: usize = 4;
/// Kernel side.
pub const R: usize = 5;
/// Transformed tile side: M + R - 1.
pub const T: usize = M + R - 1;
/// Positions in a transformed tile: one GEMM each.
pub const POSITIONS: usize = T * T;

/// The finite interpolation points; the last of the T points is infinity.
const POINTS: [f64; T - 1] = [0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5];

/// The three transforms, as float32.
pub struct Transforms {
    /// Aᵀ, `[M][T]`: transformed products to outputs.
    pub at: [[f32; T]; M],
    /// G, `[T][R]`: kernel rows to transformed rows.
    pub g: [[f32; R]; T],
    /// Bᵀ, `[T][T]`: input rows to transformed rows.
    pub bt: [[f32; T]; T],
}

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

/// Inverse of a square matrix by Gauss-Jordan elimination with partial pivoting (float64;
/// the 8x8 Vandermonde here is well enough conditioned).
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
            .expect("non-empty");
        a.swap(col, pivot);
        let p = a[col][col];
        assert!(p.abs() > 1e-12, "singular Vandermonde matrix");
        a[col].iter_mut().for_each(|v| *v /= p);
        for i in 0..n {
            if i != col {
                let f = a[i][col];
                let pivot_row = a[col].clone();
                a[i].iter_mut()
                    .zip(&pivot_row)
                    .for_each(|(v, p)| *v -= f * p);
            }
        }
    }
    a.into_iter().map(|r| r[n..].to_vec()).collect()
}

/// The transforms, built once.
pub fn transforms() -> &'static Transforms {
    static CELL: OnceLock<Transforms> = OnceLock::new();
    CELL.get_or_init(|| {
        let (va, vr, vt) = (vandermonde(M), vandermonde(R), vandermonde(T));
        let vt_inv = inverse(&vt);
        let mut t = Transforms {
            at: [[0.0; T]; M],
            g: [[0.0; R]; T],
            bt: [[0.0; T]; T],
        };
        for (i, ((a, g), inv)) in va.iter().zip(&vr).zip(&vt_inv).enumerate() {
            for (k, v) in a.iter().enumerate() {
                t.at[k][i] = *v as f32;
            }
            for (k, v) in g.iter().enumerate() {
                t.g[i][k] = *v as f32;
            }
            // Bᵀ = (V⁻¹)ᵀ: row i of V⁻¹ is column i of Bᵀ.
            for (j, v) in inv.iter().enumerate() {
                t.bt[j][i] = *v as f32;
            }
        }
        t
    })
}

/// Whether F(4x4, 5x5) computes this convolution (5x5 kernels; enough input channels
/// that the 64 small GEMMs beat one im2col GEMM).
pub fn applies(s: &ConvShape) -> bool {
    s.kh == R && s.kw == R && s.c >= 16 && s.o >= 16
}

/// The transformed weights `U` `[POSITIONS][o][c]`: G w Gᵀ for every (o, c) pair.
pub fn transform_weights(s: &ConvShape, weight: &[f32]) -> Vec<f32> {
    let tr = transforms();
    let mut u = vec![0.0f32; POSITIONS * s.o * s.c];
    for (pair, w) in weight.chunks_exact(R * R).enumerate() {
        // t = G w: [T][R]
        let mut t = [[0.0f32; R]; T];
        for (i, row) in t.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..R).map(|k| tr.g[i][k] * w[k * R + j]).sum();
            }
        }
        for i in 0..T {
            for j in 0..T {
                let v: f32 = (0..R).map(|k| t[i][k] * tr.g[j][k]).sum();
                u[(i * T + j) * s.o * s.c + pair] = v;
            }
        }
    }
    u
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

/// Bᵀ d B of every 8x8 input block of `images` planes into `v` `[POSITIONS][c][tiles]`
/// (tiles of all images side by side).
pub fn transform_input(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
    simd_dispatch!(input(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
        transform_input_body(s, images, planes, v)
    })
}

/// Tiles transformed together: their 64 values per position are gathered in a small
/// local buffer first, so that each position's row of `v` (or `m`) is written (read) 16
/// floats at a time instead of one float per cache line.
const BLOCK: usize = 16;

#[inline(always)]
fn transform_input_body(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
    let tr = transforms();
    let b = transpose(&tr.bt);
    let (th, tw) = tiles(s);
    let total = images * th * tw;
    let mut local = [[0.0f32; BLOCK]; POSITIONS];
    for c in 0..s.c {
        for start in (0..total).step_by(BLOCK) {
            let n = BLOCK.min(total - start);
            for k in 0..n {
                let tile = start + k;
                let (j, ty, tx) = (tile / (th * tw), tile / tw % th, tile % tw);
                let src = &planes.data[j * planes.image + c * planes.channel..][..s.h * s.w];
                let out = sandwich(&tr.bt, &input_block(s, src, ty, tx), &b);
                for (row, value) in local.iter_mut().zip(out.iter().flatten()) {
                    row[k] = *value;
                }
            }
            for (p, row) in local.iter().enumerate() {
                copy_block(&mut v[(p * s.c + c) * total + start..], row, n);
            }
        }
    }
}

/// `dst[..n] = src[..n]` for n <= BLOCK, with a fixed-size copy (inlined vector moves)
/// for whole blocks rather than a `memmove` call per 64 bytes.
#[inline(always)]
fn copy_block(dst: &mut [f32], src: &[f32], n: usize) {
    if n == BLOCK {
        let dst: &mut [f32; BLOCK] = (&mut dst[..BLOCK]).try_into().expect("BLOCK long");
        let src: &[f32; BLOCK] = src[..BLOCK].try_into().expect("BLOCK long");
        *dst = *src;
    } else {
        dst[..n].copy_from_slice(&src[..n]);
    }
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

fn transpose(m: &[[f32; T]; T]) -> [[f32; T]; T] {
    let mut t = [[0.0f32; T]; T];
    for (i, row) in m.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            t[j][i] = *v;
        }
    }
    t
}

/// `l x lᵀ` for an 8x8 `x`, given `lt` = lᵀ; both products as rows of 8 (vectorised).
#[inline(always)]
fn sandwich(l: &[[f32; T]; T], x: &[[f32; T]; T], lt: &[[f32; T]; T]) -> [[f32; T]; T] {
    let mut t = [[0.0f32; T]; T];
    for (ti, li) in t.iter_mut().zip(l) {
        for (a, xk) in li.iter().zip(x) {
            for (v, xv) in ti.iter_mut().zip(xk) {
                *v += a * xv;
            }
        }
    }
    let mut out = [[0.0f32; T]; T];
    for (oi, ti) in out.iter_mut().zip(&t) {
        for (a, ltk) in ti.iter().zip(lt) {
            for (v, lv) in oi.iter_mut().zip(ltk) {
                *v += a * lv;
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

#[inline(always)]
fn transform_output_body(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
    let tr = transforms();
    let mut a = [[0.0f32; M]; T];
    for (k, row) in a.iter_mut().enumerate() {
        for (q, v) in row.iter_mut().enumerate() {
            *v = tr.at[q][k];
        }
    }
    let (th, tw) = tiles(s);
    let (oh, ow) = (s.oh(), s.ow());
    let total = images * th * tw;
    let stride = images * oh * ow;
    let mut local = [[0.0f32; BLOCK]; POSITIONS];
    for o in 0..s.o {
        for start in (0..total).step_by(BLOCK) {
            let n = BLOCK.min(total - start);
            for (p, row) in local.iter_mut().enumerate() {
                copy_block(row, &m[(p * s.o + o) * total + start..], n);
            }
            for k in 0..n {
                let tile = start + k;
                let (j, ty, tx) = (tile / (th * tw), tile / tw % th, tile % tw);
                let mut x = [[0.0f32; T]; T];
                for (v, row) in x.iter_mut().flatten().zip(&local) {
                    *v = row[k];
                }
                // t = Aᵀ x: [M][T]; y = t A: [M][M]
                let mut t = [[0.0f32; T]; M];
                for (ti, ai) in t.iter_mut().zip(&tr.at) {
                    for (c, xk) in ai.iter().zip(&x) {
                        for (v, xv) in ti.iter_mut().zip(xk) {
                            *v += c * xv;
                        }
                    }
                }
                let mut y = [[0.0f32; M]; M];
                for (yi, ti) in y.iter_mut().zip(&t) {
                    for (c, ak) in ti.iter().zip(&a) {
                        for (v, av) in yi.iter_mut().zip(ak) {
                            *v += c * av;
                        }
                    }
                }
                let base = o * stride + j * oh * ow;
                let cols = M.min(ow - tx * M);
                for (i, yi) in y.iter().enumerate().take(M.min(oh - ty * M)) {
                    let at = base + (ty * M + i) * ow + tx * M;
                    res[at..at + cols].copy_from_slice(&yi[..cols]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1-D check in float64 terms: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation Σ_k d[i+k] g[k].
    #[test]
    fn transforms_compute_correlation() {
        let tr = transforms();
        let d: Vec<f32> = (0..T)
            .map(|i| ((i * 7 + 3) % 11) as f32 / 5.0 - 1.0)
            .collect();
        let g: Vec<f32> = (0..R)
            .map(|i| ((i * 5 + 2) % 7) as f32 / 3.0 - 1.0)
            .collect();
        let gg: Vec<f64> = (0..T)
            .map(|i| (0..R).map(|k| tr.g[i][k] as f64 * g[k] as f64).sum())
            .collect();
        let bd: Vec<f64> = (0..T)
            .map(|i| (0..T).map(|k| tr.bt[i][k] as f64 * d[k] as f64).sum())
            .collect();
        for i in 0..M {
            let y: f64 = (0..T).map(|k| tr.at[i][k] as f64 * gg[k] * bd[k]).sum();
            let want: f64 = (0..R).map(|k| d[i + k] as f64 * g[k] as f64).sum();
            assert!((y - want).abs() < 1e-5, "output {i}: {y} vs {want}");
        }
    }
}
