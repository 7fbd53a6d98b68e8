use serde::{Deserialize, Serialize};

/// The fixed classifiers: the paper's three regular polytopes, which exist in every
/// dimension, and three arrangements beyond the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum PolytopeKind {
    /// d = K - 1, phi = arccos(-1/d): the widest separation, the largest dimension.
    #[strum(to_string = "simplex", serialize = "d-simplex")]
    #[cfg_attr(feature = "clap", value(alias = "d-simplex"))]
    Simplex,
    /// d = ceil(K / 2), phi = 90 degrees.
    #[strum(to_string = "orthoplex", serialize = "d-orthoplex")]
    #[cfg_attr(feature = "clap", value(alias = "d-orthoplex"))]
    Orthoplex,
    /// d = ceil(log2 K), phi = arccos((d - 2) / d): the smallest dimension.
    #[strum(to_string = "cube", serialize = "d-cube", serialize = "hypercube")]
    #[cfg_attr(feature = "clap", value(aliases = ["d-cube", "hypercube"]))]
    Cube,
    /// Rows of a Sylvester Hadamard matrix (Hoffer et al. 2018): any d, by default the
    /// smallest power of two >= K (phi = 90 degrees); K > d is allowed while rows stay distinct.
    Hadamard,
    /// d = 2: K points evenly on the circle, phi = 360/K degrees.
    Polygon,
    /// Any d (`--dim`): K points spread by minimising their Riesz energy; phi is the minimum
    /// angle reached.
    #[strum(to_string = "spread", serialize = "thomson", serialize = "riesz")]
    #[cfg_attr(feature = "clap", value(aliases = ["thomson", "riesz"]))]
    Spread,
}

impl PolytopeKind {
    /// The paper's three regular polytopes.
    pub const REGULAR: [PolytopeKind; 3] = [Self::Simplex, Self::Orthoplex, Self::Cube];
    /// Every fixed classifier reponet builds.
    pub const ALL: [PolytopeKind; 6] = [
        Self::Simplex,
        Self::Orthoplex,
        Self::Cube,
        Self::Hadamard,
        Self::Polygon,
        Self::Spread,
    ];

    /// The name used on the command line (`simplex`, `cube`, ...).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Whether K fixes d (the regular polytopes and the polygon); the others take `--dim`.
    pub fn dim_is_fixed(self) -> bool {
        !matches!(self, Self::Hadamard | Self::Spread)
    }

    /// Feature dimension d for `classes` classes (`classes >= 2`) when none is asked for;
    /// `None` for the spread, which needs one.
    pub fn default_dim(self, classes: usize) -> Option<usize> {
        Some(match self {
            Self::Simplex => classes - 1,
            Self::Orthoplex => classes.div_ceil(2),
            // ceil(log2 K) = bit length of K - 1, exact in integers.
            Self::Cube => (usize::BITS - (classes - 1).leading_zeros()) as usize,
            Self::Hadamard => super::hadamard::default_dim(classes),
            Self::Polygon => 2,
            Self::Spread => return None,
        })
    }

    /// Number of vertices for K classes in d dimensions (`None` if it overflows `usize`):
    /// the regular polytopes have all theirs, the others exactly one per class.
    pub fn vertex_count(self, classes: usize, dim: usize) -> Option<usize> {
        match self {
            Self::Simplex => dim.checked_add(1),
            Self::Orthoplex => dim.checked_mul(2),
            Self::Cube => u32::try_from(dim).ok().and_then(|d| 1usize.checked_shl(d)),
            Self::Hadamard | Self::Polygon | Self::Spread => Some(classes),
        }
    }

    /// Angle between neighbouring vertices in closed form, radians, where there is one:
    /// `None` where it must be measured from the vertices (a truncated Hadamard, the spread).
    ///
    /// In one dimension every polytope is the segment {+1, -1}, whose two vertices are pi
    /// apart; the orthoplex's pi/2 holds from d = 2 on (the simplex and cube formulas already
    /// give pi at d = 1).
    pub fn closed_form_phi(self, classes: usize, dim: usize) -> Option<f64> {
        use std::f64::consts::{FRAC_PI_2, PI, TAU};
        let d = dim as f64;
        match self {
            Self::Simplex => Some((-1.0 / d).acos()),
            Self::Orthoplex if dim == 1 => Some(PI),
            Self::Orthoplex => Some(FRAC_PI_2),
            Self::Cube => Some(((d - 2.0) / d).acos()),
            // Rows of H_d are orthogonal when d is a power of two.
            Self::Hadamard if classes <= dim && dim.is_power_of_two() => Some(FRAC_PI_2),
            Self::Polygon => Some(TAU / classes as f64),
            Self::Hadamard | Self::Spread => None,
        }
    }
}
