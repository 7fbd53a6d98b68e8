//! A dataset of one's own: PNG or JPEG images in a folder, one subfolder per class, named
//! `--dataset folder:PATH`.
//!
//! Two layouts: `PATH/train/CLASS/*` and `PATH/test/CLASS/*`, or one tree `PATH/CLASS/*`
//! split into train and test per class by a seeded fraction. Class names are the folder
//! names, sorted. Every image is decoded through the `image` crate, converted to grey or
//! RGB and resized to one shape (given, or the first training image's), so that images of
//! any size and colour make one set.

use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DataError, DataSplit, DatasetHeader, ImageSet, ImageShape};

/// `--dataset` values starting with this name a folder dataset.
pub const FOLDER_PREFIX: &str = "folder:";

/// The test share of a one-tree folder unless given.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;

/// Labels are bytes.
const MAX_CLASSES: usize = 256;

/// How a folder dataset becomes images: the options of `--dataset folder:PATH`, saved in
/// the run's configuration so that evaluation reads the same images.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FolderOptions {
    /// Every image resized to `[rows, cols]`; `None`: the first training image's size.
    #[serde(default)]
    pub image_size: Option<[usize; 2]>,
    /// 1 (grey) or 3 (RGB); `None`: the first training image's (grey or colour).
    #[serde(default)]
    pub channels: Option<usize>,
    /// For a one-tree folder, the share of each class's images kept for testing; `None`:
    /// [`DEFAULT_TEST_FRACTION`].
    #[serde(default)]
    pub test_fraction: Option<f64>,
    /// Seeds that split (the same split for every training seed, so runs compare).
    #[serde(default)]
    pub split_seed: u64,
    /// Skip (and count) images that do not decode, instead of stopping at the first.
    #[serde(default)]
    pub skip_bad_images: bool,
}

/// How the folder is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FolderLayout {
    /// `train/CLASS/*` and `test/CLASS/*`.
    TrainTest,
    /// `CLASS/*`, each class split by this test fraction.
    Split {
        /// The share of each class's images kept for testing.
        test_fraction: f64,
    },
}

/// An image that would not decode.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadImage {
    /// The file.
    pub path: PathBuf,
    /// What the decoder said.
    pub problem: String,
}

/// A folder dataset, scanned (file names only; images are decoded by [`ImageFolder::load`]).
#[derive(Debug, Clone)]
pub struct ImageFolder {
    /// The folder, absolute.
    pub root: PathBuf,
    /// Class names, sorted; a class's label is its index.
    pub class_names: Vec<String>,
    /// How the folder is laid out.
    pub layout: FolderLayout,
    /// The shape every image is converted to.
    pub shape: ImageShape,
    /// Files in the class folders that are not PNG or JPEG (ignored).
    pub ignored: Vec<PathBuf>,
    skip_bad_images: bool,
    train: Vec<(PathBuf, u8)>,
    test: Vec<(PathBuf, u8)>,
}

