//! Small vector helpers in `f64`, shared by geometry and analysis.

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

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
    let mut best = std::f64::consts::PI;
    for (i, a) in vectors.iter().enumerate() {
        for b in &vectors[i + 1..] {
            best = best.min(angle_between(a, b));
        }
    }
    best
}
