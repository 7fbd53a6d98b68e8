//! Fixed classifiers: pure `f64` math, no framework types.
//!
//! A [`Polytope`] holds every vertex of a d-Simplex, d-Orthoplex or d-Cube sized for `K`
//! classes, as unit vectors in the vertex order of the authors' RePoNet code: class `k`
//! takes vertex `k`, vertices `K..` carry no class (they still act as softmax negatives).
//! `phi`, the angle between neighbouring vertices, is given in closed form; it is also the
//! largest additive angular margin the polytope allows.
//!
//! Beyond the paper, the same type holds a truncated Hadamard matrix, a regular polygon and
//! a Riesz-energy spread (one vertex per class each); where phi has no closed form it is the
//! minimum pairwise angle measured on the vertices. [`angle_bound`] says how far phi is from
//! the best possible for (K, d).
//!
//! ```
//! use reponet::geometry::{Polytope, PolytopeKind};
//!
//! let cube = Polytope::new(PolytopeKind::Cube, 10)?; // 4-cube: 16 vertices, 10 used
//! assert_eq!((cube.dim(), cube.num_vertices()), (4, 16));
//! assert!((cube.phi_degrees() - 60.0).abs() < 1e-9); // arccos((d - 2) / d)
//!
//! // 6 points spread in 3 dimensions (seed 0, no disk cache): the octahedron.
//! let spread = Polytope::spread(6, 3, 0, None)?;
//! assert!((spread.phi_degrees() - 90.0).abs() < 0.01);
//! # Ok::<(), reponet::geometry::GeometryError>(())
//! ```

mod angles;
mod bound;
mod cube;
mod hadamard;
mod kind;
mod orthoplex;
mod polygon;
mod simplex;
pub mod spread;

pub use angles::{angle_between, dot, mean_pairwise_angle, min_pairwise_angle, norm, normalized};
pub use bound::{angle_bound, cap_fraction, AngleBound};
pub use kind::PolytopeKind;

use serde::Serialize;

/// Why a polytope cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("a polytope classifier needs at least 2 classes, got {0}")]
    /// Fewer than two classes.
    TooFewClasses(usize),
    #[error("the {dim}-{kind} for {classes} classes has more than 2^26 vertex coordinates, too many to build")]
    /// More vertex coordinates than fit in memory.
    TooLarge {
        /// The polytope asked for.
        kind: PolytopeKind,
        /// Number of classes K.
        classes: usize,
        /// The dimension it needs.
        dim: usize,
    },
    #[error("the {kind} for {classes} classes has d = {fixed}; a dimension is chosen only for hadamard and spread (asked for d = {asked})")]
    /// A dimension was asked for a polytope whose dimension follows from K.
    DimFixed {
        /// The polytope asked for.
        kind: PolytopeKind,
        /// Number of classes K.
        classes: usize,
        /// The dimension K fixes.
        fixed: usize,
        /// The dimension asked for.
        asked: usize,
    },
    #[error("the spread needs a feature dimension: set dim to 2 or more")]
    /// The spread was asked for without a dimension.
    DimNeeded,
    #[error("a {kind} classifier needs d >= {min}, got d = {dim}")]
    /// The dimension asked for is below the polytope's minimum.
    DimTooSmall {
        /// The polytope asked for.
        kind: PolytopeKind,
        /// The dimension asked for.
        dim: usize,
        /// The smallest dimension allowed.
        min: usize,
    },
    #[error("the spread of {classes} points in d = {dim} is too large to optimise here (K * K * d > 2^31); use the hadamard polytope")]
    /// The spread optimisation would take too long.
    SpreadTooLarge {
        /// Number of classes K.
        classes: usize,
        /// The dimension asked for.
        dim: usize,
    },
    #[error("the {dim}-dimensional {kind} for {classes} classes gives classes {first} and {second} the same vector (phi = 0): with K > d its truncated rows repeat; choose d >= K, or the spread")]
    /// Two classes would get the same vector.
    Degenerate {
        /// The polytope asked for.
        kind: PolytopeKind,
        /// Number of classes K.
        classes: usize,
        /// The dimension asked for.
        dim: usize,
        /// The first class of the pair.
        first: usize,
        /// The second class of the pair.
        second: usize,
    },
}

/// Largest vertex matrix we build, in coordinates (512 MiB of f64).
const MAX_ENTRIES: usize = 1 << 26;

/// A regular polytope sized for a number of classes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Polytope {
    kind: PolytopeKind,
    classes: usize,
    dim: usize,
    /// Unit vertices, `vertices[i].len() == dim`; the first `classes` carry a class each.
    vertices: Vec<Vec<f64>>,
    /// Angle between neighbouring vertices, radians.
    phi: f64,
    /// The spread's seed (0 for the closed forms, which have none).
    seed: u64,
}

impl Polytope {
    /// The polytope of `kind` for `classes` classes (`classes >= 2`) in its default
    /// dimension (see [`PolytopeKind::default_dim`]; the spread has none and needs
    /// [`Polytope::with_dim`]).
    pub fn new(kind: PolytopeKind, classes: usize) -> Result<Self, GeometryError> {
        Self::with_dim(kind, classes, None)
    }

    /// As [`Polytope::new`], with the dimension chosen for Hadamard and spread (for the
    /// others `dim` may only repeat the one K fixes). The spread uses seed 0 and the disk
    /// cache ([`spread::default_cache_dir`]); [`Polytope::spread`] chooses both.
    pub fn with_dim(
        kind: PolytopeKind,
        classes: usize,
        dim: Option<usize>,
    ) -> Result<Self, GeometryError> {
        let cache = spread::default_cache_dir();
        Self::build(kind, classes, dim, 0, cache.as_deref())
    }

