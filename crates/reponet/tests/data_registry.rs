//! The dataset registry, the data root, the built-in sample, and EMNIST's orientation.

use std::path::Path;

use reponet::data::{
    dataset, load_dataset, load_sample, load_split_from, locate_dataset, write_idx, Checksum,
    DataRoot, DataSplit, RootOrigin, Source, DATASETS,
};

#[test]
fn registry_is_consistent() {
    let mut names: Vec<_> = DATASETS.iter().map(|d| d.name).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), DATASETS.len(), "duplicate names");
    for d in DATASETS {
        assert!(d.classes() >= 2, "{}", d.name);
        let mut classes: Vec<_> = d.class_names.to_vec();
        classes.sort();
        classes.dedup();
        assert_eq!(
            classes.len(),
            d.classes(),
            "{}: repeated class names",
            d.name
        );
        for f in d.files {
            match f.checksum {
                Checksum::Decompressed(s) | Checksum::Download(s) => {
                    assert!(s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                }
                Checksum::Unknown => {}
            }
        }
        if let Source::Files { mirrors } = d.source {
            assert!(!mirrors.is_empty() && mirrors.iter().all(|m| m.ends_with('/')));
        }
        // Every file accounted for, its counts adding up to the splits'.
        let counted = d.files_with_items();
        assert_eq!(counted.len(), d.files.len(), "{}", d.name);
        if let reponet::data::Layout::Cifar { .. } = d.layout {
            let batches = |split| -> usize {
                d.cifar_batches(split)
                    .iter()
                    .map(|f| counted.iter().find(|(c, _)| c == f).unwrap().1)
                    .sum()
            };
            assert_eq!(batches(reponet::data::DataSplit::Train), d.train_images);
            assert_eq!(batches(reponet::data::DataSplit::Test), d.test_images);
        }
    }
    let cifar100 = dataset("cifar100").unwrap();
    assert_eq!(
        (cifar100.classes(), cifar100.class_names[99]),
        (100, "worm")
    );
    let coarse = dataset("cifar100-coarse").unwrap();
    assert_eq!((coarse.classes(), coarse.files_dir()), (20, "cifar100"));
    assert_eq!(dataset("cifar10").unwrap().class_names[9], "truck");
    let balanced = dataset("EMNIST-balanced").unwrap();
    assert_eq!(balanced.classes(), 47);
    assert_eq!(
        balanced.class_names[36..].concat(),
        "abdefghnqrt",
        "EMNIST balanced's lower-case letters (emnist-balanced-mapping.txt)"
    );
    assert_eq!(
        (balanced.train_images, balanced.test_images),
        (112_800, 18_800)
    );
    assert!(balanced.transposed);
    assert_eq!(dataset("emnist-letters").unwrap().label_offset, 1);
    let msg = dataset("cifar").unwrap_err().to_string();
    assert!(
        msg.contains("unknown dataset 'cifar'") && msg.contains("fashion-mnist"),
        "{msg}"
    );
}

#[test]
fn builtin_sample_is_real_mnist_split_8000_2000() {
    let train = load_sample(DataSplit::Train).unwrap();
    let test = load_sample(DataSplit::Test).unwrap();
    assert_eq!((train.len(), test.len()), (8000, 2000));
    assert_eq!((train.rows, train.cols), (28, 28));
    // Every class is present in both splits in about MNIST's proportions (892..1135 per
    // class in the 10,000 test digits; a fifth of that, give or take, in the test split).
    for c in test.class_counts() {
        assert!((150..=300).contains(&c), "{c}");
    }
    // The pixel statistics of the sample are MNIST's (0.1307 / 0.3081), to 0.01.
    let n = train.normalization();
    assert!(
        (n.mean - 0.1307).abs() < 0.01 && (n.std - 0.3081).abs() < 0.01,
        "{n:?}"
    );
    assert_eq!(
        locate_dataset("mnist-sample", None).unwrap().describe(),
        "built in"
    );
}

#[test]
fn measured_normalisations_match_the_real_training_sets() {
    let shared = test_data_root();
    let places = [
        ("mnist", shared.join("mnist")),
        ("fashion-mnist", "/usr/share/datasets/fashion-mnist".into()),
    ];
    for (name, dir) in places {
        if !dir.exists() {
            eprintln!("skipped {name}: {} not found", dir.display());
            continue;
        }
        let set = load_dataset(name, DataSplit::Train, Some(&dir)).unwrap();
        let stated = dataset(name).unwrap().normalization.unwrap();
        let measured = set.normalization();
        // The registry rounds to 4 decimals.
        assert!(
            (stated.mean - measured.mean).abs() < 1e-4,
            "{name}: {measured:?}"
        );
        assert!(
            (stated.std - measured.std).abs() < 1e-4,
            "{name}: {measured:?}"
        );
    }
}

#[test]
fn data_dir_is_the_folder_or_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    reponet::data::write_synthetic_mnist(&root.join("mnist"), 30, 10, 5).unwrap();
    // As the root holding mnist/ ...
    let found = locate_dataset("mnist", Some(root)).unwrap();
    assert_eq!(found.describe(), root.join("mnist").display().to_string());
    // ... and as the folder itself.
    let found = locate_dataset("mnist", Some(&root.join("mnist"))).unwrap();
    assert_eq!(found.describe(), root.join("mnist").display().to_string());
    assert_eq!(found.load(DataSplit::Train).unwrap().len(), 30);
    // A flag that holds nothing: no fallback to the cache, and the message says how to fetch.
    let msg = locate_dataset("kmnist", Some(root))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&format!(
            "reponet data fetch kmnist --data-dir {}",
            root.display()
        )),
        "{msg}"
    );
    let r = DataRoot::resolve(Some(root)).unwrap();
    assert_eq!(r.origin, RootOrigin::Flag);
    // A system package's folder is tried too, after the flag's own folders.
    let fashion = dataset("fashion-mnist").unwrap();
    assert_eq!(
        r.candidates(fashion),
        vec![
            root.to_path_buf(),
            root.join("fashion-mnist"),
            "/usr/share/datasets/fashion-mnist".into()
        ]
    );
}

