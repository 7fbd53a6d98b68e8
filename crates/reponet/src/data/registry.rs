//! The datasets reponet knows by name: classes, files, checksums, sources, normalisation.

use super::{DataError, DataSplit, Normalization};

/// One file of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFile {
    /// The (decompressed) file name; an IDX file on disk may also carry `.gz`.
    pub name: &'static str,
    /// How its integrity is checked.
    pub checksum: Checksum,
    /// What it holds.
    pub format: FileFormat,
}

/// The kinds of file a dataset is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// An IDX array, raw or gzip'd; its item count is its first dimension.
    Idx,
    /// CIFAR binary records: `label_bytes` label bytes, then 3 x 32 x 32 pixels; its item
    /// count is its records.
    CifarRecords {
        /// 1 (CIFAR-10) or 2 (CIFAR-100: coarse, then fine).
        label_bytes: usize,
    },
    /// Class names, one a line; its item count is its names.
    Names,
}

/// How a dataset's files make its splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `files` are train images, train labels, test images and test labels, in IDX.
    Idx,
    /// `files` are CIFAR binary batches (the training ones, then the test one) and the
    /// class-names file; `labels` says which label byte is the class.
    Cifar {
        /// Which label.
        labels: super::CifarLabels,
    },
}

/// What a file's SHA-256 is known of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-256 of the decompressed IDX bytes: holds whether the file is stored raw or gzip'd.
    Decompressed(&'static str),
    /// SHA-256 of the file as the source serves it (gzip'd); only the download is checked.
    Download(&'static str),
    /// No published checksum: `verify` checks structure and counts only.
    Unknown,
}

/// Where a dataset comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Each file as `<mirror><name>.gz`, mirrors tried in order.
    /// Each file as `<mirror><name>.gz`, mirrors tried in order.
    Files {
        /// Base addresses, each ending in `/`.
        mirrors: &'static [&'static str],
    },
    /// Members `<member_dir><name>.gz` of one zip archive (EMNIST), extracted while streaming.
    Zip {
        /// The archive's address.
        url: &'static str,
        /// The folder inside the archive holding the files.
        member_dir: &'static str,
        /// MD5 of the whole archive (the only checksum its publishers and torchvision give).
        md5: &'static str,
    },
    /// Members `<member_dir><name>` of one gzip'd tar archive (CIFAR), extracted once its
    /// MD5 is checked.
    TarGz {
        /// The archive's address.
        url: &'static str,
        /// The folder inside the archive holding the files.
        member_dir: &'static str,
        /// MD5 of the whole archive (the checksum its publishers give).
        md5: &'static str,
    },
    /// Compiled into the library (the MNIST sample).
    Embedded,
}

/// Everything reponet knows about one dataset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DatasetInfo {
    /// Registry name, as given to `--dataset`.
    pub name: &'static str,
    /// One line saying what the images are.
    pub title: &'static str,
    /// Name of each class, indexed by label.
    pub class_names: &'static [&'static str],
    /// Images in the training split.
    pub train_images: usize,
    /// Images in the test split.
    pub test_images: usize,
    /// Its files, in the order its layout says.
    pub files: &'static [DataFile],
    /// How the files make the splits.
    pub layout: Layout,
    /// Where it is downloaded from.
    pub source: Source,
    /// Pixel mean and std of the training set (pixels in [0, 1]), measured by us on the real
    /// files; `None` where we could not get the data: then it is computed from the training
    /// split when a run starts, and saved in the run's configuration.
    pub normalization: Option<Normalization>,
    /// Images stored column-major (EMNIST): transposed on load so they are upright.
    pub transposed: bool,
    /// Whether a mirrored image still shows its class (clothes do; digits, letters and
    /// kana do not): only then does `--augment crop-flip` apply.
    pub mirrorable: bool,
    /// Subtracted from every stored label (EMNIST letters counts from 1).
    pub label_offset: u8,
    /// Folders where a system package installs the files (Debian's `dataset-fashion-mnist`).
    pub system_dirs: &'static [&'static str],
    /// Licence and attribution to show with the data.
    pub licence: &'static str,
}

