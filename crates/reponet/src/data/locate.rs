//! Where a dataset's files live, and loading a dataset by name.
//!
//! The data root is `--data-dir` if given, else `$REPONET_DATA`, else the platform's cache
//! directory (`~/.cache/reponet` on Linux); dataset `NAME` lives in `ROOT/NAME`. A folder
//! given with `--data-dir` that holds the files itself is used as it is. Without
//! `--data-dir`, a system package's folder (Debian's `dataset-fashion-mnist`) is found too.

use std::fmt;
use std::path::{Path, PathBuf};

use super::folder::{holds_dataset, load_split_from};
use super::registry::{dataset, DatasetInfo, Source};
use super::sample::load_sample;
use super::{DataError, DataSplit, ImageSet};

/// The environment variable naming the data root.
pub const DATA_ENV: &str = "REPONET_DATA";

/// How the data root was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootOrigin {
    /// `--data-dir` was given.
    Flag,
    /// `$REPONET_DATA` was set.
    Env,
    /// The platform's cache directory (e.g. `~/.cache/reponet`).
    Cache,
}

/// The folder datasets are fetched into and looked up in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRoot {
    /// The folder.
    pub path: PathBuf,
    /// How it was chosen.
    pub origin: RootOrigin,
}

impl fmt::Display for DataRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.origin {
            RootOrigin::Flag => "from --data-dir",
            RootOrigin::Env => "from $REPONET_DATA",
            RootOrigin::Cache => "the cache directory",
        };
        write!(f, "{} ({how})", self.path.display())
    }
}

impl DataRoot {
    /// `--data-dir` if given, else `$REPONET_DATA`, else the platform cache directory.
    pub fn resolve(flag: Option<&Path>) -> Result<Self, DataError> {
        if let Some(path) = flag {
            return Ok(Self {
                path: path.to_path_buf(),
                origin: RootOrigin::Flag,
            });
        }
        if let Some(path) = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self {
                path: path.into(),
                origin: RootOrigin::Env,
            });
        }
        dirs::cache_dir()
            .map(|c| Self {
                path: c.join("reponet"),
                origin: RootOrigin::Cache,
            })
            .ok_or(DataError::NoDataRoot)
    }

    /// Where `reponet data fetch` puts `info`.
    pub fn dataset_dir(&self, info: &DatasetInfo) -> PathBuf {
        self.path.join(info.name)
    }

    /// The folders that may hold `info`, in the order they are tried.
    pub fn candidates(&self, info: &DatasetInfo) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if self.origin == RootOrigin::Flag {
            dirs.push(self.path.clone());
        }
        dirs.push(self.dataset_dir(info));
        // A system package's copy (Debian's Fashion-MNIST) is found whatever the root, last,
        // so that one --data-dir serves a grid whose datasets live in different places.
        dirs.extend(info.system_dirs.iter().map(PathBuf::from));
        dirs
    }

    /// The first candidate folder that holds all of `info`'s files.
    pub fn find(&self, info: &DatasetInfo) -> Option<PathBuf> {
        self.candidates(info)
            .into_iter()
            .find(|d| holds_dataset(d, info))
    }
}

/// A dataset found on disk (or built in).
#[derive(Debug, Clone, PartialEq)]
pub struct LocatedDataset {
    /// The registry entry.
    pub info: &'static DatasetInfo,
    /// `None` for the built-in sample.
    pub dir: Option<PathBuf>,
}

impl LocatedDataset {
    /// Where the data is, for messages and run records.
    pub fn describe(&self) -> String {
        match &self.dir {
            Some(d) => d.display().to_string(),
            None => "built in".into(),
        }
    }

    /// Read and decode one split.
    pub fn load(&self, split: DataSplit) -> Result<ImageSet, DataError> {
        match &self.dir {
            Some(dir) => load_split_from(dir, self.info, split),
            None => load_sample(split),
        }
    }
}

/// Find dataset `name` under the data root (see the module docs).
pub fn locate_dataset(name: &str, data_dir: Option<&Path>) -> Result<LocatedDataset, DataError> {
    let info = dataset(name)?;
    if info.source == Source::Embedded {
        return Ok(LocatedDataset { info, dir: None });
    }
    let root = DataRoot::resolve(data_dir)?;
    match root.find(info) {
        Some(dir) => Ok(LocatedDataset {
            info,
            dir: Some(dir),
        }),
        None => Err(DataError::NotFetched {
            dataset: info.name.to_string(),
            looked_in: root
                .candidates(info)
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            fetch_hint: match root.origin {
                RootOrigin::Flag => format!(
                    "reponet data fetch {} --data-dir {}",
                    info.name,
                    root.path.display()
                ),
                _ => format!("reponet data fetch {}", info.name),
            },
        }),
    }
}

/// Load one split of dataset `name` (see [`locate_dataset`]).
pub fn load_dataset(
    name: &str,
    split: DataSplit,
    data_dir: Option<&Path>,
) -> Result<ImageSet, DataError> {
    locate_dataset(name, data_dir)?.load(split)
}
