//! Which coordinates a scatter-plot matrix shows: all of them, chosen ones, or the top
//! principal directions.

use crate::analysis::Embeddings;

/// Most coordinates a matrix shows whole (10 x 10 panels).
pub const MAX_PANELS: usize = 10;

#[derive(Debug, Clone, PartialEq)]
/// How d-dimensional features are drawn on a page.
pub enum Projection {
    /// Every coordinate (d <= `MAX_PANELS`, 10).
    All,
    /// These coordinates, in this order.
    Dims(Vec<usize>),
    /// The top K principal directions of the shown features (centred).
    Pca(usize),
}

/// A row of features mapped to the shown coordinates.
type Project = Box<dyn Fn(&[f32]) -> Vec<f64>>;

impl Projection {
    /// The shown coordinates' names and the map to them; an error says what to pick.
    pub fn resolve(&self, emb: &Embeddings) -> Result<(Vec<String>, Project), String> {
        let d = emb.dim;
        match self {
            Self::All if d > MAX_PANELS => Err(format!(
                "d = {d} gives {d} x {d} panels: pick at most {MAX_PANELS} coordinates with --dims (e.g. --dims 0,1,2,3) or --project pca:4"
            )),
            Self::All => Self::Dims((0..d).collect()).resolve(emb),
            Self::Dims(dims) => {
                if dims.is_empty() || dims.len() > MAX_PANELS {
                    return Err(format!("--dims: give 1 to {MAX_PANELS} coordinates"));
                }
                if let Some(bad) = dims.iter().find(|&&i| i >= d) {
                    return Err(format!("--dims: coordinate {bad} does not exist (d = {d}: 0 to {})", d - 1));
                }
                let names = dims.iter().map(|i| format!("f{i}")).collect();
                let dims = dims.clone();
                Ok((names, Box::new(move |row| dims.iter().map(|&i| row[i] as f64).collect())))
            }
            Self::Pca(k) => {
                if *k == 0 || *k > MAX_PANELS.min(d) {
                    return Err(format!(
                        "--project pca:{k}: K must be 1 to {}",
                        MAX_PANELS.min(d)
                    ));
                }
                let (mean, axes) = principal_axes(&emb.features, d, *k);
                let names = (1..=*k).map(|i| format!("PC{i}")).collect();
                Ok((
                    names,
                    Box::new(move |row| {
                        axes.iter()
                            .map(|a| {
                                a.iter()
                                    .zip(row.iter().zip(&mean))
                                    .map(|(w, (&x, m))| w * (x as f64 - m))
                                    .sum()
                            })
                            .collect()
                    }),
                ))
            }
        }
    }
}

impl std::str::FromStr for Projection {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            return Ok(Self::All);
        }
        s.strip_prefix("pca:")
            .and_then(|k| k.parse().ok())
            .map(Self::Pca)
            .ok_or_else(|| format!("projection '{s}': expected all or pca:K, e.g. pca:4"))
    }
}

/// The mean of the rows of `features` (`dim` columns) and the `k` eigenvectors of their
/// covariance with the largest eigenvalues (cyclic Jacobi rotations, float64).
// Matrix algebra reads best with indices.
#[allow(clippy::needless_range_loop)]
pub fn principal_axes(features: &[f32], dim: usize, k: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = (features.len() / dim).max(1) as f64;
    let mut mean = vec![0.0; dim];
    for row in features.chunks(dim) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, &x)| *m += x as f64 / n);
    }
    let mut cov = vec![vec![0.0; dim]; dim];
    for row in features.chunks(dim) {
        let c: Vec<f64> = row.iter().zip(&mean).map(|(&x, m)| x as f64 - m).collect();
        for a in 0..dim {
            for b in a..dim {
                cov[a][b] += c[a] * c[b] / n;
            }
        }
    }
    for a in 0..dim {
        for b in 0..a {
            cov[a][b] = cov[b][a];
        }
    }
    let mut vectors: Vec<Vec<f64>> = (0..dim)
        .map(|i| (0..dim).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..dim)
            .flat_map(|a| (0..dim).filter(move |&b| b != a).map(move |b| (a, b)))
            .map(|(a, b)| cov[a][b] * cov[a][b])
            .sum();
        if off < 1e-22 {
            break;
        }
        for p in 0..dim {
            for q in p + 1..dim {
                if cov[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (cov[q][q] - cov[p][p]) / (2.0 * cov[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let (c, s) = (1.0 / (t * t + 1.0).sqrt(), t / (t * t + 1.0).sqrt());
                for r in 0..dim {
                    let (a, b) = (cov[r][p], cov[r][q]);
                    cov[r][p] = c * a - s * b;
                    cov[r][q] = s * a + c * b;
                }
                for r in 0..dim {
                    let (a, b) = (cov[p][r], cov[q][r]);
                    cov[p][r] = c * a - s * b;
                    cov[q][r] = s * a + c * b;
                }
                for v in vectors.iter_mut() {
                    let (a, b) = (v[p], v[q]);
                    v[p] = c * a - s * b;
                    v[q] = s * a + c * b;
                }
            }
        }
    }
    // Column j of the accumulated rotations is the eigenvector of eigenvalue cov[j][j].
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| cov[b][b].total_cmp(&cov[a][a]));
    let axes = order
        .iter()
        .take(k)
        .map(|&j| vectors.iter().map(|row| row[j]).collect())
        .collect();
    (mean, axes)
}