impl ImageFolder {
    /// Scan `root` (see the module docs): the classes, each split's files, and the shape,
    /// which unless given is read from the first training image by path.
    pub fn open(root: &Path, options: &FolderOptions) -> Result<Self, DataError> {
        let root = std::fs::canonicalize(root).map_err(|e| DataError::io(root, e))?;
        let (train_dir, test_dir) = (root.join("train"), root.join("test"));
        let mut ignored = Vec::new();
        let (layout, class_names, train, test) = match (train_dir.is_dir(), test_dir.is_dir()) {
            (true, true) => {
                let train = class_files(&train_dir, &mut ignored)?;
                refuse_empty_classes(&train_dir, &train)?;
                let test = class_files(&test_dir, &mut ignored)?;
                if let Some((name, _)) = test.iter().find(|(n, _)| !train.iter().any(|t| &t.0 == n))
                {
                    return Err(DataError::format(
                        &test_dir.join(name),
                        "a test class with no folder under train/: every class needs training images",
                    ));
                }
                let names: Vec<String> = train.iter().map(|(n, _)| n.clone()).collect();
                let files_of = |classes: Vec<(String, Vec<PathBuf>)>| {
                    let mut files = Vec::new();
                    for (name, paths) in classes {
                        let label = names
                            .iter()
                            .position(|n| *n == name)
                            .expect("a train class");
                        files.extend(paths.into_iter().map(|p| (p, label as u8)));
                    }
                    files
                };
                let (train, test) = (files_of(train), files_of(test));
                (FolderLayout::TrainTest, names, train, test)
            }
            (false, false) => {
                let test_fraction = options.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION);
                if !(0.0..1.0).contains(&test_fraction) {
                    return Err(DataError::format(
                        &root,
                        format!("test fraction {test_fraction}: must be in [0, 1)"),
                    ));
                }
                let classes = class_files(&root, &mut ignored)?;
                refuse_empty_classes(&root, &classes)?;
                let names = classes.iter().map(|(n, _)| n.clone()).collect();
                let (mut train, mut test) = (Vec::new(), Vec::new());
                for (label, (_, mut paths)) in classes.into_iter().enumerate() {
                    // Per class, so that every class keeps its share of training images.
                    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(
                        options.split_seed ^ (label as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    );
                    paths.shuffle(&mut rng);
                    let n_test = ((paths.len() as f64 * test_fraction).round() as usize)
                        .min(paths.len() - 1);
                    let mut kept: Vec<(PathBuf, u8)> =
                        paths.into_iter().map(|p| (p, label as u8)).collect();
                    test.extend(kept.drain(..n_test));
                    train.extend(kept);
                }
                (FolderLayout::Split { test_fraction }, names, train, test)
            }
            (has_train, _) => {
                let (found, missing) = if has_train {
                    ("train", "test")
                } else {
                    ("test", "train")
                };
                return Err(DataError::format(
                    &root,
                    format!("has {found}/ but no {missing}/: give both, or one folder per class and a test fraction"),
                ));
            }
        };
        let (mut train, mut test) = (train, test);
        train.sort();
        test.sort();
        // The first training image by path sets the shape unless it is given.
        let shape = shape_of(&root, &train, options)?;
        // Then a seeded order, not class by class, so that the first N images
        // (--limit-train) hold every class.
        let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(options.split_seed);
        train.shuffle(&mut rng);
        test.shuffle(&mut rng);
        Ok(Self {
            root,
            class_names,
            layout,
            shape,
            ignored,
            skip_bad_images: options.skip_bad_images,
            train,
            test,
        })
    }

    /// Class names and shape; no normalisation (measured on the training split).
    pub fn header(&self) -> DatasetHeader {
        DatasetHeader {
            class_names: self.class_names.clone(),
            shape: self.shape,
            normalization: None,
            mirrorable: true,
        }
    }

    /// The files of `split` with their labels, in a seeded order (`split_seed`).
    pub fn files(&self, split: DataSplit) -> &[(PathBuf, u8)] {
        match split {
            DataSplit::Train => &self.train,
            DataSplit::Test => &self.test,
        }
    }

    /// Decode one split (in parallel), in [`ImageFolder::files`]' order. An image that
    /// does not decode is an error naming it, or, with `skip_bad_images`, left out and
    /// returned.
    pub fn load(&self, split: DataSplit) -> Result<(ImageSet, Vec<BadImage>), DataError> {
        let (set, bad) = decode_images(
            self.files(split),
            self.shape,
            self.class_names.len(),
            self.skip_bad_images,
        )?;
        if split == DataSplit::Train && set.is_empty() {
            return Err(DataError::format(
                &self.root,
                "no training image could be read",
            ));
        }
        Ok((set, bad))
    }
}

/// Image files with their labels decoded to `shape` in parallel (the one loader of folder
/// datasets, `predict` and `embed`), in their order. A file that does not decode is an error
/// naming it, or, with `skip_bad`, left out and returned.
pub fn decode_images(
    files: &[(PathBuf, u8)],
    shape: ImageShape,
    classes: usize,
    skip_bad: bool,
) -> Result<(ImageSet, Vec<BadImage>), DataError> {
    // Decoded a chunk at a time, so that at most a chunk is held twice.
    const CHUNK: usize = 4096;
    let mut set = ImageSet {
        pixels: Vec::with_capacity(files.len() * shape.len()),
        labels: Vec::with_capacity(files.len()),
        channels: shape.channels,
        rows: shape.rows,
        cols: shape.cols,
        classes,
        features: Vec::new(),
    };
    let mut bad = Vec::new();
    for chunk in files.chunks(CHUNK) {
        let decoded: Vec<Result<Vec<u8>, DataError>> = chunk
            .par_iter()
            .map(|(path, _)| read_image(path, shape))
            .collect();
        for ((path, label), image) in chunk.iter().zip(decoded) {
            match image {
                Ok(pixels) => {
                    set.pixels.extend(pixels);
                    set.labels.push(*label);
                }
                Err(e) if skip_bad => bad.push(BadImage {
                    path: path.clone(),
                    problem: problem_of(e),
                }),
                Err(e) => return Err(e),
            }
        }
    }
    Ok((set, bad))
}

