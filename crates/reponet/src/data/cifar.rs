//! The binary versions of CIFAR-10 and CIFAR-100 (Krizhevsky 2009): records of label
//! bytes then 3,072 pixel bytes, 1,024 red, 1,024 green and 1,024 blue, each plane row-major
//! 32 x 32 — already the channel-planes layout of an [`ImageSet`].
//!
//! CIFAR-10's `data_batch_1.bin` to `data_batch_5.bin` and `test_batch.bin` hold 10,000
//! records of 1 + 3,072 bytes; CIFAR-100's `train.bin` (50,000) and `test.bin` (10,000)
//! records of 2 + 3,072 bytes, the coarse label (20 superclasses) before the fine one (100
//! classes). Class names come from `batches.meta.txt`, `coarse_label_names.txt` and
//! `fine_label_names.txt`, one a line.

use std::path::Path;

use super::{DataError, ImageSet};

/// Pixel bytes of one 3 x 32 x 32 image.
pub const CIFAR_IMAGE_BYTES: usize = 3 * 32 * 32;

/// Which of a CIFAR-100 record's two labels to use (`--cifar100-labels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CifarLabels {
    /// CIFAR-10's only label.
    #[default]
    Single,
    /// CIFAR-100's 20 superclasses.
    Coarse,
    /// CIFAR-100's 100 classes.
    Fine,
}

impl CifarLabels {
    /// Label bytes before each image.
    pub fn label_bytes(self) -> usize {
        match self {
            Self::Single => 1,
            _ => 2,
        }
    }

    /// Classes the labels range over.
    pub fn classes(self) -> usize {
        match self {
            Self::Single => 10,
            Self::Coarse => 20,
            Self::Fine => 100,
        }
    }
}

/// Parse the records of one CIFAR binary file; `path` names it in errors.
pub fn parse_cifar_bytes(
    bytes: &[u8],
    labels: CifarLabels,
    path: &Path,
) -> Result<ImageSet, DataError> {
    let record = labels.label_bytes() + CIFAR_IMAGE_BYTES;
    if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
        return Err(DataError::format(
            path,
            format!(
                "{} bytes is not a whole number of CIFAR records of {record} bytes ({} label byte(s) and 3 x 32 x 32 pixels): truncated, or not a CIFAR{} binary file",
                bytes.len(),
                labels.label_bytes(),
                if labels == CifarLabels::Single { "-10" } else { "-100" }
            ),
        ));
    }
    let n = bytes.len() / record;
    let mut set = ImageSet {
        pixels: Vec::with_capacity(n * CIFAR_IMAGE_BYTES),
        labels: Vec::with_capacity(n),
        channels: 3,
        rows: 32,
        cols: 32,
        classes: labels.classes(),
        features: Vec::new(),
    };
    for (i, r) in bytes.chunks_exact(record).enumerate() {
        let label = match labels {
            CifarLabels::Single | CifarLabels::Coarse => r[0],
            CifarLabels::Fine => r[1],
        };
        if label as usize >= labels.classes() {
            return Err(DataError::format(
                path,
                format!(
                    "record {i} has label {label}, outside 0..{}",
                    labels.classes() - 1
                ),
            ));
        }
        set.labels.push(label);
        set.pixels.extend_from_slice(&r[labels.label_bytes()..]);
    }
    Ok(set)
}

/// Read the CIFAR binary files `paths` in order into one set.
pub fn read_cifar_files(paths: &[&Path], labels: CifarLabels) -> Result<ImageSet, DataError> {
    let mut all: Option<ImageSet> = None;
    for path in paths {
        let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
        let set = parse_cifar_bytes(&bytes, labels, path)?;
        match &mut all {
            Some(all) => {
                all.pixels.extend(set.pixels);
                all.labels.extend(set.labels);
            }
            None => all = Some(set),
        }
    }
    all.ok_or_else(|| DataError::format(Path::new("."), "no CIFAR files given".to_string()))
}

/// Class names from a meta file of one name a line (blank lines ignored), checked against
/// the number of classes.
pub fn read_cifar_names(path: &Path, classes: usize) -> Result<Vec<String>, DataError> {
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io(path, e))?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if names.len() != classes {
        return Err(DataError::format(
            path,
            format!(
                "{} class names, expected {classes} (one a line)",
                names.len()
            ),
        ));
    }
    Ok(names)
}
