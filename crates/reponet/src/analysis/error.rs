use std::path::PathBuf;

use crate::data::{DataError, ImageShape};
use crate::train::TrainError;

/// Why a trained run could not be evaluated, embedded, drawn or reported.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    /// The run could not be read (its folder, configuration or model).
    Run(#[from] TrainError),
    #[error(transparent)]
    /// Its data could not be read.
    Data(#[from] DataError),
    #[error("the run was trained on a dataset of {run_classes} classes, but {dataset} has {classes}: evaluate it on a dataset with the same classes")]
    /// A dataset other than the run's, with another class count.
    OtherClasses {
        /// Classes of the run's dataset.
        run_classes: usize,
        /// The dataset asked for.
        dataset: String,
        /// Its classes.
        classes: usize,
    },
    #[error("{dataset} has {shape} images; this run's network takes {run_shape}")]
    /// A dataset whose images have another shape than the run's input.
    OtherShape {
        /// The run's input shape.
        run_shape: ImageShape,
        /// The dataset asked for.
        dataset: String,
        /// Its image shape.
        shape: ImageShape,
    },
    #[error("{}: unknown format: name the file .npy, .csv or .safetensors", path.display())]
    /// An embeddings file whose extension names no format reponet writes.
    UnknownFormat {
        /// The file asked for.
        path: PathBuf,
    },
    #[error("{0}")]
    /// Input of another kind than the run takes (images for a features run, or the reverse,
    /// or features of another width).
    OtherInput(String),
    #[error("{0}")]
    /// A figure that cannot be drawn as asked (e.g. coordinates the features lack).
    Figure(String),
    #[error("none of the {0} image files decoded (each was left out, as --skip-bad-images asks); the first: {1}")]
    /// Every file was left out as undecodable: how many, and the first one's problem.
    NoImages(usize, String),
    #[error("{}: {message}", path.display())]
    /// A report file or folder could not be written.
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

impl AnalysisError {
    pub(crate) fn io(path: &std::path::Path, err: impl std::fmt::Display) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            message: err.to_string(),
        }
    }
}
