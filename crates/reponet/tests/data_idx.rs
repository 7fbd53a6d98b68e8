//! IDX reading: raw and gzip'd files, and a clear error naming the file for bad ones.

use std::path::Path;

use reponet::data::{load_mnist_dir, read_idx, write_idx, DataSplit};

fn write_raw(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn header(dims: &[u32]) -> Vec<u8> {
    let mut h = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        h.extend(d.to_be_bytes());
    }
    h
}

#[test]
fn raw_and_gzip_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..2 * 3 * 4).map(|i| i as u8).collect();
    for name in ["a-idx3-ubyte", "a-idx3-ubyte.gz"] {
        let path = dir.path().join(name);
        write_idx(&path, &[2, 3, 4], &data).unwrap();
        let arr = read_idx(&path).unwrap();
        assert_eq!(arr.dims, vec![2, 3, 4]);
        assert_eq!(arr.data, data);
    }
    // gzip is detected from the content, not the name.
    let gz = std::fs::read(dir.path().join("a-idx3-ubyte.gz")).unwrap();
    let renamed = dir.path().join("b-idx3-ubyte");
    write_raw(&renamed, &gz);
    assert_eq!(read_idx(&renamed).unwrap().data, data);
}

fn error_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-idx1-ubyte");
    write_raw(&path, bytes);
    let msg = read_idx(&path).unwrap_err().to_string();
    assert!(
        msg.contains("bad-idx1-ubyte"),
        "error does not name the file: {msg}"
    );
    msg
}

#[test]
fn malformed_files_are_clear_errors() {
    assert!(error_of(&[]).contains("too short"));
    assert!(error_of(&[1, 2, 8, 1, 0, 0, 0, 0]).contains("magic"));
    assert!(error_of(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0]).contains("element type 0x0d"));
    assert!(error_of(&[0, 0, 8, 0]).contains("0 dimensions"));
    assert!(error_of(&[0, 0, 8, 2, 0, 0]).contains("truncated in the dimension header"));
    let mut short = header(&[10]);
    short.extend([1, 2, 3]);
    let msg = error_of(&short);
    assert!(
        msg.contains("truncated") && msg.contains("need 10 bytes") && msg.contains("found 3"),
        "{msg}"
    );
    let mut long = header(&[2]);
    long.extend([1, 2, 3]);
    assert!(error_of(&long).contains("longer"));
    // A header claiming 2^32 * 2^32 elements is refused before any allocation.
    assert!(error_of(&header(&[u32::MAX, u32::MAX])).contains("claim more than"));
    // A gzip stream cut short.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.gz");
    write_idx(&path, &[1000], &vec![7u8; 1000]).unwrap();
    let gz = std::fs::read(&path).unwrap();
    let msg = error_of(&gz[..gz.len() / 2]);
    assert!(
        msg.contains("corrupt") || msg.contains("truncated"),
        "{msg}"
    );
    // A missing file.
    let msg = read_idx(&dir.path().join("nope")).unwrap_err().to_string();
    assert!(msg.contains("nope"), "{msg}");
}

#[test]
fn mnist_folder_checks_shapes_counts_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let msg = load_mnist_dir(d, DataSplit::Test, 10)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte") && msg.contains("--data-dir"),
        "{msg}"
    );

    write_idx(&d.join("t10k-images-idx3-ubyte"), &[3, 2, 2], &[0; 12]).unwrap();
    write_idx(&d.join("t10k-labels-idx1-ubyte"), &[2], &[1, 2]).unwrap();
    let msg = load_mnist_dir(d, DataSplit::Test, 10)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("2 labels for the 3 images"), "{msg}");

    write_idx(&d.join("t10k-labels-idx1-ubyte"), &[3], &[1, 12, 2]).unwrap();
    let msg = load_mnist_dir(d, DataSplit::Test, 10)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("label 12 at index 1"), "{msg}");

    write_idx(&d.join("t10k-labels-idx1-ubyte"), &[3], &[1, 9, 2]).unwrap();
    let set = load_mnist_dir(d, DataSplit::Test, 10).unwrap();
    assert_eq!((set.len(), set.rows, set.cols), (3, 2, 2));

    // Images must be 3-D.
    write_idx(&d.join("t10k-images-idx3-ubyte"), &[3, 4], &[0; 12]).unwrap();
    let msg = load_mnist_dir(d, DataSplit::Test, 10)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("3 dimensions"), "{msg}");
}

#[test]
fn real_mnist_when_present() {
    let dir = test_data_root().join("mnist");
    if !dir.exists() {
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    let train = load_mnist_dir(&dir, DataSplit::Train, 10).unwrap();
    let test = load_mnist_dir(&dir, DataSplit::Test, 10).unwrap();
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    assert_eq!((train.rows, train.cols), (28, 28));
    assert_eq!(train.class_counts()[1], 6742);
    assert_eq!(test.class_counts()[0], 980);
    // The training set's mean pixel is the 0.1307 the normalisation uses.
    let mean =
        train.pixels.iter().map(|&p| p as f64).sum::<f64>() / train.pixels.len() as f64 / 255.0;
    assert!((mean - 0.1307).abs() < 1e-4, "{mean}");
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
