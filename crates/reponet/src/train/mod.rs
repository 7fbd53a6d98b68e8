//! Training: a validated configuration, the run directory, the loop, and inference.

mod checkpoint;
mod config;
mod inference;
mod metrics;
mod observer;
mod run_dir;
mod trainer;

pub use checkpoint::{load_checkpoint, save_checkpoint, Checkpoint, TrainingState};
pub use config::{
    HoldoutSetting, MarginSetting, ResolvedConfig, TrainConfig, WarmupSetting,
    DEFAULT_WARMUP_EPOCHS_ABOVE_90,
};
pub use inference::{extract_features, predict_labels, test_pass, TestPass, EVAL_BATCH};
pub use metrics::{class_mean_drift, EpochMetrics, TrainSummary};
pub use observer::{SilentObserver, StartInfo, StepProgress, TrainObserver};
pub use run_dir::{write_atomic, RunDir};
pub use trainer::{adam, resume, train, train_step, StepOutcome};

use std::path::PathBuf;

use crate::data::DataError;
use crate::geometry::GeometryError;

/// Why a training or evaluation run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid option: {0}")]
    Config(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Geometry(#[from] GeometryError),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: not a usable run directory: {message}")]
    Run { path: PathBuf, message: String },
    #[error("training diverged at epoch {epoch}, step {step}: the loss or a weight is {loss}; nothing was saved after it, and {last_good}. Try a lower --lr, or a margin warm-up")]
    Diverged {
        epoch: usize,
        step: usize,
        loss: f64,
        last_good: String,
    },
    #[error("interrupted at epoch {epoch} after step {step}; checkpoint saved in {checkpoint}")]
    Interrupted {
        checkpoint: PathBuf,
        epoch: usize,
        step: usize,
    },
}

impl TrainError {
    pub(crate) fn io(path: &std::path::Path, err: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }
}
