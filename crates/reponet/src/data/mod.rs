//! Image-classification data: the dataset registry, IDX files (raw or gzip'd), where data
//! lives, the built-in MNIST sample, verification and downloading, and folders of one's own
//! PNG or JPEG images.

mod augment;
mod batch;
mod cifar;
#[cfg(feature = "fetch")]
mod features;
mod fetch;
mod folder;
mod idx;
mod image_folder;
mod image_set;
mod locate;
mod registry;
mod sample;
mod synthetic;
mod verify;

pub use augment::{augment_image, batch_draws, Draw};
pub use batch::{augmented_images_to_tensor, images_to_tensor, labels_to_tensor};
pub use cifar::{
    parse_cifar_bytes, read_cifar_files, read_cifar_names, CifarLabels, CIFAR_IMAGE_BYTES,
};
#[cfg(feature = "fetch")]
pub use features::{read_feature_rows, FeatureFile, FeatureRows, FEATURES_PREFIX};
pub use fetch::{fetch_dataset, FetchOptions, FetchProgress, FetchedFile};
pub use folder::{file_spellings, find_file, load_idx_pair, load_mnist_dir, load_split_from};
pub use idx::{parse_idx_bytes, read_idx, read_idx_checked, write_idx, IdxArray, MAX_ELEMENTS};
pub use image_folder::{
    check_shape, class_folder_name, decode_images, image_files, is_image_file, read_image,
    write_image_folder, BadImage, ClassCount, FolderLayout, FolderOptions, FolderReport,
    ImageFolder, SizeCount, DEFAULT_TEST_FRACTION, FOLDER_PREFIX,
};
pub use image_set::{ChannelStats, DataSplit, ImageSet, ImageShape, Normalization};
pub use locate::{
    dataset_header, load_dataset, locate_dataset, locate_dataset_with, DataRoot, DatasetHeader,
    LocatedDataset, RootOrigin, DATA_ENV,
};
pub use registry::{
    dataset, Checksum, DataFile, DatasetInfo, FileFormat, Layout, Source, DATASETS,
    MNIST_NORMALIZATION,
};
pub use sample::load_sample;
pub use synthetic::write_synthetic_mnist;
pub use verify::{sha256_hex, verify_dataset, verify_file, FileCheck, FileStatus};

use std::path::PathBuf;

/// A data file that is missing, unreadable or malformed; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    /// A file could not be read or written.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    #[error("{path}: {problem}")]
    /// A file is not what it should be (truncated, bad header, wrong counts).
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    #[error("no {what} file in {dir}: looked for {candidates}. Fetch it with `reponet data fetch {dataset} --data-dir {dir}`, or put the files there by hand")]
    /// A dataset folder lacks one of its files.
    Missing {
        /// The folder looked in.
        dir: PathBuf,
        /// Which file (e.g. "train images").
        what: String,
        /// The file names tried.
        candidates: String,
        /// The dataset's registry name.
        dataset: String,
    },
    #[error("unknown dataset '{name}': known datasets are {known}")]
    /// A name not in the registry.
    UnknownDataset {
        /// The name given.
        name: String,
        /// The registry's names, for the message.
        known: String,
    },
    #[error("dataset {dataset} not found (looked in {looked_in}). Fetch it with `{fetch_hint}`, or use the built-in `mnist-sample`")]
    /// A dataset that is nowhere on disk.
    NotFetched {
        /// The dataset's registry name.
        dataset: String,
        /// The folders searched.
        looked_in: String,
        /// The command that fetches it.
        fetch_hint: String,
    },
    #[error("no data folder: pass --data-dir or set $REPONET_DATA (this platform has no cache directory)")]
    /// No folder to put data in.
    NoDataRoot,
    #[error("{path}: checksum mismatch: expected SHA-256 {expected}, found {found}{note}")]
    /// A file's SHA-256 differs from the registry's.
    Checksum {
        /// The file.
        path: PathBuf,
        /// The registry's hash.
        expected: String,
        /// The file's hash.
        found: String,
        /// What to do about it.
        note: String,
    },
    #[error("{0}")]
    /// A download failed on every mirror.
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
