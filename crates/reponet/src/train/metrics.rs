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
}

/// The outcome of a run; saved as `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub epochs: usize,
    pub final_test_accuracy: f64,
    pub best_test_accuracy: f64,
    pub trainable_parameters: usize,
    pub head_parameters: usize,
    pub train_images: usize,
    pub test_images: usize,
    pub total_seconds: f64,
    pub reponet_version: String,
}