/// An asymmetric glyph: a vertical bar on the left and a foot to the right ("L").
fn glyph_l() -> Vec<u8> {
    let mut g = vec![0u8; 28 * 28];
    for r in 4..24 {
        g[r * 28 + 6] = 255;
    }
    for c in 6..18 {
        g[23 * 28 + c] = 255;
    }
    g
}

fn transposed(image: &[u8]) -> Vec<u8> {
    let mut t = vec![0u8; 28 * 28];
    for r in 0..28 {
        for c in 0..28 {
            t[c * 28 + r] = image[r * 28 + c];
        }
    }
    t
}

#[test]
fn emnist_images_load_upright_with_their_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let upright = glyph_l();
    // Stored the way EMNIST stores images: transposed.
    let stored: Vec<u8> = [transposed(&upright), upright.clone()].concat();
    for split in ["train", "test"] {
        let stem = format!("emnist-balanced-{split}");
        write_idx(
            &dir.join(format!("{stem}-images-idx3-ubyte.gz")),
            &[2, 28, 28],
            &stored,
        )
        .unwrap();
        write_idx(
            &dir.join(format!("{stem}-labels-idx1-ubyte.gz")),
            &[2],
            &[21, 46],
        )
        .unwrap();
    }
    let info = dataset("emnist-balanced").unwrap();
    let set = load_split_from(dir, info, DataSplit::Test).unwrap();
    assert_eq!(
        set.image(0),
        upright.as_slice(),
        "the stored-transposed L is upright"
    );
    assert_eq!(set.image(1), transposed(&upright).as_slice());
    assert_eq!(set.labels, vec![21, 46]);
    assert_eq!(
        (info.class_names[21], info.class_names[46]),
        ("L", "t"),
        "the 47-character mapping"
    );
    // Through the data root too.
    let located = locate_dataset("emnist-balanced", Some(dir)).unwrap();
    assert_eq!(located.load(DataSplit::Train).unwrap().classes, 47);

    // EMNIST letters counts its labels from 1: 0 is refused, 1..=26 become 0..=25.
    let letters = dataset("emnist-letters").unwrap();
    for (labels, ok) in [
        (vec![1u8, 26], true),
        (vec![0u8, 5], false),
        (vec![3u8, 27], false),
    ] {
        for split in ["train", "test"] {
            let stem = format!("emnist-letters-{split}");
            write_idx(
                &dir.join(format!("{stem}-images-idx3-ubyte")),
                &[2, 28, 28],
                &stored,
            )
            .unwrap();
            write_idx(
                &dir.join(format!("{stem}-labels-idx1-ubyte")),
                &[2],
                &labels,
            )
            .unwrap();
        }
        match load_split_from(dir, letters, DataSplit::Train) {
            Ok(set) => {
                assert!(ok, "{labels:?} accepted");
                assert_eq!(set.labels, vec![0, 25]);
            }
            Err(e) => {
                assert!(!ok, "{labels:?}: {e}");
                assert!(e.to_string().contains("outside 1..27"), "{e}");
            }
        }
    }
}

/// A data root holding real datasets (`mnist/`, ...) for the tests that use them:
/// `$REPONET_TEST_DATA`, else `shared/data` beside the checkout (docs/contributing.md, "Tests"); the
/// tests skip when it is absent.
fn test_data_root() -> std::path::PathBuf {
    std::env::var_os("REPONET_TEST_DATA").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        std::path::PathBuf::from,
    )
}

/// Data identity (issue 32): MNIST, Fashion-MNIST and KMNIST share their file names, so a
/// folder of one is found for the others; their test labels tell them apart, and a folder
/// of another dataset's files is refused by name, not trained on under the wrong classes.
/// Needs the real MNIST (`$REPONET_TEST_DATA/mnist`) and Debian's Fashion-MNIST.
#[test]
fn a_folder_of_another_datasets_files_is_refused_by_name() {
    let mnist = test_data_root().join("mnist");
    let fashion = Path::new("/usr/share/datasets/fashion-mnist");
    if !mnist.join("t10k-labels-idx1-ubyte.gz").exists() {
        eprintln!("skipped: no real MNIST in {}", mnist.display());
        return;
    }
    let err = reponet::data::locate_dataset("fashion-mnist", Some(&mnist))
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    if fashion.exists() {
        // Debian's copy is a candidate too, whatever --data-dir says: it is found instead.
        assert_eq!(err, "");
    } else {
        assert!(
            err.contains("holds mnist's files, not fashion-mnist's")
                && err.contains("--dataset mnist"),
            "{err}"
        );
    }
    // The MNIST folder is still MNIST, and KMNIST is not found there.
    reponet::data::locate_dataset("mnist", Some(&mnist)).unwrap();
    let err = reponet::data::locate_dataset("kmnist", Some(&mnist))
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(err.contains("holds mnist's files, not kmnist's"), "{err}");
    if fashion.exists() {
        let err = reponet::data::locate_dataset("mnist", Some(fashion))
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string());
        assert!(
            err.contains("holds fashion-mnist's files, not mnist's"),
            "{err}"
        );
    }
}
