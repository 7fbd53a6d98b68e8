use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The three regular polytopes that exist in every dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolytopeKind {
    /// d = K - 1, phi = arccos(-1/d): the widest separation, the largest dimension.
    Simplex,
    /// d = ceil(K / 2), phi = 90 degrees.
    Orthoplex,
    /// d = ceil(log2 K), phi = arccos((d - 2) / d): the smallest dimension.
    Cube,
}

impl PolytopeKind {
    pub const ALL: [PolytopeKind; 3] = [Self::Simplex, Self::Orthoplex, Self::Cube];

    pub fn name(self) -> &'static str {
        match self {
            Self::Simplex => "simplex",
            Self::Orthoplex => "orthoplex",
            Self::Cube => "cube",
        }
    }

    /// Feature dimension d for `classes` classes (`classes >= 2`).
    pub fn dim_for(self, classes: usize) -> usize {
        match self {
            Self::Simplex => classes - 1,
            Self::Orthoplex => classes.div_ceil(2),
            // ceil(log2 K) = bit length of K - 1, exact in integers.
            Self::Cube => (usize::BITS - (classes - 1).leading_zeros()) as usize,
        }
    }

    /// Number of vertices of the d-dimensional polytope (`None` if it overflows `usize`).
    pub fn vertex_count(self, dim: usize) -> Option<usize> {
        match self {
            Self::Simplex => dim.checked_add(1),
            Self::Orthoplex => dim.checked_mul(2),
            Self::Cube => u32::try_from(dim).ok().and_then(|d| 1usize.checked_shl(d)),
        }
    }

    /// Angle between neighbouring vertices of the d-dimensional polytope, radians.
    ///
    /// In one dimension every polytope is the segment {+1, -1}, whose two vertices are pi
    /// apart; the orthoplex's pi/2 holds from d = 2 on (the simplex and cube formulas already
    /// give pi at d = 1).
    pub fn phi(self, dim: usize) -> f64 {
        let d = dim as f64;
        match self {
            Self::Simplex => (-1.0 / d).acos(),
            Self::Orthoplex if dim == 1 => std::f64::consts::PI,
            Self::Orthoplex => std::f64::consts::FRAC_PI_2,
            Self::Cube => ((d - 2.0) / d).acos(),
        }
    }
}

impl fmt::Display for PolytopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PolytopeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "simplex" | "d-simplex" => Ok(Self::Simplex),
            "orthoplex" | "d-orthoplex" => Ok(Self::Orthoplex),
            "cube" | "d-cube" | "hypercube" => Ok(Self::Cube),
            other => Err(format!(
                "unknown polytope '{other}': expected simplex, orthoplex or cube"
            )),
        }
    }
}
