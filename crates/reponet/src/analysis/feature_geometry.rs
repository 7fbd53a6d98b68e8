use serde::{Deserialize, Serialize};

use crate::geometry::{angle_between, min_pairwise_angle, normalized};

/// How compact and how separated a set of features is, by angles (degrees) on the unit sphere.
///
/// The same definitions as the PyTorch reference (`shared/peer`), so the figures compare:
/// - `mean_angle_to_class_weight`: mean over samples of the angle between the feature and its
///   true class's (unit) classifier weight: the fixed vertex, or the learned weight.
/// - `mean_angle_to_class_mean`: mean over samples of the angle between the feature and the
///   direction of its class's mean (the mean of the unit features of that class).
/// - `min_angle_between_class_means`: the smallest angle between two class-mean directions;
///   a collapsed run has it near 0, a maximally separated one near phi.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureGeometry {
    pub mean_angle_to_class_weight: f64,
    pub mean_angle_to_class_mean: f64,
    pub min_angle_between_class_means: f64,
}

/// Geometry of `features` (`n` rows of `dim`) with `labels` in `0..classes`, against the
/// unit classifier weights of each class (`class_weights[k]`, length `dim`).
///
/// Classes without samples are left out of the class means.
pub fn feature_geometry(
    features: &[f32],
    dim: usize,
    labels: &[u8],
    class_weights: &[Vec<f64>],
) -> FeatureGeometry {
    let classes = class_weights.len();
    let unit: Vec<Vec<f64>> = features
        .chunks(dim)
        .map(|f| normalized(&f.iter().map(|&x| x as f64).collect::<Vec<_>>()))
        .collect();
    let mut sums = vec![vec![0.0; dim]; classes];
    for (f, &l) in unit.iter().zip(labels) {
        sums[l as usize]
            .iter_mut()
            .zip(f)
            .for_each(|(s, x)| *s += x);
    }
    let means: Vec<Vec<f64>> = sums.iter().map(|s| normalized(s)).collect();
    let present: Vec<Vec<f64>> = means
        .iter()
        .filter(|m| m.iter().any(|&x| x != 0.0))
        .cloned()
        .collect();
    let n = unit.len().max(1) as f64;
    let mean_angle = |targets: &[Vec<f64>]| {
        unit.iter()
            .zip(labels)
            .map(|(f, &l)| angle_between(f, &targets[l as usize]).to_degrees())
            .sum::<f64>()
            / n
    };
    FeatureGeometry {
        mean_angle_to_class_weight: mean_angle(class_weights),
        mean_angle_to_class_mean: mean_angle(&means),
        min_angle_between_class_means: min_pairwise_angle(&present).to_degrees(),
    }
}
