//! The CIFAR binary reader on files written here in the published format (the real files
//! cannot be downloaded on this machine): channel order, both CIFAR-100 labels, several
//! batches in order, and every malformed file refused by name.

use std::path::Path;

use burn::tensor::Device;
use reponet::data::{
    images_to_tensor, read_cifar_files, read_cifar_names, CifarLabels, Normalization,
    CIFAR_IMAGE_BYTES,
};

/// A record: `labels`, then red = 10 + i, green = 100 + i, blue = 200 + (row * 32 + col) % 50
/// for image `i`, so every plane is told apart and the blue one has a row-major pattern.
fn record(labels: &[u8], i: u8) -> Vec<u8> {
    let mut r = labels.to_vec();
    r.extend(std::iter::repeat_n(10 + i, 1024));
    r.extend(std::iter::repeat_n(100 + i, 1024));
    r.extend((0..1024).map(|p| 200 + (p % 50) as u8));
    r
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn cifar10_batches_read_in_order_with_red_green_blue_planes() {
    let tmp = tempfile::tempdir().unwrap();
    let a: Vec<u8> = [record(&[3], 0), record(&[9], 1)].concat();
    let b = record(&[0], 2);
    let pa = write(tmp.path(), "data_batch_1.bin", &a);
    let pb = write(tmp.path(), "data_batch_2.bin", &b);
    let set = read_cifar_files(&[&pa, &pb], CifarLabels::Single).unwrap();
    assert_eq!(set.len(), 3);
    assert_eq!(set.labels, [3, 9, 0]);
    assert_eq!(
        (set.channels, set.rows, set.cols, set.classes),
        (3, 32, 32, 10)
    );
    let second = set.image(1);
    assert_eq!(second.len(), CIFAR_IMAGE_BYTES);
    assert!(second[..1024].iter().all(|&p| p == 11), "red plane first");
    assert!(second[1024..2048].iter().all(|&p| p == 101), "then green");
    // Blue at row 1, column 3: pixel 35 of the plane.
    assert_eq!(second[2048 + 32 + 3], 200 + 35);

    // As the network sees it: channel 0 is red, with red's own normalisation.
    let mut norm = Normalization::uniform(0.0, 1.0);
    norm.per_channel = Some(reponet::data::ChannelStats {
        mean: [0.0, 0.5, 0.0],
        std: [1.0, 1.0, 0.5],
    });
    let t = images_to_tensor(&set, &[1], norm, &Device::flex());
    assert_eq!(t.dims(), [1, 3, 32, 32]);
    let v: Vec<f32> = t.into_data().iter::<f32>().collect();
    let close = |a: f32, b: f64| assert!((a as f64 - b).abs() < 1e-6, "{a} vs {b}");
    close(v[0], 11.0 / 255.0);
    close(v[1024], 101.0 / 255.0 - 0.5);
    close(v[2048 + 35], (235.0 / 255.0) / 0.5);
}

#[test]
fn cifar100_records_carry_coarse_then_fine_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let bytes: Vec<u8> = [record(&[4, 72], 0), record(&[19, 99], 1)].concat();
    let path = write(tmp.path(), "train.bin", &bytes);
    let fine = read_cifar_files(&[&path], CifarLabels::Fine).unwrap();
    assert_eq!((fine.labels.clone(), fine.classes), (vec![72, 99], 100));
    let coarse = read_cifar_files(&[&path], CifarLabels::Coarse).unwrap();
    assert_eq!((coarse.labels.clone(), coarse.classes), (vec![4, 19], 20));
    assert_eq!(fine.pixels, coarse.pixels);
    assert!(fine.image(1)[..1024].iter().all(|&p| p == 11));
}

#[test]
fn malformed_cifar_files_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let message = |path: &Path, labels| read_cifar_files(&[path], labels).unwrap_err().to_string();
    // Truncated in the second record.
    let mut bytes = [record(&[1], 0), record(&[2], 1)].concat();
    bytes.truncate(3073 + 100);
    let truncated = write(tmp.path(), "data_batch_3.bin", &bytes);
    let m = message(&truncated, CifarLabels::Single);
    assert!(
        m.contains("data_batch_3.bin") && m.contains("not a whole number of CIFAR records"),
        "{m}"
    );
    // A CIFAR-100 file read as CIFAR-10: 3,074-byte records are no multiple of 3,073.
    let hundred = write(tmp.path(), "train.bin", &record(&[1, 2], 0));
    assert!(message(&hundred, CifarLabels::Single).contains("3073 bytes"));
    // A label past the last class.
    let bad = write(tmp.path(), "test_batch.bin", &record(&[10], 0));
    let m = message(&bad, CifarLabels::Single);
    assert!(
        m.contains("test_batch.bin") && m.contains("record 0 has label 10, outside 0..9"),
        "{m}"
    );
    let empty = write(tmp.path(), "empty.bin", &[]);
    assert!(message(&empty, CifarLabels::Single).contains("empty.bin"));
    let missing = tmp.path().join("data_batch_5.bin");
    assert!(message(&missing, CifarLabels::Single).contains("data_batch_5.bin"));

    let names = write(
        tmp.path(),
        "batches.meta.txt",
        b"airplane\nautomobile\nbird\n\n",
    );
    let m = read_cifar_names(&names, 10).unwrap_err().to_string();
    assert!(
        m.contains("batches.meta.txt") && m.contains("3 class names, expected 10"),
        "{m}"
    );
    let ten = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    let names = write(tmp.path(), "batches.meta.txt", ten.as_bytes());
    assert_eq!(read_cifar_names(&names, 10).unwrap()[9], "truck");
}

