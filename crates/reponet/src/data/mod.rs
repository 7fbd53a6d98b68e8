//! Image-classification data: IDX files (raw or gzip'd) and the MNIST folder layout.

mod batch;
mod idx;
mod image_set;
mod mnist;
mod synthetic;

pub use batch::{images_to_tensor, labels_to_tensor};
pub use idx::{read_idx, write_idx, IdxArray};
pub use image_set::ImageSet;
pub use mnist::{load_mnist_dir, DataSplit, Normalization, MNIST_NORMALIZATION};
pub use synthetic::write_synthetic_mnist;

use std::path::PathBuf;

/// A data file that is missing, unreadable or malformed; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    Format { path: PathBuf, problem: String },
    #[error("no {what} file in {dir}: looked for {candidates}. Put the four MNIST IDX files (raw or .gz) there, or pass --data-dir to the folder that holds them")]
    Missing {
        dir: PathBuf,
        what: String,
        candidates: String,
    },
}

impl DataError {
    pub(crate) fn format(path: &std::path::Path, problem: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }
}