impl DatasetInfo {
    /// The folder name its files live in under a data root: its own name, but CIFAR-100's
    /// coarse labelling reads the files of `cifar100`.
    pub fn files_dir(&self) -> &'static str {
        match self.layout {
            Layout::Cifar {
                labels: super::CifarLabels::Coarse,
            } => "cifar100",
            _ => self.name,
        }
    }

    /// The shape of its images: CIFAR's 3 x 32 x 32, the MNIST family's 1 x 28 x 28.
    pub fn shape(&self) -> super::ImageShape {
        match self.layout {
            Layout::Cifar { .. } => super::ImageShape {
                channels: 3,
                rows: 32,
                cols: 32,
            },
            Layout::Idx => super::ImageShape::MNIST,
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// Images in `split`.
    pub fn images(&self, split: DataSplit) -> usize {
        match split {
            DataSplit::Train => self.train_images,
            DataSplit::Test => self.test_images,
        }
    }

    /// Each file with the number of items it must hold.
    pub fn files_with_items(&self) -> Vec<(DataFile, usize)> {
        let (train, test) = (self.train_images, self.test_images);
        match self.layout {
            Layout::Idx => {
                let f = self.files;
                vec![(f[0], train), (f[1], train), (f[2], test), (f[3], test)]
            }
            Layout::Cifar { .. } => {
                let batches = self.files.len() - 2;
                self.files
                    .iter()
                    .enumerate()
                    .map(|(i, &f)| match f.format {
                        FileFormat::Names => (f, self.classes()),
                        _ if i == batches => (f, test),
                        _ => (f, train / batches),
                    })
                    .collect()
            }
        }
    }

    /// The (images, labels) files of a split of an IDX dataset.
    pub fn split_files(&self, split: DataSplit) -> (DataFile, DataFile) {
        match split {
            DataSplit::Train => (self.files[0], self.files[1]),
            DataSplit::Test => (self.files[2], self.files[3]),
        }
    }

    /// A CIFAR dataset's binary batches of `split`.
    pub fn cifar_batches(&self, split: DataSplit) -> &'static [DataFile] {
        let batches = &self.files[..self.files.len() - 1];
        match split {
            DataSplit::Train => &batches[..batches.len() - 1],
            DataSplit::Test => &batches[batches.len() - 1..],
        }
    }
}

const DIGITS: &[&str] = &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION: &[&str] = &[
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// KMNIST's ten hiragana, in label order (its `kmnist_classmap.csv`).
const KMNIST: &[&str] = &["お", "き", "す", "つ", "な", "は", "ま", "や", "れ", "を"];
/// EMNIST balanced and bymerge: digits, upper case, then the 11 lower-case letters whose
/// shapes differ from their capitals (`emnist-balanced-mapping.txt`).
const EMNIST_47: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F", "G", "H", "I",
    "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "a", "b",
    "d", "e", "f", "g", "h", "n", "q", "r", "t",
];
const EMNIST_62: &[&str] = &[
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "A", "B", "C", "D", "E", "F", "G", "H", "I",
    "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "a", "b",
    "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u",
    "v", "w", "x", "y", "z",
];
/// EMNIST letters merges each letter's cases into one class (labels 1..=26 on disk).
const EMNIST_LETTERS: &[&str] = &[
    "Aa", "Bb", "Cc", "Dd", "Ee", "Ff", "Gg", "Hh", "Ii", "Jj", "Kk", "Ll", "Mm", "Nn", "Oo", "Pp",
    "Qq", "Rr", "Ss", "Tt", "Uu", "Vv", "Ww", "Xx", "Yy", "Zz",
];

const MNIST_LICENCE: &str = "MNIST: Yann LeCun, Corinna Cortes and Christopher J.C. Burges, \
     http://yann.lecun.com/exdb/mnist/, licensed CC BY-SA 3.0";
const EMNIST_LICENCE: &str = "EMNIST: Cohen, Afshar, Tapson and van Schaik (2017), NIST \
     Special Database 19 derivative, https://www.nist.gov/itl/products-and-services/emnist-dataset";

/// MNIST's training-set pixel mean and standard deviation (measured on the SPEC's files:
/// 0.130660 and 0.308108).
pub const MNIST_NORMALIZATION: Normalization = Normalization::uniform(0.1307, 0.3081);

