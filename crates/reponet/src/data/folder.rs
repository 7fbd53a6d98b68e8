//! A dataset's IDX files in a folder: finding them under their usual spellings and loading
//! a split with every check the registry allows.

use std::path::{Path, PathBuf};

use super::cifar::{read_cifar_files, read_cifar_names};
use super::idx::read_idx_checked;
use super::registry::{dataset, DataFile, DatasetInfo, FileFormat, Layout};
use super::{DataError, DataSplit, ImageSet};

/// The spellings a file goes by: an IDX file as `train-images-idx3-ubyte`,
/// `train-images.idx3-ubyte`, `test-` for `t10k-`, each raw or `.gz` (the canonical name
/// first); any other file by its name alone.
pub fn file_spellings(file: &DataFile) -> Vec<String> {
    if file.format != FileFormat::Idx {
        return vec![file.name.to_string()];
    }
    let mut stems = vec![file.name.to_string()];
    let dotted = file.name.replacen("-idx", ".idx", 1);
    for stem in [dotted.clone(), file.name.replacen("t10k-", "test-", 1)]
        .into_iter()
        .chain([dotted.replacen("t10k-", "test-", 1)])
    {
        if !stems.contains(&stem) {
            stems.push(stem);
        }
    }
    stems
        .iter()
        .flat_map(|s| [format!("{s}.gz"), s.clone()])
        .collect()
}

