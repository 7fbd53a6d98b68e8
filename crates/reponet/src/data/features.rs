//! `--dataset features:FILE.safetensors`: precomputed features with their labels, as
//! `reponet embed --model ... --weights ... --dataset folder:PATH` writes them (or any tool
//! that writes the same tensors): `train.features` and `test.features` (float32 or float16,
//! `[n, d]`), `train.labels` and `test.labels` (integers, `[n]`), class names in the
//! metadata (`class_names`, a JSON list) or numbered.

use std::path::Path;

use safetensors::{Dtype, SafeTensors};

use super::locate::DatasetHeader;
use super::{DataError, DataSplit, ImageSet, ImageShape, Normalization};

/// What names a features dataset.
pub const FEATURES_PREFIX: &str = "features:";

/// A features file, checked: both splits' tensors there, of agreeing shapes and labels.
#[derive(Debug, Clone)]
pub struct FeatureFile {
    path: std::path::PathBuf,
    /// Class names and the row shape (`d x 1 x 1`).
    pub header: DatasetHeader,
}

impl FeatureFile {
    /// Open and check `path` (both splits are read once here, and again when loaded).
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let file = parse(path, &bytes)?;
        let bad = |problem: String| DataError::format(path, problem);
        let (train, train_labels) = split_of(path, &file, DataSplit::Train)?;
        let (test, _) = split_of(path, &file, DataSplit::Test)?;
        let dim = train.1;
        if test.1 != dim {
            return Err(bad(format!(
                "train.features has {dim} values a row and test.features {}",
                test.1
            )));
        }
        let top = train_labels.iter().copied().max().unwrap_or(0) as usize;
        let metadata = SafeTensors::read_metadata(&bytes)
            .map(|(_, m)| m.metadata().clone())
            .ok()
            .flatten()
            .unwrap_or_default();
        let class_names: Vec<String> = match metadata.get("class_names") {
            Some(json) => serde_json::from_str(json).map_err(|e| {
                bad(format!(
                    "metadata class_names is not a JSON list of names ({e})"
                ))
            })?,
            None => (0..=top).map(|c| c.to_string()).collect(),
        };
        if top >= class_names.len() {
            return Err(bad(format!(
                "label {top} but {} class names",
                class_names.len()
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            header: DatasetHeader {
                class_names,
                shape: ImageShape {
                    channels: dim,
                    rows: 1,
                    cols: 1,
                },
                normalization: Some(Normalization::uniform(0.0, 1.0)),
                mirrorable: false,
            },
        })
    }

    /// One split's rows and labels.
    pub fn load(&self, split: DataSplit) -> Result<ImageSet, DataError> {
        let bytes = std::fs::read(&self.path).map_err(|e| DataError::io(&self.path, e))?;
        let file = parse(&self.path, &bytes)?;
        let ((features, dim), labels) = split_of(&self.path, &file, split)?;
        Ok(ImageSet::of_features(
            features,
            labels,
            dim,
            self.header.class_names.len(),
        ))
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>, DataError> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| DataError::format(path, format!("not a readable safetensors file ({e})")))
}

/// `{split}.features` as `f32` rows with their width, and `{split}.labels`.
type Split = ((Vec<f32>, usize), Vec<u8>);

fn split_of(path: &Path, file: &SafeTensors, split: DataSplit) -> Result<Split, DataError> {
    let bad = |problem: String| DataError::format(path, problem);
    let name = split.name();
    let tensor = |what: &str| {
        file.tensor(&format!("{name}.{what}")).map_err(|_| {
            bad(format!(
                "no tensor {name}.{what}: a features file holds train.features, train.labels, test.features and test.labels (reponet embed --model ... --weights ... --dataset folder:PATH writes one)"
            ))
        })
    };
    let (values, dim) = float_rows(path, &format!("{name}.features"), &tensor("features")?)?;
    let rows = values.len() / dim.max(1);
    let labels = tensor("labels")?;
    if labels.shape() != [rows] {
        return Err(bad(format!(
            "{name}.labels is {:?}, and {name}.features has {rows} rows",
            labels.shape()
        )));
    }
    let data = labels.data();
    let wide: Vec<i64> = match labels.dtype() {
        Dtype::U8 => data.iter().map(|&b| b as i64).collect(),
        Dtype::I32 => data
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
            .collect(),
        Dtype::I64 => data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect(),
        other => {
            return Err(bad(format!(
                "{name}.labels is {other:?}: give uint8, int32 or int64"
            )))
        }
    };
    let labels = wide
        .iter()
        .map(|&l| {
            u8::try_from(l)
                .map_err(|_| bad(format!("{name}.labels holds {l}: labels are 0 to 255")))
        })
        .collect::<Result<Vec<u8>, _>>()?;
    if rows == 0 && split == DataSplit::Train {
        return Err(bad("train.features has no rows".into()));
    }
    Ok(((values, dim), labels))
}

/// Rows of features without labels.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRows {
    /// Row after row.
    pub values: Vec<f32>,
    /// Values a row.
    pub dim: usize,
    /// The name of each row (the file's `files` metadata), if it has them.
    pub names: Option<Vec<std::path::PathBuf>>,
}

/// The rows of a features file without labels (tensor `features`, `[n, d]`, float32 or
/// float16, as `reponet embed` writes for image files).
pub fn read_feature_rows(path: &Path) -> Result<FeatureRows, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let file = parse(path, &bytes)?;
    let tensor = file.tensor("features").map_err(|_| {
        DataError::format(path, "no tensor named features (reponet embed --model ... --weights ... --images ... --out FILE.safetensors writes one)")
    })?;
    let (values, dim) = float_rows(path, "features", &tensor)?;
    let names = SafeTensors::read_metadata(&bytes)
        .ok()
        .and_then(|(_, m)| m.metadata().clone())
        .and_then(|m| m.get("files").and_then(|j| serde_json::from_str(j).ok()));
    Ok(FeatureRows { values, dim, names })
}

/// A `[rows, d]` float32 or float16 tensor as `f32` values, and d; finite values only.
fn float_rows(
    path: &Path,
    name: &str,
    tensor: &safetensors::tensor::TensorView,
) -> Result<(Vec<f32>, usize), DataError> {
    let bad = |problem: String| DataError::format(path, problem);
    let [_, dim] = tensor.shape() else {
        return Err(bad(format!(
            "{name} is {:?}, not [rows, values]",
            tensor.shape()
        )));
    };
    let values = match tensor.dtype() {
        Dtype::F32 | Dtype::F16 => crate::nn::pretrained::safetensors_floats(tensor)
            .expect("float32 and float16 are floating-point"),
        other => return Err(bad(format!("{name} is {other:?}: give float32 or float16"))),
    };
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad(format!("{name} holds NaN or infinite values")));
    }
    Ok((values, *dim))
}
