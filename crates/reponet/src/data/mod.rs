//! Image-classification data: the dataset registry, IDX files (raw or gzip'd), where data
//! lives, the built-in MNIST sample, verification and downloading.

mod batch;
#[cfg(feature = "fetch")]
mod fetch;
mod folder;
mod idx;
mod image_set;
mod locate;
mod registry;
mod sample;
mod synthetic;
mod verify;

pub use batch::{images_to_tensor, labels_to_tensor};
#[cfg(feature = "fetch")]
pub use fetch::{fetch_dataset, FetchOptions, FetchProgress, FetchedFile};
pub use folder::{file_spellings, find_file, load_idx_pair, load_mnist_dir, load_split_from};
pub use idx::{parse_idx_bytes, read_idx, read_idx_checked, write_idx, IdxArray, MAX_ELEMENTS};
pub use image_set::{DataSplit, ImageSet, Normalization};
pub use locate::{load_dataset, locate_dataset, DataRoot, LocatedDataset, RootOrigin, DATA_ENV};
pub use registry::{
    dataset, Checksum, DataFile, DatasetInfo, Source, DATASETS, MNIST_NORMALIZATION,
};
pub use sample::load_sample;
pub use synthetic::write_synthetic_mnist;
pub use verify::{sha256_hex, verify_dataset, verify_file, FileCheck, FileStatus};

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
    #[error("no {what} file in {dir}: looked for {candidates}. Fetch it with `reponet data fetch {dataset} --data-dir {dir}`, or put the files there by hand")]
    Missing {
        dir: PathBuf,
        what: String,
        candidates: String,
        dataset: String,
    },
    #[error("unknown dataset '{name}': known datasets are {known}")]
    UnknownDataset { name: String, known: String },
    #[error("dataset {dataset} not found (looked in {looked_in}). Fetch it with `{fetch_hint}`, or use the built-in `mnist-sample`")]
    NotFetched {
        dataset: String,
        looked_in: String,
        fetch_hint: String,
    },
    #[error("no data folder: pass --data-dir or set $REPONET_DATA (this platform has no cache directory)")]
    NoDataRoot,
    #[error("{path}: checksum mismatch: expected SHA-256 {expected}, found {found}{note}")]
    Checksum {
        path: PathBuf,
        expected: String,
        found: String,
        note: String,
    },
    #[error("{0}")]
    Download(String),
}

impl DataError {
    pub(crate) fn format(path: &std::path::Path, problem: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_path_buf(),
            problem: problem.into(),
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