/// What `reponet data check folder:PATH` reports: every image decoded once.
#[derive(Debug, Clone, Serialize)]
pub struct FolderReport {
    /// The folder, absolute.
    pub root: PathBuf,
    /// Its layout.
    pub layout: FolderLayout,
    /// The shape training would read the images as.
    pub shape: ImageShape,
    /// Images per class and split.
    pub classes: Vec<ClassCount>,
    /// Image sizes found, commonest first.
    pub sizes: Vec<SizeCount>,
    /// Images stored grey.
    pub grey: usize,
    /// Images stored in colour.
    pub colour: usize,
    /// Images that do not decode.
    pub bad: Vec<BadImage>,
    /// Files that are not PNG or JPEG (ignored).
    pub ignored: Vec<PathBuf>,
}

/// One class's image counts.
#[derive(Debug, Clone, Serialize)]
pub struct ClassCount {
    /// The folder's name.
    pub name: String,
    /// Training images.
    pub train: usize,
    /// Test images.
    pub test: usize,
}

/// How many images have one size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeCount {
    /// Height.
    pub rows: usize,
    /// Width.
    pub cols: usize,
    /// Images of that size.
    pub images: usize,
}

impl ImageFolder {
    /// Decode every image (in parallel) and report what the folder holds.
    pub fn check(&self) -> FolderReport {
        let mut classes: Vec<ClassCount> = self
            .class_names
            .iter()
            .map(|name| ClassCount {
                name: name.clone(),
                train: 0,
                test: 0,
            })
            .collect();
        let all: Vec<(&PathBuf, u8, bool)> = self
            .train
            .iter()
            .map(|(p, l)| (p, *l, true))
            .chain(self.test.iter().map(|(p, l)| (p, *l, false)))
            .collect();
        let decoded: Vec<_> = all
            .par_iter()
            .map(|(path, _, _)| {
                decode(path).map(|i| (i.height(), i.width(), i.color().has_color()))
            })
            .collect();
        let (mut sizes, mut grey, mut colour, mut bad) =
            (Vec::<SizeCount>::new(), 0, 0, Vec::new());
        for ((path, label, train), result) in all.into_iter().zip(decoded) {
            match result {
                Ok((rows, cols, has_colour)) => {
                    let class = &mut classes[label as usize];
                    *(if train {
                        &mut class.train
                    } else {
                        &mut class.test
                    }) += 1;
                    let (rows, cols) = (rows as usize, cols as usize);
                    match sizes.iter_mut().find(|s| (s.rows, s.cols) == (rows, cols)) {
                        Some(size) => size.images += 1,
                        None => sizes.push(SizeCount {
                            rows,
                            cols,
                            images: 1,
                        }),
                    }
                    *(if has_colour { &mut colour } else { &mut grey }) += 1;
                }
                Err(e) => bad.push(BadImage {
                    path: path.clone(),
                    problem: problem_of(e),
                }),
            }
        }
        sizes.sort_by(|a, b| {
            b.images
                .cmp(&a.images)
                .then((a.rows, a.cols).cmp(&(b.rows, b.cols)))
        });
        FolderReport {
            root: self.root.clone(),
            layout: self.layout,
            shape: self.shape,
            classes,
            sizes,
            grey,
            colour,
            bad,
            ignored: self.ignored.clone(),
        }
    }
}

