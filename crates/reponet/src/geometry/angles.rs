//! Small vector helpers in `f64`, shared by geometry and analysis.

/// Dot product of two vectors of the same length.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Euclidean norm.
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `a / |a|`; a zero vector stays zero.
pub fn normalized(a: &[f64]) -> Vec<f64> {
    let n = norm(a);
    if n == 0.0 {
        return a.to_vec();
    }
    a.iter().map(|x| x / n).collect()
}

/// Angle between two non-zero vectors, radians, in [0, pi].
pub fn angle_between(a: &[f64], b: &[f64]) -> f64 {
    (dot(a, b) / (norm(a) * norm(b))).clamp(-1.0, 1.0).acos()
}

/// Smallest angle between any two distinct vectors of the set, radians (pi for fewer than 2).
pub fn min_pairwise_angle(vectors: &[Vec<f64>]) -> f64 {
    closest_pair(vectors).0
}

/// The smallest pairwise angle (pi for fewer than 2 vectors) and the pair that has it; the
/// first coinciding pair ends the search.
pub(super) fn closest_pair(vectors: &[Vec<f64>]) -> (f64, usize, usize) {
    let mut best = (std::f64::consts::PI, 0, 0);
    for (i, a) in vectors.iter().enumerate() {
        for (j, b) in vectors.iter().enumerate().skip(i + 1) {
            let angle = angle_between(a, b);
            if angle < best.0 {
                best = (angle, i, j);
                if angle == 0.0 {
                    return best;
                }
            }
        }
    }
    best
}

/// Mean angle over all pairs of distinct vectors, radians (0 for fewer than 2).
pub fn mean_pairwise_angle(vectors: &[Vec<f64>]) -> f64 {
    let n = vectors.len();
    if n < 2 {
        return 0.0;
    }
    let mut sum = 0.0;
    for (i, a) in vectors.iter().enumerate() {
        for b in &vectors[i + 1..] {
            sum += angle_between(a, b);
        }
    }
    sum / (n * (n - 1) / 2) as f64
}
