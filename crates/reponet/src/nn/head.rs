use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::geometry::Polytope;

/// Whether the classifier weights are the polytope's vertices or learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum HeadKind {
    /// The polytope's unit vertices, never trained: zero parameters.
    Fixed,
    /// The paper's baseline: a trainable `[outputs, d]` matrix, normalised in the forward pass.
    #[strum(to_string = "learnable", serialize = "learned")]
    #[cfg_attr(feature = "clap", value(alias = "learned"))]
    Learnable,
}

/// Rows divided by their L2 norm (floored at 1e-12, as PyTorch's `F.normalize`).
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norms = x.clone().powi_scalar(2).sum_dim(1).sqrt().clamp_min(1e-12);
    x / norms
}

/// The fixed polytope classifier: unit vertices as a constant tensor, not a parameter, so
/// no optimizer ever sees it and it is rebuilt from the polytope rather than saved.
#[derive(Module, Debug)]
pub struct FixedHead {
    /// `[num_vertices, d]`, unit rows.
    weights: Tensor<2>,
    #[module(skip)]
    classes: usize,
}

impl FixedHead {
    /// The head whose weights are `polytope`'s vertices, never trained.
    pub fn new(polytope: &Polytope, device: &Device) -> Self {
        Self::from_unit_vectors(polytope.vertices(), polytope.classes(), device)
    }

    /// A fixed head from any unit rows (all of one length d), the first `classes` of them
    /// taking a class each: for classifiers built outside [`Polytope`].
    pub fn from_unit_vectors(rows: &[Vec<f64>], classes: usize, device: &Device) -> Self {
        let dim = rows.first().map_or(0, Vec::len);
        let values: Vec<f32> = rows.iter().flatten().map(|&x| x as f32).collect();
        let data = TensorData::new(values, [rows.len(), dim]);
        Self {
            weights: Tensor::from_data(data, device),
            classes,
        }
    }
}

/// The learnable cosine classifier with the same outputs and dimension as a polytope.
#[derive(Module, Debug)]
pub struct LearnableHead {
    /// `[outputs, d]`, normalised in the forward pass.
    weight: Param<Tensor<2>>,
    #[module(skip)]
    classes: usize,
}

impl LearnableHead {
    /// N(0, 0.01^2) initial weights, as the reference implementation.
    pub fn new(outputs: usize, dim: usize, classes: usize, device: &Device) -> Self {
        let weight = Tensor::random([outputs, dim], Distribution::Normal(0.0, 0.01), device);
        Self {
            weight: Param::from_tensor(weight),
            classes,
        }
    }
}

/// A cosine classifier head: fixed polytope vertices or learnable weights.
///
/// ```
/// use burn::module::Module;
/// use burn::tensor::{Device, Tensor, TensorData};
/// use reponet::geometry::{Polytope, PolytopeKind};
/// use reponet::nn::{ClassifierHead, HeadKind};
///
/// let device = Device::flex();
/// let simplex = Polytope::new(PolytopeKind::Simplex, 10)?; // d = 9
/// let head = ClassifierHead::new(HeadKind::Fixed, &simplex, &device);
/// assert_eq!(head.num_params(), 0); // nothing to train
///
/// // A feature along vertex 3 (any length): cosine 1 with class 3, -1/9 with the others.
/// let v: Vec<f32> = simplex.vertices()[3].iter().map(|&x| 2.5 * x as f32).collect();
/// let features = Tensor::<2>::from_data(TensorData::new(v, [1, 9]), &device);
/// let cos: Vec<f32> = head.cosines(features).into_data().iter::<f32>().collect();
/// assert!((cos[3] - 1.0).abs() < 1e-5 && (cos[0] + 1.0 / 9.0).abs() < 1e-5);
/// # Ok::<(), reponet::geometry::GeometryError>(())
/// ```
// One head per network: the variants' size difference costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ClassifierHead {
    /// The polytope's vertices as constant weights.
    Fixed(FixedHead),
    /// Trained weights (the paper's baseline).
    Learnable(LearnableHead),
}

impl ClassifierHead {
    /// The head of `kind` with one output per vertex of `polytope`.
    pub fn new(kind: HeadKind, polytope: &Polytope, device: &Device) -> Self {
        match kind {
            HeadKind::Fixed => Self::Fixed(FixedHead::new(polytope, device)),
            HeadKind::Learnable => Self::Learnable(LearnableHead::new(
                polytope.num_vertices(),
                polytope.dim(),
                polytope.classes(),
                device,
            )),
        }
    }

    /// Fixed or learnable.
    pub fn kind(&self) -> HeadKind {
        match self {
            Self::Fixed(_) => HeadKind::Fixed,
            Self::Learnable(_) => HeadKind::Learnable,
        }
    }

    /// Classes K; outputs `K..` are vertices without a class.
    pub fn classes(&self) -> usize {
        match self {
            Self::Fixed(h) => h.classes,
            Self::Learnable(h) => h.classes,
        }
    }

    /// The weights as stored `[outputs, d]`: a fixed head's unit vertices, a learnable
    /// head's trained matrix before the forward pass normalises it.
    pub fn stored_weights(&self) -> Tensor<2> {
        match self {
            Self::Fixed(h) => h.weights.clone(),
            Self::Learnable(h) => h.weight.val(),
        }
    }

    /// Unit classifier weights `[outputs, d]`.
    pub fn unit_weights(&self) -> Tensor<2> {
        match self {
            Self::Fixed(h) => h.weights.clone(),
            Self::Learnable(h) => l2_normalize(h.weight.val()),
        }
    }

    /// `cos(theta_j)` between each feature and each weight: `[N, outputs]`.
    pub fn cosines(&self, features: Tensor<2>) -> Tensor<2> {
        l2_normalize(features).matmul(self.unit_weights().transpose())
    }

    /// Eq. 6 logits: unit weights times raw (unnormalised) features.
    pub fn dot_logits(&self, features: Tensor<2>) -> Tensor<2> {
        features.matmul(self.unit_weights().transpose())
    }
}