/// Write image sets as a folder dataset, `out/SPLIT/CLASS/NNNNNN.png` for each named split
/// (`out/CLASS/...` for an unnamed one), class folders named after `class_names` (`/` and
/// other characters a folder name cannot hold become `-`). Written beside `out` and renamed
/// into place, so `out` is complete or absent; an existing `out` is refused.
pub fn write_image_folder(
    out: &Path,
    splits: &[(&str, &ImageSet)],
    class_names: &[String],
) -> Result<(), DataError> {
    if out.exists() {
        return Err(DataError::io(
            out,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "exists already: refusing to write over it",
            ),
        ));
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".reponet-folder-")
        .tempdir_in(parent)
        .map_err(|e| DataError::io(parent, e))?;
    for (split, set) in splits {
        let dir = staging.path().join(split);
        let folder = |label: u8| {
            let name = class_names
                .get(label as usize)
                .cloned()
                .unwrap_or_else(|| label.to_string());
            dir.join(class_folder_name(&name))
        };
        for label in 0..set.classes as u8 {
            let path = folder(label);
            std::fs::create_dir_all(&path).map_err(|e| DataError::io(&path, e))?;
        }
        (0..set.len()).into_par_iter().try_for_each(|i| {
            let path = folder(set.labels[i]).join(format!("{i:06}.png"));
            let (rows, cols) = (set.rows as u32, set.cols as u32);
            let pixels = set.image(i);
            let saved = if set.channels == 1 {
                image::GrayImage::from_raw(cols, rows, pixels.to_vec())
                    .expect("sized")
                    .save(&path)
            } else {
                let plane = set.rows * set.cols;
                let rgb = (0..plane)
                    .flat_map(|j| (0..3).map(move |c| pixels[c * plane + j]))
                    .collect();
                image::RgbImage::from_raw(cols, rows, rgb)
                    .expect("sized")
                    .save(&path)
            };
            saved.map_err(|e| DataError::format(&path, e.to_string()))
        })?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(|e| DataError::io(out, e))
}

/// The folder a class named `name` is written to: `/` and other characters a folder name
/// cannot hold become `-` (Fashion-MNIST's `T-shirt/top` is `T-shirt-top`).
pub fn class_folder_name(name: &str) -> String {
    name.replace(['/', '\\', ':', '\0'], "-")
}

/// The class folders of `dir` (sorted, hidden ones left out) with their image files (sorted
/// by name); other files in them go to `ignored`.
fn class_files(
    dir: &Path,
    ignored: &mut Vec<PathBuf>,
) -> Result<Vec<(String, Vec<PathBuf>)>, DataError> {
    let mut classes = Vec::new();
    for entry in sorted_entries(dir)? {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !entry.is_dir() || name.starts_with('.') {
            continue;
        }
        let mut images = Vec::new();
        for file in sorted_entries(&entry)? {
            if is_image_file(&file) {
                images.push(file);
            } else if !file
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                ignored.push(file);
            }
        }
        classes.push((name, images));
    }
    if classes.is_empty() {
        return Err(DataError::format(
            dir,
            "no class folders: expected CLASS/*.png (or .jpg) under it, or train/CLASS/... and test/CLASS/...",
        ));
    }
    if classes.len() > MAX_CLASSES {
        return Err(DataError::format(
            dir,
            format!(
                "{} class folders: at most {MAX_CLASSES} classes",
                classes.len()
            ),
        ));
    }
    Ok(classes)
}

/// Every class needs a training image.
fn refuse_empty_classes(dir: &Path, classes: &[(String, Vec<PathBuf>)]) -> Result<(), DataError> {
    match classes.iter().find(|(_, files)| files.is_empty()) {
        Some((name, _)) => Err(DataError::format(
            &dir.join(name),
            "no .png, .jpg or .jpeg files: every class needs training images",
        )),
        None => Ok(()),
    }
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DataError::io(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| DataError::io(dir, e)))
        .collect::<Result<_, _>>()?;
    entries.sort();
    Ok(entries)
}

/// Whether `path` is a file named `.png`, `.jpg` or `.jpeg` (any case).
pub fn is_image_file(path: &Path) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    path.is_file() && matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
}

