use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};
use serde::{Deserialize, Serialize};

use super::head::ClassifierHead;

/// The paper's three losses on a (fixed or learnable) classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum LossKind {
    /// Eq. 6: softmax over `w_j . f`, unit weights, raw features.
    Softmax,
    /// Eq. 8: softmax over `s * cos(theta_j)`.
    #[strum(to_string = "cosine", serialize = "normface")]
    #[cfg_attr(feature = "clap", value(alias = "normface"))]
    Cosine,
    /// Eq. 9: `s * cos(theta_y + m)` for the true class, `s * cos(theta_j)` for the others.
    #[strum(to_string = "margin", serialize = "arcface")]
    #[cfg_attr(feature = "clap", value(alias = "arcface"))]
    Margin,
}

/// A loss with its settings: scale `s` (Eq. 8, 9) and margin `m` in radians (Eq. 9).
///
/// On its own vertex of the d-Simplex with m = phi, a feature's target logit
/// `s cos(0 + phi) = -s/d` equals every other logit `s cos(phi)`, so the margin loss is
/// ln K: the margin asks for more than sitting on the vertex, as Eq. 9 intends. (Up to the
/// clamp of cosines to 1 - 1e-7, which in `f32` leaves sin(theta) about 5e-4 and lowers the
/// target logit by about s sin(phi) 5e-4 = 0.015: the loss is ln 10 + 0.013.)
///
/// ```
/// use burn::tensor::{Device, Int, Tensor, TensorData};
/// use reponet::geometry::{Polytope, PolytopeKind};
/// use reponet::nn::{ClassifierHead, HeadKind, LossKind, PolytopeLoss};
///
/// let device = Device::flex();
/// let simplex = Polytope::new(PolytopeKind::Simplex, 10)?;
/// let head = ClassifierHead::new(HeadKind::Fixed, &simplex, &device);
/// let v: Vec<f32> = simplex.vertices()[3].iter().map(|&x| x as f32).collect();
/// let features = Tensor::<2>::from_data(TensorData::new(v, [1, 9]), &device);
/// let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![3i64], [1]), &device);
/// let loss = PolytopeLoss { kind: LossKind::Margin, scale: 30.0, margin: simplex.phi() };
/// let value: f32 = loss.forward(&head, features, labels).into_scalar();
/// assert!((value - 10f32.ln() - 0.013).abs() < 2e-3, "{value}");
/// # Ok::<(), reponet::geometry::GeometryError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolytopeLoss {
    /// Which of the three losses.
    pub kind: LossKind,
    /// Scale s of the normalised logits (the cosine and margin losses).
    pub scale: f64,
    /// Additive angular margin m, radians (the margin loss).
    pub margin: f64,
}

impl PolytopeLoss {
    /// Logits `[N, outputs]` for `features` `[N, d]` with true classes `labels` `[N]`.
    pub fn logits(
        &self,
        head: &ClassifierHead,
        features: Tensor<2>,
        labels: Tensor<1, Int>,
    ) -> Tensor<2> {
        match self.kind {
            LossKind::Softmax => head.dot_logits(features),
            LossKind::Cosine => head.cosines(features) * self.scale,
            LossKind::Margin => {
                arc_margin_logits(head.cosines(features), labels, self.scale, self.margin)
            }
        }
    }

    /// Mean cross-entropy over the batch (a one-element tensor).
    pub fn forward(
        &self,
        head: &ClassifierHead,
        features: Tensor<2>,
        labels: Tensor<1, Int>,
    ) -> Tensor<1> {
        cross_entropy(self.logits(head, features, labels.clone()), labels)
    }
}

/// Additive angular margin logits (Eq. 9) from cosines `[N, outputs]`.
///
/// The true class gets `s * cos(theta + m)` while `theta + m <= pi`, i.e. while
/// `cos(theta) > cos(pi - m)`; beyond that seam `cos(theta + m)` would rise again as theta
/// grows, so ArcFace's monotonic extension `s * (cos(theta) - m * sin(pi - m))` is used.
/// Cosines are clamped to `[-1 + 1e-7, 1 - 1e-7]` so `sin(theta)` has a finite gradient.
pub fn arc_margin_logits(
    cosines: Tensor<2>,
    labels: Tensor<1, Int>,
    scale: f64,
    margin: f64,
) -> Tensor<2> {
    let outputs = cosines.dims()[1];
    let cos = cosines.clamp(-1.0 + 1e-7, 1.0 - 1e-7);
    let sin = (cos.clone().powi_scalar(2).neg() + 1.0).sqrt();
    let shifted = cos.clone() * margin.cos() - sin * margin.sin();
    let seam = (std::f64::consts::PI - margin).cos();
    let extension = cos.clone() - margin * (std::f64::consts::PI - margin).sin();
    let target = extension.mask_where(cos.clone().greater_elem(seam), shifted);
    let is_true_class = labels.one_hot::<2>(outputs).equal_elem(1);
    cos.mask_where(is_true_class, target) * scale
}

/// Mean cross-entropy of `logits` `[N, C]` against class indices `labels` `[N]`.
pub fn cross_entropy(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
    let n = labels.dims()[0];
    log_softmax(logits, 1)
        .gather(1, labels.reshape([n, 1]))
        .neg()
        .mean()
}
