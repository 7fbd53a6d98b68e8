//! K unit vectors spread over the sphere in any dimension d, by minimising their Riesz
//! s-energy `E = sum_{i<j} |x_i - x_j|^-s` with s = max(d, 2).
//!
//! Why s = d: s = 1 (Thomson) spreads points evenly but weighs far pairs almost as much as
//! near ones; as s grows the energy is dominated by the closest pairs, and its minimisers
//! tend to the best packings (largest minimum angle), which is what a margin needs. s = d
//! is the hypersingular threshold at which minimisers are uniformly distributed for every
//! K (Hardin and Saff, 2005), so it balances the two.
//!
//! Optimiser: projected gradient descent on log E with a backtracking step (a step that does
//! not lower the energy is halved and retried), so the energy decreases monotonically. Start:
//! Gaussian points from a seeded ChaCha generator, so a (K, d, seed) always gives the same
//! vertices on every platform. The result is cached on disk (see [`cached_or_compute`]).

use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rayon::prelude::*;

use super::angles::normalized;

/// Iteration cap; in practice the step falls below `MIN_STEP` (1e-7) first for small K.
pub const MAX_ITERATIONS: usize = 3000;
/// Total work cap, iterations * K^2 * d (about a minute on 2 cores): large K get fewer
/// iterations, so their phi is what this budget reaches (still reported truthfully).
pub const MAX_TOTAL_WORK: usize = 1 << 35;
/// Largest angular step (radians) any point moves in the first iteration.
const FIRST_STEP: f64 = 0.1;
/// Stop once the accepted step is this small (radians).
const MIN_STEP: f64 = 1e-7;
/// Largest K * K * d we optimise (one energy evaluation is about 2 K^2 d flops): K = 4096
/// at d = 128.
pub const MAX_WORK: usize = 1 << 31;

/// The optimised vertices and the energy at each accepted iterate.
#[derive(Debug, Clone)]
pub struct SpreadRun {
    /// The K unit vectors, one per class.
    pub vertices: Vec<Vec<f64>>,
    /// `ln E` after initialisation and after each accepted step: strictly decreasing.
    pub log_energy: Vec<f64>,
    /// The Riesz exponent s used.
    pub exponent: f64,
}

/// Riesz exponent for dimension `dim`.
pub fn exponent(dim: usize) -> f64 {
    dim.max(2) as f64
}

/// Iterations [`cached_or_compute`] runs for K points in d dimensions.
pub fn iteration_budget(classes: usize, dim: usize) -> usize {
    let per_iteration = classes.saturating_mul(classes).saturating_mul(dim).max(1);
    (MAX_TOTAL_WORK / per_iteration).clamp(20, MAX_ITERATIONS)
}