/// The shape images are converted to: the options' size and channels, the rest from the
/// first training image that decodes.
fn shape_of(
    root: &Path,
    train: &[(PathBuf, u8)],
    options: &FolderOptions,
) -> Result<ImageShape, DataError> {
    let mut first_error = None;
    let from_data = || {
        for (path, _) in train {
            match decode(path) {
                Ok(image) => {
                    let channels = if image.color().has_color() { 3 } else { 1 };
                    return Ok((channels, image.height() as usize, image.width() as usize));
                }
                Err(e) if options.skip_bad_images => {
                    first_error.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_error.unwrap_or_else(|| DataError::format(root, "no training images")))
    };
    let (channels, rows, cols) = match (options.channels, options.image_size) {
        (Some(c), Some([r, w])) => (c, r, w),
        _ => {
            let (c, r, w) = from_data()?;
            let [r, w] = options.image_size.unwrap_or([r, w]);
            (options.channels.unwrap_or(c), r, w)
        }
    };
    let shape = ImageShape {
        channels,
        rows,
        cols,
    };
    check_shape(shape).map_err(|problem| DataError::format(root, problem))?;
    Ok(shape)
}

/// Whether LeNet++ takes images of `shape`: 1 or 3 channels, sides of 8 to 1024 pixels.
pub fn check_shape(shape: ImageShape) -> Result<(), String> {
    let side = crate::nn::LeNetPlusPlus::MIN_SIDE..=1024;
    if !matches!(shape.channels, 1 | 3) {
        return Err(format!(
            "{} channels: images are grey (1) or RGB (3)",
            shape.channels
        ));
    }
    if !side.contains(&shape.rows) || !side.contains(&shape.cols) {
        return Err(format!(
            "image size {}x{}: LeNet++ takes sides of {} to {} pixels",
            shape.rows,
            shape.cols,
            side.start(),
            side.end()
        ));
    }
    Ok(())
}

fn decode(path: &Path) -> Result<image::DynamicImage, DataError> {
    let bad =
        |e: &dyn std::fmt::Display| DataError::format(path, format!("not a readable image: {e}"));
    image::ImageReader::open(path)
        .map_err(|e| DataError::io(path, e))?
        .with_guessed_format()
        .map_err(|e| DataError::io(path, e))?
        .decode()
        .map_err(|e| bad(&e))
}

/// The image at `path` (PNG or JPEG, any size and colour) as `shape`: converted to grey or
/// RGB, resized (triangle filter) where its size differs, channel planes in turn.
pub fn read_image(path: &Path, shape: ImageShape) -> Result<Vec<u8>, DataError> {
    let image = decode(path)?;
    let (rows, cols) = (shape.rows as u32, shape.cols as u32);
    let image = if (image.height(), image.width()) == (rows, cols) {
        image
    } else {
        image.resize_exact(cols, rows, image::imageops::FilterType::Triangle)
    };
    Ok(match shape.channels {
        1 => image.into_luma8().into_raw(),
        _ => {
            let rgb = image.into_rgb8().into_raw();
            let plane = (rows * cols) as usize;
            let mut planar = vec![0u8; 3 * plane];
            for (i, pixel) in rgb.chunks_exact(3).enumerate() {
                for (c, &v) in pixel.iter().enumerate() {
                    planar[c * plane + i] = v;
                }
            }
            planar
        }
    })
}

/// The image files among `paths`: files as given, and the `.png`, `.jpg` and `.jpeg` files
/// in folders and their subfolders, each folder's in sorted path order.
pub fn image_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, DataError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            images_under(path, &mut files)?;
        } else if path.is_file() && is_image_file(path) {
            files.push(path.clone());
        } else if path.is_file() {
            return Err(DataError::format(
                path,
                "not a PNG or JPEG file (by its name: .png, .jpg or .jpeg)",
            ));
        } else {
            return Err(DataError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
    }
    Ok(files)
}

/// The image files in `dir` and its subfolders, in sorted path order. Links to folders are
/// not followed (they could loop).
fn images_under(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), DataError> {
    for entry in sorted_entries(dir)? {
        let is_folder = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.is_dir());
        if is_folder {
            images_under(&entry, files)?;
        } else if is_image_file(&entry) {
            files.push(entry);
        }
    }
    Ok(())
}

fn problem_of(error: DataError) -> String {
    match error {
        DataError::Format { problem, .. } => problem,
        DataError::Io { source, .. } => source.to_string(),
        other => other.to_string(),
    }
}