const fn files(names: [&'static str; 4], checksums: [Checksum; 4]) -> [DataFile; 4] {
    [
        file(names[0], checksums[0], FileFormat::Idx),
        file(names[1], checksums[1], FileFormat::Idx),
        file(names[2], checksums[2], FileFormat::Idx),
        file(names[3], checksums[3], FileFormat::Idx),
    ]
}

const fn file(name: &'static str, checksum: Checksum, format: FileFormat) -> DataFile {
    DataFile {
        name,
        checksum,
        format,
    }
}

const MNIST_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

const fn emnist(
    name: &'static str,
    title: &'static str,
    class_names: &'static [&'static str],
    train_images: usize,
    test_images: usize,
    member_files: &'static [DataFile],
    label_offset: u8,
) -> DatasetInfo {
    DatasetInfo {
        name,
        title,
        class_names,
        train_images,
        test_images,
        files: member_files,
        layout: Layout::Idx,
        source: Source::Zip {
            url: "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip",
            member_dir: "gzip/",
            md5: "58c8d27c78d21e728a6bc7b3cc06412e",
        },
        normalization: None,
        transposed: true,
        mirrorable: false,
        label_offset,
        system_dirs: &[],
        licence: EMNIST_LICENCE,
    }
}

/// CIFAR-10's classes (`batches.meta.txt`).
const CIFAR10: &[&str] = &[
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
/// CIFAR-100's 100 classes (`fine_label_names.txt`).
const CIFAR100_FINE: &[&str] = &[
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
];
/// CIFAR-100's 20 superclasses (`coarse_label_names.txt`).
const CIFAR100_COARSE: &[&str] = &[
    "aquatic_mammals",
    "fish",
    "flowers",
    "food_containers",
    "fruit_and_vegetables",
    "household_electrical_devices",
    "household_furniture",
    "insects",
    "large_carnivores",
    "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores",
    "medium_mammals",
    "non-insect_invertebrates",
    "people",
    "reptiles",
    "small_mammals",
    "trees",
    "vehicles_1",
    "vehicles_2",
];
const CIFAR_LICENCE: &str = "CIFAR-10 and CIFAR-100: Alex Krizhevsky, Learning Multiple Layers of Features from Tiny Images (2009), https://www.cs.toronto.edu/~kriz/cifar.html";
const CIFAR10_SOURCE: Source = Source::TarGz {
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    member_dir: "cifar-10-batches-bin/",
    md5: "c32a1d4ab5d03f1284b67883e8d87530",
};
const CIFAR100_SOURCE: Source = Source::TarGz {
    url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    member_dir: "cifar-100-binary/",
    md5: "03b5dce01913d631647c71ecec9e9cb8",
};
const CIFAR10_RECORDS: FileFormat = FileFormat::CifarRecords { label_bytes: 1 };
const CIFAR100_RECORDS: FileFormat = FileFormat::CifarRecords { label_bytes: 2 };

/// A CIFAR-100 dataset labelled by `labels` (fine or coarse): the same two batches, and
/// the names file of those labels.
const fn cifar100(
    name: &'static str,
    title: &'static str,
    class_names: &'static [&'static str],
    files: &'static [DataFile],
    labels: super::CifarLabels,
) -> DatasetInfo {
    DatasetInfo {
        name,
        title,
        class_names,
        train_images: 50_000,
        test_images: 10_000,
        files,
        layout: Layout::Cifar { labels },
        source: CIFAR100_SOURCE,
        normalization: None,
        transposed: false,
        mirrorable: true,
        label_offset: 0,
        system_dirs: &[],
        licence: CIFAR_LICENCE,
    }
}

