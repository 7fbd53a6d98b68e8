use serde::{Deserialize, Serialize};

/// One epoch's figures; one JSON line each in `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: usize,
    /// Images trained on and tested on in this epoch (absent from runs of reponet before 0.1.0's
    /// first release, hence optional).
    #[serde(default)]
    pub train_images: Option<usize>,
    #[serde(default)]
    /// Test images evaluated (`None` in runs from before it was recorded).
    pub test_images: Option<usize>,
    /// Mean training loss over the epoch's steps.
    pub train_loss: f64,
    /// Training accuracy (%) from the cosine head, measured during the epoch.
    pub train_accuracy: f64,
    /// Test accuracy (%) after the epoch.
    pub test_accuracy: f64,
    /// Margin (degrees) at the epoch's last step; `None` for the losses without one.
    pub margin_degrees: Option<f64>,
    /// Wall seconds of the training part of the epoch.
    pub train_seconds: f64,
    /// Training throughput, images per second.
    pub images_per_second: f64,
    /// Wall seconds of the test evaluation.
    pub eval_seconds: f64,
    /// Stationarity: per class, the unit direction of the mean L2-normalised test feature
    /// after the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_means: Option<Vec<Vec<f64>>>,
    /// Per class, the angle (degrees) its mean direction moved since the previous epoch;
    /// absent for the first epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_mean_drift_degrees: Option<Vec<f64>>,
}

impl EpochMetrics {
    /// Mean over classes of [`EpochMetrics::class_mean_drift_degrees`].
    pub fn mean_drift_degrees(&self) -> Option<f64> {
        let drift = self.class_mean_drift_degrees.as_ref()?;
        (!drift.is_empty()).then(|| drift.iter().sum::<f64>() / drift.len() as f64)
    }
}

/// Angle (degrees) between each class's mean direction in `before` and in `after`; a class
/// missing from either (an empty row) counts 0.
pub fn class_mean_drift(before: &[Vec<f64>], after: &[Vec<f64>]) -> Vec<f64> {
    before
        .iter()
        .zip(after)
        .map(|(a, b)| {
            if a.is_empty() || b.is_empty() {
                0.0
            } else {
                crate::geometry::angle_between(a, b).to_degrees()
            }
        })
        .collect()
}

/// The outcome of a run; saved as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Epochs trained.
    pub epochs: usize,
    /// Test accuracy after the last epoch (%).
    pub final_test_accuracy: f64,
    /// Best test accuracy after any epoch (%).
    pub best_test_accuracy: f64,
    /// Trainable parameters of the network.
    pub trainable_parameters: usize,
    /// Of those, in the classifier head (0 for a fixed head).
    pub head_parameters: usize,
    /// Training images.
    pub train_images: usize,
    /// Test images.
    pub test_images: usize,
    /// Wall seconds of the run, including evaluations.
    pub total_seconds: f64,
    /// The reponet version that trained it.
    pub reponet_version: String,
    /// [`crate::nn::Network::weights_sha256`] of the trained model: loading checks
    /// `model.bpk` against it (absent in runs saved before reponet recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
}
