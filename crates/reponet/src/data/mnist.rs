use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::idx::read_idx;
use super::{DataError, ImageSet};

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataSplit {
    Train,
    Test,
}

impl DataSplit {
    fn stems(self) -> [&'static str; 2] {
        match self {
            Self::Train => ["train", "train"],
            Self::Test => ["t10k", "test"],
        }
    }
}

/// Input standardisation: `(pixel / 255 - mean) / std`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Normalization {
    pub mean: f64,
    pub std: f64,
}

/// MNIST's training-set pixel mean and standard deviation.
pub const MNIST_NORMALIZATION: Normalization = Normalization {
    mean: 0.1307,
    std: 0.3081,
};

/// Load one split of an MNIST-format folder (`train-images-idx3-ubyte[.gz]`, ...).
///
/// Accepts the `-idx3-ubyte` and `.idx3-ubyte` spellings, raw or `.gz`, and `t10k` or
/// `test` for the test split. Checks that images are 3-D, counts agree and every label is
/// below `classes`.
pub fn load_mnist_dir(dir: &Path, split: DataSplit, classes: usize) -> Result<ImageSet, DataError> {
    let images_path = find(dir, split, "images", 3)?;
    let labels_path = find(dir, split, "labels", 1)?;
    let images = read_idx(&images_path)?;
    let labels = read_idx(&labels_path)?;
    if images.dims.len() != 3 {
        return Err(DataError::format(
            &images_path,
            format!(
                "images must have 3 dimensions (count, rows, cols), found {:?}",
                images.dims
            ),
        ));
    }
    if labels.dims.len() != 1 {
        return Err(DataError::format(
            &labels_path,
            format!("labels must have 1 dimension, found {:?}", labels.dims),
        ));
    }
    if images.dims[0] != labels.dims[0] {
        return Err(DataError::format(
            &labels_path,
            format!(
                "{} labels for {} images in {}",
                labels.dims[0],
                images.dims[0],
                images_path.display()
            ),
        ));
    }
    if let Some((i, &l)) = labels
        .data
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= classes)
    {
        return Err(DataError::format(
            &labels_path,
            format!("label {l} at index {i} is outside 0..{classes}"),
        ));
    }
    Ok(ImageSet {
        pixels: images.data,
        labels: labels.data,
        rows: images.dims[1],
        cols: images.dims[2],
        classes,
    })
}

fn find(dir: &Path, split: DataSplit, what: &str, rank: u8) -> Result<PathBuf, DataError> {
    let mut candidates = Vec::new();
    for stem in split.stems() {
        for sep in ['-', '.'] {
            for ext in ["", ".gz"] {
                let name = format!("{stem}-{what}{sep}idx{rank}-ubyte{ext}");
                let path = dir.join(&name);
                if path.is_file() {
                    return Ok(path);
                }
                if !candidates.contains(&name) {
                    candidates.push(name);
                }
            }
        }
    }
    Err(DataError::Missing {
        dir: dir.to_path_buf(),
        what: format!("{:?} {what}", split).to_lowercase(),
        candidates: candidates.join(", "),
    })
}
