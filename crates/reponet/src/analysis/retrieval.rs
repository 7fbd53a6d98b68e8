//! Retrieval and verification metrics of embeddings under cosine similarity, exact.
//!
//! Retrieval follows Musgrave, Belongie and Lim, "A Metric Learning Reality Check" (ECCV
//! 2020). Every embedding is a query against all the others; for a query of class c, R is
//! the number of other embeddings of class c (queries with R = 0 are skipped), and the
//! neighbours are ranked by cosine similarity, ties broken by index.
//! - precision@1: the fraction of queries whose nearest neighbour has the query's class.
//! - R-precision: the mean over queries of r / R, r being the same-class embeddings among
//!   the R nearest.
//! - MAP@R: the mean over queries of (1/R) sum_{k <= R} P(k) rel(k), where rel(k) is 1 when
//!   the k-th neighbour has the query's class and P(k) is the precision of the first k.
//!
//! Verification: every same-class pair is a positive; negatives are all different-class
//! pairs, or a uniform sample of [`MAX_NEGATIVE_PAIRS`] of them (seeded) when there are more.
//! The threshold at a false accept rate f is the smallest score t such that at most f of the
//! negatives score above t; TAR is the fraction of positives scoring above it.

use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::embeddings::normalize_rows;

/// Negative pairs used at most for verification (enough for FAR = 1e-4 with 1,000 false
/// accepts at the threshold).
pub const MAX_NEGATIVE_PAIRS: usize = 10_000_000;
/// The false accept rates verification reports.
pub const FARS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// Retrieval and verification figures (fractions in [0, 1]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrievalMetrics {
    /// Test images used as queries (each against all the others).
    pub queries: usize,
    /// Fraction of queries whose nearest neighbour has their class.
    pub precision_at_1: f64,
    /// Mean over queries of the precision among the R nearest, R = same-class images.
    pub r_precision: f64,
    /// Mean average precision at R (Musgrave et al. 2020).
    pub map_at_r: f64,
    /// Same-class pairs scored for verification.
    pub positive_pairs: usize,
    /// Different-class pairs scored for verification (all, or a sample).
    pub negative_pairs: usize,
    /// TAR at each of [`FARS`], in that order.
    pub tar_at_far: Vec<TarAtFar>,
    /// Wall seconds of the whole computation.
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// True accept rate at one false accept rate.
pub struct TarAtFar {
    /// False accept rate: fraction of different-class pairs accepted.
    pub far: f64,
    /// Cosine-similarity threshold that gives that FAR.
    pub threshold: f64,
    /// True accept rate: fraction of same-class pairs at or above the threshold.
    pub tar: f64,
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Compute every metric for embeddings `features` (`labels.len()` rows of `dim`).
pub fn retrieval_metrics(
    features: &[f32],
    dim: usize,
    labels: &[u8],
    seed: u64,
) -> RetrievalMetrics {
    let started = std::time::Instant::now();
    let n = labels.len();
    assert_eq!(features.len(), n * dim, "features must hold n rows of dim");
    let mut unit = features.to_vec();
    normalize_rows(&mut unit, dim);
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut class_size = vec![0usize; classes];
    for &l in labels {
        class_size[l as usize] += 1;
    }

    // Retrieval: queries split across threads, each ranking all others.
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let chunk = n.div_ceil(threads.max(1)).max(1);
    let per_query: Vec<(f64, f64, f64, bool)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| {
                let (unit, labels, class_size) = (&unit, labels, &class_size);
                scope.spawn(move || {
                    let mut scored: Vec<(f32, usize)> = Vec::with_capacity(n);
                    (start..(start + chunk).min(n))
                        .map(|q| query(q, unit, dim, labels, class_size, &mut scored))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("retrieval thread"))
            .collect()
    });
    let counted: Vec<_> = per_query.iter().filter(|q| q.3).collect();
    let queries = counted.len();
    let mean = |f: fn(&&(f64, f64, f64, bool)) -> f64| {
        counted.iter().map(f).sum::<f64>() / queries.max(1) as f64
    };

    // Verification.
    let negatives = negative_scores(&unit, dim, labels, &class_size, seed);
    let thresholds: Vec<f32> = FARS.iter().map(|&f| threshold(&negatives, f)).collect();
    let mut above = [0usize; FARS.len()];
    let mut positives = 0usize;
    for i in 0..n {
        for j in i + 1..n {
            if labels[i] == labels[j] {
                positives += 1;
                let s = dot(&unit[i * dim..(i + 1) * dim], &unit[j * dim..(j + 1) * dim]);
                for (a, &t) in above.iter_mut().zip(&thresholds) {
                    *a += usize::from(s > t);
                }
            }
        }
    }
    RetrievalMetrics {
        queries,
        precision_at_1: mean(|q| q.0),
        r_precision: mean(|q| q.1),
        map_at_r: mean(|q| q.2),
        positive_pairs: positives,
        negative_pairs: negatives.len(),
        tar_at_far: FARS
            .iter()
            .zip(&thresholds)
            .zip(above)
            .map(|((&far, &t), a)| TarAtFar {
                far,
                threshold: t as f64,
                tar: a as f64 / positives.max(1) as f64,
            })
            .collect(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// (precision@1, R-precision, AP@R, counted) of query `q`.
fn query(
    q: usize,
    unit: &[f32],
    dim: usize,
    labels: &[u8],
    class_size: &[usize],
    scored: &mut Vec<(f32, usize)>,
) -> (f64, f64, f64, bool) {
    let r = class_size[labels[q] as usize] - 1;
    if r == 0 {
        return (0.0, 0.0, 0.0, false);
    }
    let fq = &unit[q * dim..(q + 1) * dim];
    scored.clear();
    scored.extend(
        (0..labels.len())
            .filter(|&j| j != q)
            .map(|j| (dot(fq, &unit[j * dim..(j + 1) * dim]), j)),
    );
    // Best first: higher similarity, then lower index.
    let order = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if r < scored.len() {
        scored.select_nth_unstable_by(r - 1, order);
    }
    let top = &mut scored[..r];
    top.sort_unstable_by(order);
    let (mut hits, mut ap) = (0usize, 0.0);
    for (k, &(_, j)) in top.iter().enumerate() {
        if labels[j] == labels[q] {
            hits += 1;
            ap += hits as f64 / (k + 1) as f64;
        }
    }
    let p1 = f64::from(u8::from(labels[top[0].1] == labels[q]));
    (p1, hits as f64 / r as f64, ap / r as f64, true)
}

/// Scores of all different-class pairs, or of a seeded uniform sample of them.
fn negative_scores(
    unit: &[f32],
    dim: usize,
    labels: &[u8],
    class_size: &[usize],
    seed: u64,
) -> Vec<f32> {
    let n = labels.len();
    let same: usize = class_size
        .iter()
        .map(|&c| c * c.saturating_sub(1) / 2)
        .sum();
    let total = n * n.saturating_sub(1) / 2 - same;
    let score =
        |i: usize, j: usize| dot(&unit[i * dim..(i + 1) * dim], &unit[j * dim..(j + 1) * dim]);
    if total <= MAX_NEGATIVE_PAIRS {
        let mut out = Vec::with_capacity(total);
        for i in 0..n {
            for j in i + 1..n {
                if labels[i] != labels[j] {
                    out.push(score(i, j));
                }
            }
        }
        return out;
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(MAX_NEGATIVE_PAIRS);
    while out.len() < MAX_NEGATIVE_PAIRS {
        let (i, j) = (rng.random_range(0..n), rng.random_range(0..n));
        if labels[i] != labels[j] {
            out.push(score(i, j));
        }
    }
    out
}

/// The smallest score t with at most `far` of `negatives` above it.
fn threshold(negatives: &[f32], far: f64) -> f32 {
    if negatives.is_empty() {
        return f32::INFINITY;
    }
    let allowed = (far * negatives.len() as f64).floor() as usize;
    if allowed >= negatives.len() {
        return f32::NEG_INFINITY;
    }
    let mut scores = negatives.to_vec();
    // The (allowed + 1)-th highest score: exactly `allowed` or fewer lie strictly above it.
    let (_, t, _) = scores.select_nth_unstable_by(allowed, |a, b| b.total_cmp(a));
    *t
}