/// Every dataset reponet knows, by name.
pub const DATASETS: &[DatasetInfo] = &[
    DatasetInfo {
        name: "mnist",
        title: "MNIST handwritten digits",
        class_names: DIGITS,
        train_images: 60_000,
        test_images: 10_000,
        files: &files(
            MNIST_NAMES,
            [
                Checksum::Decompressed(
                    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                ),
                Checksum::Decompressed(
                    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                ),
                Checksum::Decompressed(
                    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                ),
                Checksum::Decompressed(
                    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
                ),
            ],
        ),
        layout: Layout::Idx,
        source: Source::Files {
            mirrors: &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
        },
        normalization: Some(MNIST_NORMALIZATION),
        transposed: false,
        mirrorable: false,
        label_offset: 0,
        system_dirs: &[],
        licence: MNIST_LICENCE,
    },
    DatasetInfo {
        name: "mnist-sample",
        title: "MNIST sample: the 10,000 MNIST test digits, split 8,000 / 2,000, built in",
        class_names: DIGITS,
        train_images: 8_000,
        test_images: 2_000,
        files: &files(
            ["sample", "sample", "sample", "sample"],
            [Checksum::Unknown; 4],
        ),
        layout: Layout::Idx,
        source: Source::Embedded,
        normalization: Some(MNIST_NORMALIZATION),
        transposed: false,
        mirrorable: false,
        label_offset: 0,
        system_dirs: &[],
        licence: MNIST_LICENCE,
    },
    DatasetInfo {
        name: "fashion-mnist",
        title: "Fashion-MNIST (Zalando) clothing images",
        class_names: FASHION,
        train_images: 60_000,
        test_images: 10_000,
        files: &files(
            MNIST_NAMES,
            [
                Checksum::Decompressed(
                    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                ),
                Checksum::Decompressed(
                    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                ),
                Checksum::Decompressed(
                    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                ),
                Checksum::Decompressed(
                    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
                ),
            ],
        ),
        layout: Layout::Idx,
        source: Source::Files {
            mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        },
        // Measured on Debian's dataset-fashion-mnist: 0.286041, 0.353024.
        normalization: Some(Normalization::uniform(0.2860, 0.3530)),
        transposed: false,
        mirrorable: true,
        label_offset: 0,
        system_dirs: &["/usr/share/datasets/fashion-mnist"],
        licence: "Fashion-MNIST: Zalando Research, https://github.com/zalandoresearch/fashion-mnist, MIT licence",
    },
    DatasetInfo {
        name: "kmnist",
        title: "Kuzushiji-MNIST cursive Japanese characters",
        class_names: KMNIST,
        train_images: 60_000,
        test_images: 10_000,
        // The published SHA-256 sums are of the .gz files as served.
        files: &files(
            MNIST_NAMES,
            [
                Checksum::Download(
                    "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
                ),
                Checksum::Download(
                    "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
                ),
                Checksum::Download(
                    "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
                ),
                Checksum::Download(
                    "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
                ),
            ],
        ),
        layout: Layout::Idx,
        source: Source::Files {
            mirrors: &["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"],
        },
        normalization: None,
        transposed: false,
        mirrorable: false,
        label_offset: 0,
        system_dirs: &[],
        licence: "KMNIST: ROIS-DS Center for Open Data in the Humanities, \
                  https://github.com/rois-codh/kmnist, CC BY-SA 4.0",
    },
    emnist(
        "emnist-balanced",
        "EMNIST balanced: 47 classes of digits and letters",
        EMNIST_47,
        112_800,
        18_800,
        &files(
            [
                "emnist-balanced-train-images-idx3-ubyte",
                "emnist-balanced-train-labels-idx1-ubyte",
                "emnist-balanced-test-images-idx3-ubyte",
                "emnist-balanced-test-labels-idx1-ubyte",
                    ],
            [Checksum::Unknown; 4],
        ),
        0,
    ),
    emnist(
        "emnist-byclass",
        "EMNIST byclass: 62 unbalanced classes",
        EMNIST_62,
        697_932,
        116_323,
        &files(
            [
                "emnist-byclass-train-images-idx3-ubyte",
                "emnist-byclass-train-labels-idx1-ubyte",
                "emnist-byclass-test-images-idx3-ubyte",
                "emnist-byclass-test-labels-idx1-ubyte",
                    ],
            [Checksum::Unknown; 4],
        ),
        0,
    ),
    emnist(
        "emnist-bymerge",
        "EMNIST bymerge: 47 unbalanced classes",
        EMNIST_47,
        697_932,
        116_323,
        &files(
            [
                "emnist-bymerge-train-images-idx3-ubyte",
                "emnist-bymerge-train-labels-idx1-ubyte",
                "emnist-bymerge-test-images-idx3-ubyte",
                "emnist-bymerge-test-labels-idx1-ubyte",
                    ],
            [Checksum::Unknown; 4],
        ),
        0,
    ),
    emnist(
        "emnist-digits",
        "EMNIST digits: 10 balanced classes",
        DIGITS,
        240_000,
        40_000,
        &files(
            [
                "emnist-digits-train-images-idx3-ubyte",
                "emnist-digits-train-labels-idx1-ubyte",
                "emnist-digits-test-images-idx3-ubyte",
                "emnist-digits-test-labels-idx1-ubyte",
                    ],
            [Checksum::Unknown; 4],
        ),
        0,
    ),
    emnist(
        "emnist-letters",
        "EMNIST letters: 26 classes, cases merged",
        EMNIST_LETTERS,
        124_800,
        20_800,
        &files(
            [
                "emnist-letters-train-images-idx3-ubyte",
                "emnist-letters-train-labels-idx1-ubyte",
                "emnist-letters-test-images-idx3-ubyte",
                "emnist-letters-test-labels-idx1-ubyte",
                    ],
            [Checksum::Unknown; 4],
        ),
        1,
    ),
    emnist(
        "emnist-mnist",
        "EMNIST mnist: 10 classes, MNIST-sized",
        DIGITS,
        60_000,
        10_000,
        &files(
            [
                "emnist-mnist-train-images-idx3-ubyte",
                "emnist-mnist-train-labels-idx1-ubyte",
                "emnist-mnist-test-images-idx3-ubyte",
                "emnist-mnist-test-labels-idx1-ubyte",
                    ],
            [Checksum::Unknown; 4],
        ),
        0,
    ),
    DatasetInfo {
        name: "cifar10",
        title: "CIFAR-10: 32 x 32 colour photos of 10 classes",
        class_names: CIFAR10,
        train_images: 50_000,
        test_images: 10_000,
        files: &[
            file("data_batch_1.bin", Checksum::Unknown, CIFAR10_RECORDS),
            file("data_batch_2.bin", Checksum::Unknown, CIFAR10_RECORDS),
            file("data_batch_3.bin", Checksum::Unknown, CIFAR10_RECORDS),
            file("data_batch_4.bin", Checksum::Unknown, CIFAR10_RECORDS),
            file("data_batch_5.bin", Checksum::Unknown, CIFAR10_RECORDS),
            file("test_batch.bin", Checksum::Unknown, CIFAR10_RECORDS),
            file("batches.meta.txt", Checksum::Unknown, FileFormat::Names),
        ],
        layout: Layout::Cifar {
            labels: super::CifarLabels::Single,
        },
        source: CIFAR10_SOURCE,
        normalization: None,
        transposed: false,
        mirrorable: true,
        label_offset: 0,
        system_dirs: &[],
        licence: CIFAR_LICENCE,
    },
    cifar100(
        "cifar100",
        "CIFAR-100: 32 x 32 colour photos of 100 classes",
        CIFAR100_FINE,
        &[
            file("train.bin", Checksum::Unknown, CIFAR100_RECORDS),
            file("test.bin", Checksum::Unknown, CIFAR100_RECORDS),
            file("fine_label_names.txt", Checksum::Unknown, FileFormat::Names),
        ],
        super::CifarLabels::Fine,
    ),
    cifar100(
        "cifar100-coarse",
        "CIFAR-100 by its 20 superclasses (the files of cifar100)",
        CIFAR100_COARSE,
        &[
            file("train.bin", Checksum::Unknown, CIFAR100_RECORDS),
            file("test.bin", Checksum::Unknown, CIFAR100_RECORDS),
            file("coarse_label_names.txt", Checksum::Unknown, FileFormat::Names),
        ],
        super::CifarLabels::Coarse,
    ),
];

/// The dataset called `name`, or an error listing the known names.
pub fn dataset(name: &str) -> Result<&'static DatasetInfo, DataError> {
    DATASETS
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| DataError::UnknownDataset {
            name: name.to_string(),
            known: DATASETS
                .iter()
                .map(|d| d.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}