/// The path of `file` in `dir` under any of its spellings.
pub fn find_file(dir: &Path, file: &DataFile) -> Option<PathBuf> {
    file_spellings(file)
        .into_iter()
        .map(|name| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether `dir` holds all of `info`'s files.
pub fn holds_dataset(dir: &Path, info: &DatasetInfo) -> bool {
    info.files.iter().all(|f| find_file(dir, f).is_some())
}

/// The registry dataset whose files `dir` holds where `info`'s should be, when that is
/// another one: IDX datasets share file names (MNIST, Fashion-MNIST, KMNIST), so a folder of
/// one is found for the others. Told by the test labels' SHA-256 (10,000 bytes: cheap to
/// hash at every start). Files of no known dataset (an MNIST-format folder of one's own)
/// are nobody's and may be used as any of them.
pub fn files_of_another_dataset(dir: &Path, info: &DatasetInfo) -> Option<&'static str> {
    if info.layout != Layout::Idx {
        return None;
    }
    let (_, labels) = info.split_files(DataSplit::Test);
    let path = find_file(dir, &labels)?;
    let file = std::fs::File::open(path).ok()?;
    let mut content = super::idx::decompressed(std::io::BufReader::new(file)).ok()?;
    let sha = super::verify::sha256_hex(&mut content).ok()?;
    super::registry::DATASETS
        .iter()
        .filter(|other| other.layout == Layout::Idx && other.name != info.name)
        .find(|other| {
            let (_, theirs) = other.split_files(DataSplit::Test);
            matches!(theirs.checksum, super::registry::Checksum::Decompressed(s) if s == sha)
        })
        .map(|other| other.name)
}

/// Load one split of `info` from the folder `dir`.
///
/// Checks: images 3-D and labels 1-D, equal counts, every label (less the dataset's label
/// offset) below its class count. EMNIST images are transposed to upright. Image counts may
/// differ from the registry's, so that MNIST-format folders of any size load; `data verify`
/// reports a count that differs.
pub fn load_split_from(
    dir: &Path,
    info: &DatasetInfo,
    split: DataSplit,
) -> Result<ImageSet, DataError> {
    let locate = |file: &DataFile| {
        find_file(dir, file).ok_or_else(|| DataError::Missing {
            dir: dir.to_path_buf(),
            what: format!("{} {} {}", info.name, split.name(), kind(file)),
            candidates: file_spellings(file).join(", "),
            dataset: info.name.to_string(),
        })
    };
    if let Layout::Cifar { labels } = info.layout {
        // The names file must name the registry's classes: another dataset's files, or
        // another labelling's, are refused here rather than trained under wrong names.
        let names_file = info.files[info.files.len() - 1];
        let names_path = locate(&names_file)?;
        let names = read_cifar_names(&names_path, info.classes())?;
        if let Some((i, (found, want))) = names
            .iter()
            .zip(info.class_names)
            .enumerate()
            .find(|(_, (found, want))| found != *want)
        {
            return Err(DataError::format(
                &names_path,
                format!(
                    "class {i} is named '{found}', but {} names it '{want}': these are not {}'s files",
                    info.name, info.name
                ),
            ));
        }
        let paths = info
            .cifar_batches(split)
            .iter()
            .map(locate)
            .collect::<Result<Vec<_>, _>>()?;
        let paths: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        return read_cifar_files(&paths, labels);
    }
    let (images_file, labels_file) = info.split_files(split);
    let images_path = locate(&images_file)?;
    let labels_path = locate(&labels_file)?;
    let mut set = load_idx_pair(
        &images_path,
        &labels_path,
        info.classes(),
        info.label_offset,
    )?;
    if info.transposed {
        set.transpose_images();
    }
    Ok(set)
}

/// An images file and its labels file as one set; labels, less `label_offset`, must lie in
/// `0..classes`.
pub fn load_idx_pair(
    images_path: &Path,
    labels_path: &Path,
    classes: usize,
    label_offset: u8,
) -> Result<ImageSet, DataError> {
    let images = read_idx_checked(images_path, |dims| match dims {
        [_, rows, cols] if *rows > 0 && *cols > 0 => Ok(()),
        _ => Err(format!(
            "images must have 3 dimensions (count, rows, cols), found {dims:?}"
        )),
    })?;
    let count = images.dims[0];
    let labels = read_idx_checked(labels_path, |dims| match dims {
        [n] if *n == count => Ok(()),
        [n] => Err(format!(
            "{n} labels for the {count} images of {}",
            images_path.display()
        )),
        _ => Err(format!("labels must have 1 dimension, found {dims:?}")),
    })?;
    let mut label_values = labels.data;
    for (i, l) in label_values.iter_mut().enumerate() {
        match l.checked_sub(label_offset) {
            Some(v) if (v as usize) < classes => *l = v,
            _ => {
                return Err(DataError::format(
                    labels_path,
                    format!(
                        "label {l} at index {i} is outside {label_offset}..{} ({classes} classes)",
                        classes + label_offset as usize,
                    ),
                ))
            }
        }
    }
    Ok(ImageSet {
        pixels: images.data,
        labels: label_values,
        channels: 1,
        rows: images.dims[1],
        cols: images.dims[2],
        classes,
        features: Vec::new(),
    })
}

/// Load one split of an MNIST-format folder whose labels lie in `0..classes`.
///
/// Accepts the `-idx3-ubyte` and `.idx3-ubyte` spellings, raw or `.gz`, and `t10k` or
/// `test` for the test split.
pub fn load_mnist_dir(dir: &Path, split: DataSplit, classes: usize) -> Result<ImageSet, DataError> {
    let info = dataset("mnist")?;
    let (images_file, labels_file) = info.split_files(split);
    let missing = |file: &DataFile| DataError::Missing {
        dir: dir.to_path_buf(),
        what: format!("{} {}", split.name(), kind(file)),
        candidates: file_spellings(file).join(", "),
        dataset: "mnist".into(),
    };
    let images = find_file(dir, &images_file).ok_or_else(|| missing(&images_file))?;
    let labels = find_file(dir, &labels_file).ok_or_else(|| missing(&labels_file))?;
    load_idx_pair(&images, &labels, classes, 0)
}

fn kind(file: &DataFile) -> &'static str {
    if file.format != FileFormat::Idx {
        "file"
    } else if file.name.contains("labels") {
        "labels"
    } else {
        "images"
    }
}
