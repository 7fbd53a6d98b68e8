//! Training: a validated configuration, the run directory, the loop, and inference.

mod checkpoint;
mod config;
mod inference;
mod metrics;
mod observer;
mod recipe;
mod run_dir;
mod run_lock;
mod trainer;

pub use checkpoint::{load_checkpoint, save_checkpoint, Checkpoint, TrainingState};
pub use config::{
    class_list, CheckpointEvery, Freeze, HeadVertices, HoldoutSetting, InputNorm, MarginSetting,
    PreparedRun, ResolvedConfig, TrainConfig, WarmupSetting, DEFAULT_EPOCHS,
    DEFAULT_WARMUP_EPOCHS_ABOVE_90,
};
pub use inference::{
    extract_features, extract_pooled, predict_labels, test_pass, TestPass, BACKBONE_BATCH,
    EVAL_BATCH,
};
pub use metrics::{class_mean_drift, EpochMetrics, TrainSummary};
pub use observer::{SilentObserver, StartInfo, StepProgress, TrainObserver};
pub use recipe::{optimizer, Augment, LrPlan, LrSchedule, OptimizerKind, Recipe, SGD_MOMENTUM};
pub use run_dir::{write_atomic, RunDir};
pub use run_lock::{RunLock, LOCK_FILE};
pub use trainer::{
    adam, resume, resume_data_parallel, train, train_data_parallel, train_prepared, train_step,
    train_step_shard, StepOutcome,
};

use std::path::PathBuf;

use crate::data::DataError;
use crate::geometry::GeometryError;

/// A setting of [`TrainConfig`] that cannot work: the field (as named in the struct and in
/// `config.json`), the value given, and why. Front ends name the field their own way (the
/// command line as `--field-name`).
#[derive(Debug, Clone, PartialEq)]
pub struct InvalidSetting {
    /// The [`TrainConfig`] field, e.g. `batch_size`.
    pub field: &'static str,
    /// The value given, as text.
    pub value: String,
    /// What is wrong with it, and what would do.
    pub problem: String,
}

impl InvalidSetting {
    pub(crate) fn new(field: &'static str, value: impl std::fmt::Display, problem: &str) -> Self {
        Self {
            field,
            value: value.to_string(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for InvalidSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.field, self.value, self.problem)
    }
}

/// Why a training or evaluation run cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("invalid setting: {0}")]
    /// An impossible configuration.
    Config(InvalidSetting),
    #[error("{} exists and is not empty: write the run elsewhere, overwrite it (force), or resume the run there", path.display())]
    /// A new run's folder holds files already.
    OutputExists {
        /// The folder.
        path: PathBuf,
    },
    #[error(transparent)]
    /// The data could not be read.
    Data(#[from] DataError),
    #[error(transparent)]
    /// The polytope could not be built.
    Geometry(#[from] GeometryError),
    #[error(transparent)]
    /// Pretrained weights could not be read or do not fit the network.
    Weights(#[from] crate::nn::pretrained::WeightsError),
    #[error("the fixed head's vertices rebuilt now differ from the ones this run was trained with: saved sha256 {} ({}), rebuilt sha256 {} ({}). Refusing to use other vertices than the model was trained against; rebuild with the reponet version that trained it", saved.sha256, saved.made_by, rebuilt.sha256, rebuilt.made_by)]
    /// A fixed head rebuilt on load does not match the one the run was trained with.
    VerticesChanged {
        /// What the run recorded.
        saved: HeadVertices,
        /// What came out now.
        rebuilt: HeadVertices,
    },
    #[error("{what} {shortfall}: refused before training started. Train on fewer images or in smaller batches, or on a machine with more memory")]
    /// The run would need more memory than the machine has.
    Memory {
        /// What needs it.
        what: String,
        /// The figures.
        shortfall: crate::resources::MemoryShortfall,
    },
    #[error("{path}: another process is training this run (pid {pid}); wait for it to end or stop it first")]
    /// The run folder's writer lock is held by another process.
    Busy {
        /// The run folder.
        path: PathBuf,
        /// The process holding the lock, as its lock file says.
        pid: String,
    },
    #[error("{path}: {message}")]
    /// A run file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    #[error("{path}: not a usable run directory: {message}")]
    /// A run folder is unusable (missing, not a run, or inconsistent).
    Run {
        /// The run folder or file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    #[error("training diverged at epoch {epoch}, step {step}: the loss or a weight is {loss}; nothing was saved after it, and {last_good}. Try a lower learning rate, or a margin warm-up")]
    /// The loss became NaN or infinite.
    Diverged {
        /// The epoch it happened in.
        epoch: usize,
        /// The step it happened at.
        step: usize,
        /// The loss value.
        loss: f64,
        /// Where the last good checkpoint is.
        last_good: String,
    },
    #[error("interrupted at epoch {epoch} after step {step}; checkpoint saved in {checkpoint}")]
    /// Training stopped on request, after writing a checkpoint.
    Interrupted {
        /// The checkpoint to resume from.
        checkpoint: PathBuf,
        /// The epoch it stopped in.
        epoch: usize,
        /// The steps of that epoch taken.
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