const CIFAR10_NAMES: &str =
    "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n";

/// A CIFAR-10 folder as the archive unpacks: five training batches of 2 records (labels
/// 2b and 2b + 1 for batch b), a test batch of 3, the names file.
fn write_cifar10(dir: &Path) {
    for b in 0..5u8 {
        let bytes = [record(&[2 * b], 2 * b), record(&[2 * b + 1], 2 * b + 1)].concat();
        write(dir, &format!("data_batch_{}.bin", b + 1), &bytes);
    }
    let test = [record(&[7], 20), record(&[8], 21), record(&[9], 22)].concat();
    write(dir, "test_batch.bin", &test);
    write(dir, "batches.meta.txt", CIFAR10_NAMES.as_bytes());
}

#[test]
fn a_cifar10_folder_loads_as_the_registry_dataset_batches_in_order() {
    use reponet::data::{locate_dataset, verify_dataset, DataSplit, FileStatus};
    let tmp = tempfile::tempdir().unwrap();
    write_cifar10(tmp.path());
    let data = locate_dataset("cifar10", Some(tmp.path())).unwrap();
    assert_eq!(data.header.class_names[0], "airplane");
    assert!(data.header.mirrorable);
    let train = data.load(DataSplit::Train).unwrap();
    assert_eq!(train.labels, (0..10).collect::<Vec<u8>>());
    assert!(
        train.image(9)[..1024].iter().all(|&p| p == 19),
        "batch 5's second image"
    );
    let test = data.load(DataSplit::Test).unwrap();
    assert_eq!(test.labels, [7, 8, 9]);
    assert_eq!(test.shape().to_string(), "3x32x32");

    // `data verify`: each file counted against the real dataset's sizes.
    let info = reponet::data::dataset("cifar10").unwrap();
    let checks = verify_dataset(tmp.path(), info);
    assert_eq!(checks.len(), 7);
    assert_eq!(
        checks[0].status,
        FileStatus::Corrupt("2 items, expected 10000".into())
    );
    assert!(checks[6].status.is_ok(), "{:?}", checks[6].status);

    // Another dataset's names: refused by name before any image is read.
    write(
        tmp.path(),
        "batches.meta.txt",
        "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n".as_bytes(),
    );
    let m = data.load(DataSplit::Train).unwrap_err().to_string();
    assert!(
        m.contains("batches.meta.txt")
            && m.contains("class 0 is named 'a', but cifar10 names it 'airplane'"),
        "{m}"
    );
    write(tmp.path(), "batches.meta.txt", CIFAR10_NAMES.as_bytes());
    std::fs::remove_file(tmp.path().join("data_batch_4.bin")).unwrap();
    let m = locate_dataset("cifar10", Some(tmp.path()))
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(m.contains("cifar10"), "{m}");
}

#[test]
fn cifar100_reads_fine_or_coarse_labels_from_the_same_files() {
    use reponet::data::{locate_dataset, DataSplit};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cifar100");
    std::fs::create_dir(&dir).unwrap();
    write(
        &dir,
        "train.bin",
        &[record(&[3, 30], 0), record(&[19, 99], 1)].concat(),
    );
    write(&dir, "test.bin", &record(&[0, 4], 2));
    let fine: String = reponet::data::dataset("cifar100")
        .unwrap()
        .class_names
        .join("\n");
    let coarse: String = reponet::data::dataset("cifar100-coarse")
        .unwrap()
        .class_names
        .join("\n");
    write(&dir, "fine_label_names.txt", fine.as_bytes());
    write(&dir, "coarse_label_names.txt", coarse.as_bytes());
    // A data root holding cifar100/: both labellings find it.
    let f = locate_dataset("cifar100", Some(tmp.path())).unwrap();
    assert_eq!(f.load(DataSplit::Train).unwrap().labels, [30, 99]);
    let c = locate_dataset("cifar100-coarse", Some(tmp.path())).unwrap();
    assert_eq!(c.load(DataSplit::Train).unwrap().labels, [3, 19]);
    assert_eq!(c.load(DataSplit::Test).unwrap().labels, [0]);
    assert_eq!(c.header.class_names[19], "vehicles_2");
}

/// A ResNet-20 trains on CIFAR-format files with flips, and the run records per-channel
/// normalisation measured on its training split.
#[test]
fn a_resnet_trains_on_cifar_files() {
    use reponet::nn::ModelKind;
    use reponet::train::{train, RunDir, SilentObserver, TrainConfig};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write_cifar10(&data);
    let config = TrainConfig {
        dataset: "cifar10".into(),
        data_dir: Some(data),
        epochs: 1,
        batch_size: 4,
        ..TrainConfig::paper_defaults(None).with_model(ModelKind::Resnet20)
    };
    let run = tmp.path().join("run");
    train(
        &config,
        &run,
        false,
        &reponet::device::Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    let resolved = RunDir::open(&run).unwrap().config().unwrap();
    assert_eq!(resolved.request.augment, reponet::train::Augment::CropFlip);
    let stats = resolved.normalization.per_channel.expect("per channel");
    // Red is 10..19 for the ten training images: mean 14.5 / 255.
    assert!((stats.mean[0] - 14.5 / 255.0).abs() < 1e-12, "{stats:?}");
    assert!((stats.mean[1] - 104.5 / 255.0).abs() < 1e-12, "{stats:?}");
}