    /// K points spread in d dimensions from `seed`, read from or written to `cache_dir`
    /// when one is given.
    pub fn spread(
        classes: usize,
        dim: usize,
        seed: u64,
        cache_dir: Option<&std::path::Path>,
    ) -> Result<Self, GeometryError> {
        Self::build(PolytopeKind::Spread, classes, Some(dim), seed, cache_dir)
    }

    fn build(
        kind: PolytopeKind,
        classes: usize,
        dim: Option<usize>,
        seed: u64,
        cache_dir: Option<&std::path::Path>,
    ) -> Result<Self, GeometryError> {
        if classes < 2 {
            return Err(GeometryError::TooFewClasses(classes));
        }
        let dim = match (kind.default_dim(classes), dim) {
            (Some(fixed), Some(asked)) if kind.dim_is_fixed() && asked != fixed => {
                return Err(GeometryError::DimFixed {
                    kind,
                    classes,
                    fixed,
                    asked,
                })
            }
            (_, Some(asked)) => asked,
            (Some(default), None) => default,
            (None, None) => return Err(GeometryError::DimNeeded),
        };
        let min_dim = if kind == PolytopeKind::Spread { 2 } else { 1 };
        if dim < min_dim {
            return Err(GeometryError::DimTooSmall {
                kind,
                dim,
                min: min_dim,
            });
        }
        let entries = kind
            .vertex_count(classes, dim)
            .and_then(|n| n.checked_mul(dim));
        if entries.is_none_or(|n| n > MAX_ENTRIES) {
            return Err(GeometryError::TooLarge { kind, classes, dim });
        }
        if kind == PolytopeKind::Spread
            && classes
                .checked_mul(classes)
                .and_then(|n| n.checked_mul(dim))
                .is_none_or(|n| n > spread::MAX_WORK)
        {
            return Err(GeometryError::SpreadTooLarge { classes, dim });
        }
        let raw = match kind {
            PolytopeKind::Simplex => simplex::vertices(dim),
            PolytopeKind::Orthoplex => orthoplex::vertices(dim),
            PolytopeKind::Cube => cube::vertices(dim),
            PolytopeKind::Hadamard => hadamard::vertices(classes, dim),
            PolytopeKind::Polygon => polygon::vertices(classes),
            PolytopeKind::Spread => spread::cached_or_compute(classes, dim, seed, cache_dir),
        };
        let vertices: Vec<Vec<f64>> = raw.iter().map(|v| normalized(v)).collect();
        let phi = match kind.closed_form_phi(classes, dim) {
            Some(phi) => phi,
            None => {
                let (phi, first, second) = angles::closest_pair(&vertices);
                if phi < 1e-9 {
                    return Err(GeometryError::Degenerate {
                        kind,
                        classes,
                        dim,
                        first,
                        second,
                    });
                }
                phi
            }
        };
        Ok(Self {
            kind,
            classes,
            dim,
            vertices,
            phi,
            seed,
        })
    }

    /// Which polytope this is.
    pub fn kind(&self) -> PolytopeKind {
        self.kind
    }

    /// Number of classes K this polytope was sized for.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Feature dimension d.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// All vertices (unit vectors); the classifier has one output per vertex.
    pub fn vertices(&self) -> &[Vec<f64>] {
        &self.vertices
    }

    /// Number of vertices (classes) K.
    pub fn num_vertices(&self) -> usize {
        self.vertices.len()
    }

    /// Vertices with no class: softmax negatives only.
    pub fn num_unused(&self) -> usize {
        self.vertices.len() - self.classes
    }

    /// The vertex of each class, in class order.
    pub fn class_vertices(&self) -> &[Vec<f64>] {
        &self.vertices[..self.classes]
    }

    /// Angle between neighbouring vertices, radians (closed form).
    pub fn phi(&self) -> f64 {
        self.phi
    }

    /// The angle phi between neighbouring vertices, in degrees.
    pub fn phi_degrees(&self) -> f64 {
        self.phi.to_degrees()
    }

    /// The vertex matrix row-major as `f32`, shape `[num_vertices, dim]`, for a tensor.
    pub fn vertices_f32(&self) -> Vec<f32> {
        self.vertices.iter().flatten().map(|&x| x as f32).collect()
    }

    /// SHA-256 (hex) of the vertex matrix as a fixed head uses it: the shape `[vertices,
    /// dim]` as two little-endian u64, then every `f32` little-endian, row after row. A run
    /// saves it, so that a head rebuilt later with other vertices is refused, not used.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update((self.num_vertices() as u64).to_le_bytes());
        hasher.update((self.dim as u64).to_le_bytes());
        for x in self.vertices_f32() {
            hasher.update(x.to_le_bytes());
        }
        format!("{:x}", hasher.finalize())
    }

    /// How the vertices were made, in words, for messages beside [`Polytope::fingerprint`].
    pub fn recipe(&self) -> String {
        let (k, d) = (self.classes, self.dim);
        match self.kind {
            PolytopeKind::Spread => format!(
                "spread, K = {k}, d = {d}: Riesz-energy descent ({}) from seed {} on ChaCha12",
                spread::VERSION,
                self.seed
            ),
            kind => format!("{kind}, K = {k}, d = {d}: closed form"),
        }
    }
}
