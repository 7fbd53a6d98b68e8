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
        for i in 0..T {
            for k in 0..M {
                t.at[k][i] = va[i][k] as f32;
            }
            for k in 0..R {
                t.g[i][k] = vr[i][k] as f32;
            }
            for j in 0..T {
                // Bᵀ = (V⁻¹)ᵀ
                t.bt[i][j] = vt_inv[j][i] as f32;
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

/// Bᵀ d B of every 8x8 input block of `images` planes into `v` `[POSITIONS][c][tiles]`
/// (tiles of all images side by side). `plane(j, c)` is image j's channel c, `[h, w]`.
pub fn transform_input<'a>(
    s: &ConvShape,
    images: usize,
    plane: impl Fn(usize, usize) -> &'a [f32],
    v: &mut [f32],
) {
    let tr = transforms();
    let (th, tw) = tiles(s);
    let total = images * th * tw;
    for j in 0..images {
        for c in 0..s.c {
            let src = plane(j, c);
            for ty in 0..th {
                for tx in 0..tw {
                    // d: the 8x8 block at (4 ty - ph, 4 tx - pw), zeros outside the image.
                    let mut d = [[0.0f32; T]; T];
                    for (r, row) in d.iter_mut().enumerate() {
                        let y = (ty * M + r) as isize - s.ph as isize;
                        if y < 0 || y >= s.h as isize {
                            continue;
                        }
                        let line = &src[y as usize * s.w..][..s.w];
                        for (q, v) in row.iter_mut().enumerate() {
                            let x = (tx * M + q) as isize - s.pw as isize;
                            if x >= 0 && x < s.w as isize {
                                *v = line[x as usize];
                            }
                        }
                    }
                    let out = sandwich(&tr.bt, &d);
                    let tile = (j * th + ty) * tw + tx;
                    for (p, value) in out.iter().flatten().enumerate() {
                        v[(p * s.c + c) * total + tile] = *value;
                    }
                }
            }
        }
    }
}

/// `l x lᵀ` for an 8x8 `x`.
#[inline(always)]
fn sandwich(l: &[[f32; T]; T], x: &[[f32; T]; T]) -> [[f32; T]; T] {
    let mut t = [[0.0f32; T]; T];
    for i in 0..T {
        for k in 0..T {
            let a = l[i][k];
            for j in 0..T {
                t[i][j] += a * x[k][j];
            }
        }
    }
    let mut out = [[0.0f32; T]; T];
    for i in 0..T {
        for j in 0..T {
            out[i][j] = (0..T).map(|k| t[i][k] * l[j][k]).sum();
        }
    }
    out
}

/// Aᵀ m A of every tile's products `m` `[POSITIONS][o][tiles]` into `res`
/// `[o, images * oh * ow]` (images side by side, as the im2col GEMM writes them).
pub fn transform_output(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
    let tr = transforms();
    let (th, tw) = tiles(s);
    let (oh, ow) = (s.oh(), s.ow());
    let total = images * th * tw;
    let stride = images * oh * ow;
    for o in 0..s.o {
        for j in 0..images {
            for ty in 0..th {
                for tx in 0..tw {
                    let tile = (j * th + ty) * tw + tx;
                    let mut x = [[0.0f32; T]; T];
                    for (p, v) in x.iter_mut().flatten().enumerate() {
                        *v = m[(p * s.o + o) * total + tile];
                    }
                    // t = Aᵀ x: [M][T]; y = t A: [M][M]
                    let mut t = [[0.0f32; T]; M];
                    for i in 0..M {
                        for k in 0..T {
                            let a = tr.at[i][k];
                            for q in 0..T {
                                t[i][q] += a * x[k][q];
                            }
                        }
                    }
                    let base = o * stride + j * oh * ow;
                    for i in 0..M.min(oh - ty * M) {
                        for q in 0..M.min(ow - tx * M) {
                            let y: f32 = (0..T).map(|k| t[i][k] * tr.at[q][k]).sum();
                            res[base + (ty * M + i) * ow + tx * M + q] = y;
                        }
                    }
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
