// The code of one Winograd variant, included into its module after the constants M, R,
// AT and G (see `winograd/mod.rs`).

// T is the lanes of a row (8 tiles or kernel pairs side by side), TILE the transformed
// tile's side (8 or 6).
use super::{
    get, product, product_rows, put, transposed, turn, ConvShape, MaybeUninit, Planes, Row, T,
};

/// Positions in a transformed tile: one GEMM each.
const POSITIONS: usize = TILE * TILE;

/// [`POSITIONS`], for the callers that choose the variant at run time.
pub fn positions() -> usize {
    POSITIONS
}

/// A (the second factor of Aᵀ m A) and Gᵀ (of G w Gᵀ).
const A: [[f32; M]; TILE] = transposed(&AT);
const GT: [[f32; TILE]; R] = transposed(&G);

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

simd_fn! {
    // Kernel row i, column j and pair k index several arrays at once: ranges say it plainest.
    #[allow(clippy::needless_range_loop)]
    fn transform_weights_into(weight: &[f32], pairs: usize, u: &mut [f32]) {
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
                    put(&mut u[(t * TILE + q) * pairs + first..], row, n);
                }
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

simd_fn! {
    #[allow(clippy::needless_range_loop)]
    fn weights_from_transformed_into(du: &[f32], pairs: usize, gw: &mut [f32]) {
        // T pairs at a time in the lanes: vector loads of `du`'s rows, then one scalar
        // scatter of the 25 results per pair.
        for first in (0..pairs).step_by(T) {
            let n = T.min(pairs - first);
            let mut d = [[[0.0f32; T]; TILE]; TILE]; // [i][j][pair]
            for (i, d_i) in d.iter_mut().enumerate() {
                for (j, row) in d_i.iter_mut().enumerate() {
                    *row = get(&du[(i * TILE + j) * pairs + first..], n);
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
}

/// Tiles per image: (rows, columns) of MxM output blocks.
pub fn tiles(s: &ConvShape) -> (usize, usize) {
    (s.oh().div_ceil(M), s.ow().div_ceil(M))
}

simd_fn! {
    /// Bᵀ d B of every TILE x TILE input block of `images` planes into `v` `[POSITIONS][c][tiles]`
    /// (tiles of all images side by side).
    pub fn transform_input(s: &ConvShape, images: usize, planes: Planes, v: &mut [f32]) {
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
                let mut bt_d = [const { MaybeUninit::<[Row; TILE]>::uninit() }; T];
                for (k, tile_rows) in bt_d.iter_mut().enumerate() {
                    let tile = first + k.min(n - 1);
                    let (j, ty, tx) = (tile / (th * tw), tile / tw % th, tile % tw);
                    let src = &planes.data[j * planes.image + c * planes.channel..][..s.h * s.w];
                    tile_rows.write(bt_rows(&input_block(s, src, ty, tx)));
                }
                // SAFETY: the loop wrote all T blocks; MaybeUninit<X> has X's layout.
                let bt_d: [[Row; TILE]; T] = unsafe { std::mem::transmute(bt_d) };
                for r in 0..TILE {
                    // Row r of every tile, turned: [column][tile].
                    let by_column = turn(&bt_d, r);
                    for (q, row) in bt_rows(&by_column).iter().enumerate() {
                        put(&mut v[((r * TILE + q) * s.c + c) * total + first..], row, n);
                    }
                }
            }
        }
    }
}

/// The TILE x 8 block of `src` `[h, w]` at (M ty - ph, M tx - pw), zeros outside (the
/// columns past TILE are not used).
#[inline(always)]
fn input_block(s: &ConvShape, src: &[f32], ty: usize, tx: usize) -> [Row; T] {
    let mut d = [[0.0f32; T]; T];
    let x0 = (tx * M) as isize - s.pw as isize;
    let inside_x = x0 >= 0 && x0 as usize + TILE <= s.w;
    // Across an edge: the block's columns [lo, hi) are inside the map, computed once.
    let lo = (-x0).max(0) as usize;
    let hi = ((s.w as isize - x0).clamp(0, TILE as isize) as usize).max(lo);
    for (r, row) in d.iter_mut().enumerate().take(TILE) {
        let y = (ty * M + r) as isize - s.ph as isize;
        if y < 0 || y >= s.h as isize {
            continue;
        }
        let line = &src[y as usize * s.w..][..s.w];
        if inside_x {
            row[..TILE].copy_from_slice(&line[x0 as usize..][..TILE]);
        } else {
            let inside = &line[(x0 + lo as isize) as usize..];
            for (v, x) in row[lo..hi].iter_mut().zip(inside) {
                *v = *x;
            }
        }
    }
    d
}

simd_fn! {
    /// Aᵀ m A of every tile's products `m` `[POSITIONS][o][tiles]` into `res`
    /// `[o, images * oh * ow]` (images side by side, as the im2col GEMM writes them).
    // Tile k and row i index several [..][..][k] arrays at once: ranges say it plainest.
    #[allow(clippy::needless_range_loop)]
    pub fn transform_output(s: &ConvShape, images: usize, m: &[f32], res: &mut [f32]) {
        let (th, tw) = tiles(s);
        let (oh, ow) = (s.oh(), s.ow());
        let total = images * th * tw;
        let stride = images * oh * ow;
        for o in 0..s.o {
            // T tiles at a time, lanes = tiles throughout: X A row by row (each row of X read
            // straight from m), then Aᵀ (X A) column by column, and only the M x M results are
            // written tile by tile.
            for first in (0..total).step_by(T) {
                let n = T.min(total - first);
                let mut xa = [[[0.0f32; T]; M]; TILE]; // [r][i][tile]: (X A)[r][i]
                for (r, xa_r) in xa.iter_mut().enumerate() {
                    let mut x_r = [[0.0f32; T]; TILE]; // [q][tile]: X[r][q]
                    for (q, row) in x_r.iter_mut().enumerate() {
                        *row = get(&m[((r * TILE + q) * s.o + o) * total + first..], n);
                    }
                    *xa_r = product(&AT, &x_r);
                }
                let mut y = [[[0.0f32; T]; M]; M]; // [i][i'][tile]: (Aᵀ X A)[i'][i]
                for (i, y_i) in y.iter_mut().enumerate() {
                    let mut xa_i = [[0.0f32; T]; TILE]; // [r][tile]
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
}

simd_fn! {
    /// A dy Aᵀ of every M x M block of the output-gradient planes `dy` (image j's channel o,
    /// `[oh, ow]`, zeros past the edges) into `out` `[POSITIONS][o][tiles]`: the adjoint of
    /// [`transform_output`], for the weight gradient Σ (A dy Aᵀ) ⊙ (Bᵀ d B).
    // Tile k and row i index several [..][..][k] arrays at once: ranges say it plainest.
    #[allow(clippy::needless_range_loop)]
    pub fn transform_grad(s: &ConvShape, images: usize, dy: Planes, out: &mut [f32]) {
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
                let mut ad = [[[0.0f32; T]; TILE]; M]; // [j][r][tile]: (A d)[r][j]
                for (ad_j, d_j) in ad.iter_mut().zip(&d) {
                    *ad_j = product(&A, d_j);
                }
                for r in 0..TILE {
                    let mut ad_r = [[0.0f32; T]; M]; // [j][tile]
                    for (row, ad_j) in ad_r.iter_mut().zip(&ad) {
                        *row = ad_j[r];
                    }
                    for (q, row) in product(&A, &ad_r).iter().enumerate() {
                        put(&mut out[((r * TILE + q) * s.o + o) * total + first..], row, n);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{inverse, vandermonde};
        use super::*;

    #[test]
    fn transform_input_matches_float64() {
        let s = ConvShape {
            n: 1,
            c: 3,
            h: 11,
            w: 9,
            o: 2,
            kh: R,
            kw: R,
            ph: R / 2,
            pw: R / 2,
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
                        let p = (R / 2) as isize;
                        let (y, x) = ((ty * M + r) as isize - p, (tx * M + q) as isize - p);
                        if y < 0 || x < 0 || y >= 11 || x >= 9 {
                            0.0
                        } else {
                            data[c * 99 + y as usize * 9 + x as usize] as f64
                        }
                    };
                    for i in 0..TILE {
                        for j in 0..TILE {
                            let want: f64 = (0..TILE)
                                .flat_map(|k| (0..TILE).map(move |l| (k, l)))
                                .map(|(k, l)| BT[i][k] as f64 * at(k, l) * BT[j][l] as f64)
                                .sum();
                            let got = v[((i * TILE + j) * s.c + c) * total + ty * tw + tx];
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
        let (va, vr) = (vandermonde(M, TILE), vandermonde(R, TILE));
        let inv = inverse(&vandermonde(TILE, TILE));
        let close = |c: f32, v: f64| (c as f64 - v).abs() <= 1e-7 * v.abs().max(1.0);
        for i in 0..TILE {
            for k in 0..M {
                assert!(close(AT[k][i], va[i][k]), "Aᵀ[{k}][{i}]");
            }
            for k in 0..R {
                assert!(close(G[i][k], vr[i][k]), "G[{i}][{k}]");
            }
            for j in 0..TILE {
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
            ph: R / 2,
            pw: R / 2,
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
            let d = |i: usize, j: usize| du[(i * TILE + j) * pairs + pair] as f64;
            for (t, q) in (0..TILE).flat_map(|t| (0..TILE).map(move |q| (t, q))) {
                let mut terms =
                    (0..R).flat_map(|i| (0..R).map(move |j| g(t, i) * w(i, j) * g(q, j)));
                close(u[(t * TILE + q) * pairs + pair], &mut terms, "G w Gᵀ");
            }
            for (r, k) in (0..R).flat_map(|r| (0..R).map(move |k| (r, k))) {
                let mut terms =
                    (0..TILE).flat_map(|i| (0..TILE).map(move |j| g(i, r) * d(i, j) * g(j, k)));
                close(gw[pair * R * R + r * R + k], &mut terms, "Gᵀ du G");
            }
        }
    }

    /// 1-D check in float64 terms: Aᵀ[(G g) ⊙ (Bᵀ d)] is the correlation Σ_k d[i+k] g[k].
    #[test]
    fn transforms_compute_correlation() {
        let d: Vec<f32> = (0..TILE)
            .map(|i| ((i * 7 + 3) % 11) as f32 / 5.0 - 1.0)
            .collect();
        let g: Vec<f32> = (0..R)
            .map(|i| ((i * 5 + 2) % 7) as f32 / 3.0 - 1.0)
            .collect();
        let gg: Vec<f64> = (0..TILE)
            .map(|i| (0..R).map(|k| G[i][k] as f64 * g[k] as f64).sum())
            .collect();
        let bd: Vec<f64> = (0..TILE)
            .map(|i| (0..TILE).map(|k| BT[i][k] as f64 * d[k] as f64).sum())
            .collect();
        for i in 0..M {
            let y: f64 = (0..TILE).map(|k| AT[i][k] as f64 * gg[k] * bd[k]).sum();
            let want: f64 = (0..R).map(|k| d[i + k] as f64 * g[k] as f64).sum();
            assert!((y - want).abs() < 1e-5, "output {i}: {y} vs {want}");
        }
    }
}
