use serde::{Deserialize, Serialize};

use crate::geometry::{angle_between, min_pairwise_angle, normalized};

/// How compact and how separated a set of features is, by angles (degrees) on the unit sphere.
///
/// The first three fields use the definitions of the PyTorch reference (`benches/pytorch`), so
/// the figures compare:
/// - `mean_angle_to_class_weight`: mean over samples of the angle between the feature and its
///   true class's (unit) classifier weight: the fixed vertex, or the learned weight.
/// - `mean_angle_to_class_mean`: mean over samples of the angle between the feature and the
///   direction of its class's mean (the mean of the unit features of that class).
/// - `min_angle_between_class_means`: the smallest angle between two class-mean directions;
///   a collapsed run has it near 0, a maximally separated one near phi.
///
/// The rest spell out the distributions:
/// - `to_class_weight`, `to_class_mean`: mean, median and 95th percentile of those two
///   per-sample angles, over all samples.
/// - `mean_angle_between_class_means`: the mean over pairs of class-mean directions.
/// - `compactness_to_separation`: `to_class_mean.mean / min_angle_between_class_means`;
///   0 for features exactly on their class directions, above 0.5 when the typical spread of
///   a class reaches halfway to its nearest neighbour class.
/// - `per_class`: the two angle distributions restricted to each class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureGeometry {
    /// Mean angle (degrees) of a feature to its class's classifier weight.
    pub mean_angle_to_class_weight: f64,
    /// Mean angle (degrees) of a feature to its class's mean direction.
    pub mean_angle_to_class_mean: f64,
    /// Smallest angle (degrees) between two classes' mean directions.
    pub min_angle_between_class_means: f64,
    #[serde(default)]
    /// Angles of each feature to its class's classifier weight.
    pub to_class_weight: AngleStats,
    #[serde(default)]
    /// Angles of each feature to its class's mean direction.
    pub to_class_mean: AngleStats,
    #[serde(default)]
    /// Mean angle (degrees) over all pairs of class mean directions.
    pub mean_angle_between_class_means: f64,
    /// `None` when the class means coincide (no separation at all).
    #[serde(default)]
    pub compactness_to_separation: Option<f64>,
    #[serde(default)]
    /// The same statistics for each class.
    pub per_class: Vec<ClassGeometry>,
}

/// Mean, median and 95th percentile (nearest rank) of a set of angles, in degrees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AngleStats {
    /// Arithmetic mean (degrees).
    pub mean: f64,
    /// Median (degrees).
    pub median: f64,
    /// 95th percentile (degrees).
    pub p95: f64,
}

impl AngleStats {
    /// Of `angles` (empty: all zero).
    pub fn of(angles: &[f64]) -> Self {
        if angles.is_empty() {
            return Self::default();
        }
        let mut sorted = angles.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank =
            |q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1];
        Self {
            mean: sorted.iter().sum::<f64>() / sorted.len() as f64,
            median: rank(0.5),
            p95: rank(0.95),
        }
    }
}

/// One class's angle distributions (degrees).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassGeometry {
    /// Class index.
    pub class: usize,
    /// Angles of the class's features to its classifier weight.
    pub to_class_weight: AngleStats,
    /// Angles of the class's features to its mean direction.
    pub to_class_mean: AngleStats,
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
    let angles = |targets: &[Vec<f64>]| -> Vec<f64> {
        unit.iter()
            .zip(labels)
            .map(|(f, &l)| angle_between(f, &targets[l as usize]).to_degrees())
            .collect()
    };
    let (to_weight, to_mean) = (angles(class_weights), angles(&means));
    let of_class = |all: &[f64], c: usize| -> Vec<f64> {
        all.iter()
            .zip(labels)
            .filter(|(_, &l)| l as usize == c)
            .map(|(&a, _)| a)
            .collect()
    };
    let mut pair_angles = Vec::new();
    for (i, a) in present.iter().enumerate() {
        for b in &present[i + 1..] {
            pair_angles.push(angle_between(a, b).to_degrees());
        }
    }
    let to_class_mean = AngleStats::of(&to_mean);
    let min_between = min_pairwise_angle(&present).to_degrees();
    FeatureGeometry {
        mean_angle_to_class_weight: AngleStats::of(&to_weight).mean,
        mean_angle_to_class_mean: to_class_mean.mean,
        min_angle_between_class_means: min_between,
        to_class_weight: AngleStats::of(&to_weight),
        to_class_mean,
        mean_angle_between_class_means: AngleStats::of(&pair_angles).mean,
        compactness_to_separation: (min_between > 0.0).then(|| to_class_mean.mean / min_between),
        per_class: (0..classes)
            .map(|class| ClassGeometry {
                class,
                to_class_weight: AngleStats::of(&of_class(&to_weight, class)),
                to_class_mean: AngleStats::of(&of_class(&to_mean, class)),
            })
            .collect(),
    }
}
