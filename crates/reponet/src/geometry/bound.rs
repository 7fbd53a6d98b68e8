//! How large the smallest angle between K unit vectors in d dimensions can be: the bound a
//! classifier's phi is compared with.

use serde::Serialize;

/// An upper bound on the minimum pairwise angle of K points on the sphere in R^d.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AngleBound {
    /// Radians.
    pub angle: f64,
    /// Whether some configuration reaches it (so it is the optimum).
    pub tight: bool,
    /// Which result it comes from.
    pub source: &'static str,
}

/// The best bound we know for (K, d) among:
/// - K <= d + 1: the regular simplex, arccos(-1/(K-1)), optimal (Rankin 1955);
/// - d + 2 <= K <= 2d: 90 degrees, optimal (Rankin 1955; the orthoplex reaches it);
/// - d = 2: 360/K degrees, optimal (the regular polygon);
/// - otherwise (K > 2d, d >= 3) the smaller of 90 degrees (Rankin: more than d + 1 points
///   always have a pair at most 90 degrees apart) and the cap-packing (volume) bound: caps
///   of angular radius phi/2 around the K points are disjoint, so K times one cap's area is
///   at most the sphere's. Not tight.
pub fn angle_bound(classes: usize, dim: usize) -> AngleBound {
    use std::f64::consts::{FRAC_PI_2, PI, TAU};
    let k = classes as f64;
    if classes <= 1 || dim == 0 {
        return AngleBound {
            angle: PI,
            tight: true,
            source: "fewer than 2 points",
        };
    }
    if dim == 1 {
        // On the line, two points at +-1; a third repeats one of them.
        let angle = if classes == 2 { PI } else { 0.0 };
        return AngleBound {
            angle,
            tight: true,
            source: "1 dimension: +1 and -1",
        };
    }
    if classes <= dim + 1 {
        return AngleBound {
            angle: (-1.0 / (k - 1.0)).acos(),
            tight: true,
            source: "simplex, optimal for K <= d + 1 (Rankin)",
        };
    }
    if classes <= 2 * dim {
        return AngleBound {
            angle: FRAC_PI_2,
            tight: true,
            source: "90 deg, optimal for d + 2 <= K <= 2d (Rankin)",
        };
    }
    if dim == 2 {
        return AngleBound {
            angle: TAU / k,
            tight: true,
            source: "regular polygon, optimal in 2 dimensions",
        };
    }
    // Largest phi with K * cap(phi / 2) <= 1, by bisection: cap fraction is increasing.
    let (mut lo, mut hi) = (0.0, PI);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if k * cap_fraction(mid / 2.0, dim) <= 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    if lo >= FRAC_PI_2 {
        return AngleBound {
            angle: FRAC_PI_2,
            tight: false,
            source: "90 deg for K > d + 1 (Rankin), not tight",
        };
    }
    AngleBound {
        angle: lo,
        tight: false,
        source: "cap-packing (volume) bound, not tight",
    }
}

/// Fraction of the unit sphere S^(d-1) within angle `radius` of a point:
/// int_0^radius sin^(d-2) t dt / int_0^pi sin^(d-2) t dt (composite Simpson, 2,000 panels,
/// relative error far below 1e-6 for d <= 10,000).
pub fn cap_fraction(radius: f64, dim: usize) -> f64 {
    let integral = |to: f64| {
        let n = 2000;
        let h = to / n as f64;
        let f = |t: f64| t.sin().powi(dim as i32 - 2);
        let mut sum = f(0.0) + f(to);
        for i in 1..n {
            sum += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        sum * h / 3.0
    };
    integral(radius.clamp(0.0, std::f64::consts::PI)) / integral(std::f64::consts::PI)
}
