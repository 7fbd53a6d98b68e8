//! Regular polytopes as fixed classifiers: pure `f64` math, no framework types.
//!
//! A [`Polytope`] holds every vertex of a d-Simplex, d-Orthoplex or d-Cube sized for `K`
//! classes, as unit vectors in the vertex order of the authors' RePoNet code: class `k`
//! takes vertex `k`, vertices `K..` carry no class (they still act as softmax negatives).
//! `phi`, the angle between neighbouring vertices, is given in closed form; it is also the
//! largest additive angular margin the polytope allows.

mod angles;
mod cube;
mod kind;
mod orthoplex;
mod simplex;

pub use angles::{angle_between, dot, min_pairwise_angle, norm, normalized};
pub use kind::PolytopeKind;

use serde::Serialize;

/// Why a polytope cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("a polytope classifier needs at least 2 classes, got {0}")]
    TooFewClasses(usize),
    #[error("the {dim}-{kind} for {classes} classes has more than 2^26 vertex coordinates, too many to build")]
    TooLarge {
        kind: PolytopeKind,
        classes: usize,
        dim: usize,
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
}

impl Polytope {
    /// The polytope of `kind` for `classes` classes (`classes >= 2`).
    pub fn new(kind: PolytopeKind, classes: usize) -> Result<Self, GeometryError> {
        if classes < 2 {
            return Err(GeometryError::TooFewClasses(classes));
        }
        let dim = kind.dim_for(classes);
        let entries = kind.vertex_count(dim).and_then(|n| n.checked_mul(dim));
        if entries.is_none_or(|n| n > MAX_ENTRIES) {
            return Err(GeometryError::TooLarge { kind, classes, dim });
        }
        let raw = match kind {
            PolytopeKind::Simplex => simplex::vertices(dim),
            PolytopeKind::Orthoplex => orthoplex::vertices(dim),
            PolytopeKind::Cube => cube::vertices(dim),
        };
        let vertices = raw.iter().map(|v| normalized(v)).collect();
        Ok(Self {
            kind,
            classes,
            dim,
            vertices,
            phi: kind.phi(dim),
        })
    }

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

    pub fn phi_degrees(&self) -> f64 {
        self.phi.to_degrees()
    }

    /// The vertex matrix row-major as `f32`, shape `[num_vertices, dim]`, for a tensor.
    pub fn vertices_f32(&self) -> Vec<f32> {
        self.vertices.iter().flatten().map(|&x| x as f32).collect()
    }
}
