//! Where a dataset's files live, and loading a dataset by name (a registry name, or
//! `folder:PATH` for a folder of one's own images, see [`super::ImageFolder`]).
//!
//! The data root is `--data-dir` if given, else `$REPONET_DATA`, else the platform's cache
//! directory (`~/.cache/reponet` on Linux); dataset `NAME` lives in `ROOT/NAME`. A folder
//! given with `--data-dir` that holds the files itself is used as it is. Without
//! `--data-dir`, a system package's folder (Debian's `dataset-fashion-mnist`) is found too.

use std::fmt;
use std::path::{Path, PathBuf};

use super::features::{FeatureFile, FEATURES_PREFIX};
use super::folder::{files_of_another_dataset, holds_dataset, load_split_from};
use super::image_folder::{BadImage, FolderOptions, ImageFolder, FOLDER_PREFIX};
use super::registry::{dataset, DatasetInfo, Source};
use super::sample::load_sample;
use super::{DataError, DataSplit, ImageSet, ImageShape, Normalization};

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
        self.path.join(info.files_dir())
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

    /// The first candidate folder that holds all of `info`'s files, and not another
    /// dataset's under the same names.
    pub fn find(&self, info: &DatasetInfo) -> Option<PathBuf> {
        self.candidates(info)
            .into_iter()
            .find(|d| holds_dataset(d, info) && files_of_another_dataset(d, info).is_none())
    }

    /// A candidate folder holding another registry dataset's files where `info`'s would
    /// be, and that dataset's name.
    pub fn find_impostor(&self, info: &DatasetInfo) -> Option<(PathBuf, &'static str)> {
        self.candidates(info).into_iter().find_map(|d| {
            let other = holds_dataset(&d, info)
                .then(|| files_of_another_dataset(&d, info))
                .flatten()?;
            Some((d, other))
        })
    }
}

/// What a dataset is, known before its images are read: class names, image shape, and
/// the registry's normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetHeader {
    /// Every class's name, by label.
    pub class_names: Vec<String>,
    /// The shape its images are read as.
    pub shape: ImageShape,
    /// The registry's measured normalisation; `None`: measure it on the training split.
    pub normalization: Option<Normalization>,
    /// Whether a mirrored image keeps its class (not for digits and letters; assumed for
    /// one's own photos).
    pub mirrorable: bool,
}

impl DatasetHeader {
    fn of(info: &DatasetInfo) -> Self {
        Self {
            class_names: info.class_names.iter().map(|n| n.to_string()).collect(),
            shape: info.shape(),
            normalization: info.normalization,
            mirrorable: info.mirrorable,
        }
    }
}

/// The header of dataset `name` (a registry name, or `folder:PATH` scanned with `folder`'s
/// options), without its data for a registry dataset.
pub fn dataset_header(name: &str, folder: &FolderOptions) -> Result<DatasetHeader, DataError> {
    if let Some(path) = name.strip_prefix(FEATURES_PREFIX) {
        return Ok(FeatureFile::open(Path::new(path))?.header);
    }
    match name.strip_prefix(FOLDER_PREFIX) {
        Some(path) => Ok(ImageFolder::open(Path::new(path), folder)?.header()),
        None => Ok(DatasetHeader::of(dataset(name)?)),
    }
}

/// A dataset found on disk (or built in).
#[derive(Debug, Clone)]
pub struct LocatedDataset {
    /// Classes, shape, normalisation.
    pub header: DatasetHeader,
    location: Location,
}

#[derive(Debug, Clone)]
enum Location {
    /// A registry dataset's IDX files; `None` for the built-in sample.
    Registry {
        info: &'static DatasetInfo,
        dir: Option<PathBuf>,
    },
    /// `folder:PATH`.
    Folder(ImageFolder),
    /// `features:FILE`.
    Features(FeatureFile),
}

impl LocatedDataset {
    /// Where the data is, for messages and run records.
    pub fn describe(&self) -> String {
        match &self.location {
            Location::Registry { dir: Some(d), .. } => d.display().to_string(),
            Location::Registry { dir: None, .. } => "built in".into(),
            Location::Folder(folder) => format!("{FOLDER_PREFIX}{}", folder.root.display()),
            Location::Features(file) => format!("{FEATURES_PREFIX}{}", file.path().display()),
        }
    }

    /// Read and decode one split.
    pub fn load(&self, split: DataSplit) -> Result<ImageSet, DataError> {
        Ok(self.load_counting_bad(split)?.0)
    }

    /// Read and decode one split, with the images skipped as unreadable (only a folder
    /// dataset opened with `skip_bad_images` skips any).
    pub fn load_counting_bad(
        &self,
        split: DataSplit,
    ) -> Result<(ImageSet, Vec<BadImage>), DataError> {
        match &self.location {
            Location::Registry {
                info,
                dir: Some(dir),
            } => Ok((load_split_from(dir, info, split)?, Vec::new())),
            Location::Registry { dir: None, .. } => Ok((load_sample(split)?, Vec::new())),
            Location::Folder(folder) => folder.load(split),
            Location::Features(file) => Ok((file.load(split)?, Vec::new())),
        }
    }
}

/// Find dataset `name` under the data root (see the module docs).
pub fn locate_dataset(name: &str, data_dir: Option<&Path>) -> Result<LocatedDataset, DataError> {
    locate_dataset_with(name, data_dir, &FolderOptions::default())
}

/// Find dataset `name`: a registry dataset under the data root (see the module docs), or
/// `folder:PATH`, scanned with `folder`'s options.
pub fn locate_dataset_with(
    name: &str,
    data_dir: Option<&Path>,
    folder: &FolderOptions,
) -> Result<LocatedDataset, DataError> {
    if let Some(path) = name.strip_prefix(FEATURES_PREFIX) {
        let file = FeatureFile::open(Path::new(path))?;
        return Ok(LocatedDataset {
            header: file.header.clone(),
            location: Location::Features(file),
        });
    }
    if let Some(path) = name.strip_prefix(FOLDER_PREFIX) {
        let folder = ImageFolder::open(Path::new(path), folder)?;
        return Ok(LocatedDataset {
            header: folder.header(),
            location: Location::Folder(folder),
        });
    }
    let info = dataset(name)?;
    let located = |dir| LocatedDataset {
        header: DatasetHeader::of(info),
        location: Location::Registry { info, dir },
    };
    if info.source == Source::Embedded {
        return Ok(located(None));
    }
    let root = DataRoot::resolve(data_dir)?;
    if let Some(dir) = root.find(info) {
        return Ok(located(Some(dir)));
    }
    if let Some((dir, other)) = root.find_impostor(info) {
        let (_, labels) = info.split_files(DataSplit::Test);
        return Err(DataError::format(
            &dir,
            format!(
                "holds {other}'s files, not {}'s (its {} is {other}'s, by SHA-256): give --dataset {other}, or a --data-dir with {}'s files",
                info.name, labels.name, info.name
            ),
        ));
    }
    Err(DataError::NotFetched {
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
    })
}

/// Load one split of dataset `name` (see [`locate_dataset`]).
pub fn load_dataset(
    name: &str,
    split: DataSplit,
    data_dir: Option<&Path>,
) -> Result<ImageSet, DataError> {
    locate_dataset(name, data_dir)?.load(split)
}