/// Seeded starting points: Gaussian directions (Box-Muller), normalised.
pub fn initial_points(classes: usize, dim: usize, seed: u64) -> Vec<Vec<f64>> {
    // ChaCha12 by name, not `StdRng`, whose algorithm `rand` may change between versions:
    // the vertices of a saved run must come out the same on every version.
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(seed);
    let mut gaussian = move || {
        let u: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
        let v: f64 = rng.random::<f64>();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    (0..classes)
        .map(|_| normalized(&(0..dim).map(|_| gaussian()).collect::<Vec<_>>()))
        .collect()
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `ln E` and, per point, the descent direction `-grad ln E / s` (not yet projected), in
/// two passes so no K x K matrix is stored: the first finds the closest pair, which sets
/// the log-sum-exp shift that keeps `r^-s` finite for any s.
fn evaluate(x: &[Vec<f64>], s: f64) -> (f64, Vec<Vec<f64>>) {
    let k = x.len();
    // ln r^-s = -s/2 ln r^2; its maximum is at the smallest distance.
    let min_d2 = (0..k)
        .into_par_iter()
        .map(|i| {
            (0..k)
                .filter(|&j| j != i)
                .map(|j| dist2(&x[i], &x[j]))
                .fold(f64::INFINITY, f64::min)
        })
        .reduce(|| f64::INFINITY, f64::min)
        .max(1e-300);
    let shift = -0.5 * s * min_d2.ln();
    let per_point: Vec<(f64, Vec<f64>)> = (0..k)
        .into_par_iter()
        .map(|i| {
            let mut sum = 0.0;
            let mut grad = vec![0.0; x[i].len()];
            for j in (0..k).filter(|&j| j != i) {
                let d2 = dist2(&x[i], &x[j]).max(1e-300);
                let w = (-0.5 * s * d2.ln() - shift).exp();
                sum += w;
                for (g, (a, b)) in grad.iter_mut().zip(x[i].iter().zip(&x[j])) {
                    *g += w * (a - b) / d2;
                }
            }
            (sum, grad)
        })
        .collect();
    // Each pair was counted from both ends.
    let total: f64 = per_point.iter().map(|(s, _)| s).sum::<f64>() / 2.0;
    let log_energy = shift + total.ln();
    let grads = per_point
        .into_iter()
        .map(|(_, g)| g.into_iter().map(|v| v / total).collect())
        .collect();
    (log_energy, grads)
}

/// Move each point along its tangent descent direction, the largest move being `step`
/// radians, and back onto the sphere.
fn moved(x: &[Vec<f64>], grads: &[Vec<f64>], step: f64) -> Vec<Vec<f64>> {
    let tangents: Vec<Vec<f64>> = x
        .iter()
        .zip(grads)
        .map(|(p, g)| {
            let radial: f64 = p.iter().zip(g).map(|(a, b)| a * b).sum();
            g.iter().zip(p).map(|(gi, pi)| gi - radial * pi).collect()
        })
        .collect();
    let largest = tangents
        .iter()
        .map(|t| t.iter().map(|v| v * v).sum::<f64>().sqrt())
        .fold(0.0, f64::max);
    if largest == 0.0 {
        return x.to_vec();
    }
    x.iter()
        .zip(&tangents)
        .map(|(p, t)| {
            let q: Vec<f64> = p
                .iter()
                .zip(t)
                .map(|(a, b)| a + step * b / largest)
                .collect();
            normalized(&q)
        })
        .collect()
}

/// Minimise the Riesz energy of `classes` points in `dim` dimensions from seed `seed`.
/// The caller checks the size against [`MAX_WORK`].
pub fn optimise(classes: usize, dim: usize, seed: u64, max_iterations: usize) -> SpreadRun {
    let s = exponent(dim);
    let mut x = initial_points(classes, dim, seed);
    let (mut energy, mut grads) = evaluate(&x, s);
    let mut log_energy = vec![energy];
    let mut step = FIRST_STEP;
    let mut iterations = 0;
    while iterations < max_iterations && step >= MIN_STEP {
        iterations += 1;
        let trial = moved(&x, &grads, step);
        let (trial_energy, trial_grads) = evaluate(&trial, s);
        if trial_energy < energy {
            x = trial;
            energy = trial_energy;
            grads = trial_grads;
            log_energy.push(energy);
            step = (step * 1.2).min(FIRST_STEP);
        } else {
            step *= 0.5;
        }
    }
    SpreadRun {
        vertices: x,
        log_energy,
        exponent: s,
    }
}

/// The spread vertices for (K, d, seed): read from `cache_dir` when a valid file is there,
/// else optimised and written there (best effort: an unwritable cache only costs time).
pub fn cached_or_compute(
    classes: usize,
    dim: usize,
    seed: u64,
    cache_dir: Option<&Path>,
) -> Vec<Vec<f64>> {
    let path = cache_dir.map(|d| cache_file(d, classes, dim, seed));
    if let Some(v) = path.as_deref().and_then(|p| read_cache(p, classes, dim)) {
        return v;
    }
    let run = optimise(classes, dim, seed, iteration_budget(classes, dim));
    if let Some(p) = path {
        let _ = std::fs::create_dir_all(p.parent().unwrap_or(Path::new(".")))
            .and_then(|_| crate::atomic_file::write_atomic(&p, &encode(&run.vertices)));
    }
    run.vertices
}

/// Where spread vertices are cached: `$REPONET_CACHE/polytopes`, else the platform cache
/// (e.g. `~/.cache/reponet/polytopes`).
pub fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("REPONET_CACHE")
        .map(PathBuf::from)
        .or_else(|| dirs::cache_dir().map(|d| d.join("reponet")))
        .map(|d| d.join("polytopes"))
}

/// The optimiser's version and budget: part of every cache file's name (bump it when either
/// changes) and of the recipe a run records.
pub const VERSION: &str = "v2";

/// The cache file's name carries everything that determines its content.
fn cache_file(dir: &Path, classes: usize, dim: usize, seed: u64) -> PathBuf {
    dir.join(format!("spread-{VERSION}-k{classes}-d{dim}-seed{seed}.f64"))
}

/// Version 2 of the file: the magic, the SHA-256 of the values, the values (f64 LE).
const MAGIC: &[u8; 8] = b"RPSPRD02";

fn checksum(values: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(values).into()
}

fn encode(vertices: &[Vec<f64>]) -> Vec<u8> {
    let values: Vec<u8> = vertices
        .iter()
        .flatten()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&checksum(&values));
    out.extend_from_slice(&values);
    out
}

/// `None` for a missing, short or corrupt file (a checksum that does not match, an older
/// format, any non-unit row): the vertices are then computed again.
fn read_cache(path: &Path, classes: usize, dim: usize) -> Option<Vec<Vec<f64>>> {
    let bytes = std::fs::read(path).ok()?;
    let (sum, body) = bytes.strip_prefix(MAGIC.as_slice())?.split_at_checked(32)?;
    if body.len() != classes * dim * 8 || checksum(body) != sum {
        return None;
    }
    let values: Vec<f64> = body
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let rows: Vec<Vec<f64>> = values.chunks(dim).map(<[f64]>::to_vec).collect();
    let unit = rows
        .iter()
        .all(|r| ((r.iter().map(|v| v * v).sum::<f64>()) - 1.0).abs() < 1e-9);
    unit.then_some(rows)
}
