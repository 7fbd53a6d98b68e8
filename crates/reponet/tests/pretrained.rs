//! Pretrained weights: files read as PyTorch and safetensors write them (float32 and
//! float16, wrapped names), every missing, extra and misshapen tensor named, and training
//! that starts from them, frozen or not. PyTorch's own files and features are compared in
//! crates/reponet-cli/tests/pretrained.rs (where torch is installed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use reponet::data::{load_dataset, write_image_folder, DataSplit, FolderOptions, ImageShape};
use reponet::nn::pretrained::{WeightFile, WeightsError};
use reponet::nn::{built_apart, Backbone, ModelKind, NamedTensor, ResNet, Stem};
use reponet::train::{train, Freeze, InputNorm, RunDir, SilentObserver, TrainConfig, TrainError};
use safetensors::{serialize, Dtype, View};

const RGB32: ImageShape = ImageShape {
    channels: 3,
    rows: 32,
    cols: 32,
};

/// resnet18's tensors under torchvision's names, drawn from `seed` (the projection to d
/// and its batch norm left out, as torchvision has neither).
fn torchvision_tensors(seed: u64) -> Vec<NamedTensor> {
    let device = Device::flex();
    let spec = ModelKind::Resnet18.resnet().unwrap();
    // Seeded under the lock seeded networks are built under: the tests run side by side.
    built_apart(|| {
        device.seed(seed);
        ResNet::new(&spec, Stem::Imagenet, 9, RGB32, &device)
    })
    .named_tensors()
    .into_iter()
    .filter(|t| !t.name.starts_with("fc"))
    .collect()
}

struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// A safetensors file as PyTorch's `save_file(model.state_dict())` writes one: the tensors
/// (float32, or float16 with `half`) under `prefix`, a 1000-way classifier, and the int64
/// batch counters.
fn write_weights(path: &Path, tensors: &[NamedTensor], prefix: &str, half: bool) {
    let mut raw = BTreeMap::new();
    for t in tensors {
        let (dtype, bytes) = if half {
            let b = t
                .values
                .iter()
                .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                .collect();
            (Dtype::F16, b)
        } else {
            (
                Dtype::F32,
                t.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            )
        };
        raw.insert(
            format!("{prefix}{}", t.name),
            Raw {
                dtype,
                shape: t.shape.clone(),
                bytes,
            },
        );
        if t.name.ends_with("running_var") {
            let counter = t.name.replace("running_var", "num_batches_tracked");
            raw.insert(
                format!("{prefix}{counter}"),
                Raw {
                    dtype: Dtype::I64,
                    shape: vec![],
                    bytes: 7i64.to_le_bytes().to_vec(),
                },
            );
        }
    }
    for (name, shape) in [("fc.weight", vec![1000, 512]), ("fc.bias", vec![1000])] {
        let n: usize = shape.iter().product();
        raw.insert(
            format!("{prefix}{name}"),
            Raw {
                dtype: Dtype::F32,
                shape,
                bytes: vec![0; 4 * n],
            },
        );
    }
    let bytes = serialize(raw.iter().map(|(n, r)| (n.clone(), r)), None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn loaded(path: &Path) -> Result<Vec<NamedTensor>, WeightsError> {
    let weights = WeightFile::read(path)?;
    let device = Device::flex();
    let model = ModelKind::Resnet18;
    let backbone = built_apart(|| Backbone::new(model, Stem::Imagenet, 9, RGB32, &device))
        .with_pretrained(&weights, model)?;
    Ok(backbone.named_tensors())
}

/// Every tensor of the file in the network, exactly (float32) or to float16's rounding
/// (relative 2^-11), whatever prefix a training script wrapped the names in.
#[test]
fn weights_load_exactly_under_any_wrapper_and_in_half_precision() {
    let dir = tempfile::tempdir().unwrap();
    let source = torchvision_tensors(3);
    let by_name: BTreeMap<&str, &NamedTensor> =
        source.iter().map(|t| (t.name.as_str(), t)).collect();
    for (file, prefix, half) in [
        ("plain.safetensors", "", false),
        ("parallel.safetensors", "module.", false),
        ("checkpoint.safetensors", "state_dict.module.", false),
        ("half.safetensors", "", true),
    ] {
        let path = dir.path().join(file);
        write_weights(&path, &source, prefix, half);
        let got = loaded(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut compared = 0;
        for t in got.iter().filter(|t| !t.name.starts_with("fc")) {
            let want = by_name[t.name.as_str()];
            for (a, b) in t.values.iter().zip(&want.values) {
                let tolerance = if half {
                    b.abs() * 2f32.powi(-11) + 1e-7
                } else {
                    0.0
                };
                assert!((a - b).abs() <= tolerance, "{file} {}: {a} vs {b}", t.name);
            }
            compared += 1;
        }
        assert_eq!(compared, source.len(), "{file}");
    }
}

#[test]
fn missing_extra_and_misshapen_tensors_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = torchvision_tensors(1);
    tensors.retain(|t| t.name != "layer2.1.bn2.running_var");
    let wrong = tensors
        .iter_mut()
        .find(|t| t.name == "layer3.0.conv1.weight")
        .unwrap();
    wrong.shape = vec![256, 128, 1, 9];
    tensors.push(NamedTensor {
        name: "layer5.0.conv1.weight".into(),
        shape: vec![2],
        values: vec![0.0; 2],
    });
    let path = dir.path().join("odd.safetensors");
    write_weights(&path, &tensors, "", false);
    let message = loaded(&path).unwrap_err().to_string();
    for words in [
        "odd.safetensors",
        "not a resnet18",
        "1 missing: layer2.1.bn2.running_var",
        "layer3.0.conv1.weight is [256, 128, 1, 9] in the file, [256, 128, 3, 3] in the resnet18",
        "1 not in the model: layer5.0.conv1.weight",
    ] {
        assert!(message.contains(words), "{words:?} not in: {message}");
    }
    // A file that is neither format, and an empty one.
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"hello").unwrap();
    let message = WeightFile::read(&junk).unwrap_err().to_string();
    assert!(
        message.contains("junk.pth") && message.contains("neither a PyTorch file"),
        "{message}"
    );
}

/// A colour folder dataset of 3 classes (mnist-sample's 0s, 1s and 2s as RGB, 32 x 32): a
/// simplex of d = 2, as with 2 classes the unit features of d = 1 have no gradient.
fn rgb_folder(dir: &Path) -> PathBuf {
    let out = dir.join("photos");
    let keep = |set: reponet::data::ImageSet| {
        let mut three = set.only_classes(&[0, 1, 2]).truncated(48);
        three.classes = 3;
        three
    };
    let train = keep(load_dataset("mnist-sample", DataSplit::Train, None).unwrap());
    let test = keep(load_dataset("mnist-sample", DataSplit::Test, None).unwrap());
    write_image_folder(
        &out,
        &[("train", &train), ("test", &test)],
        &["zero".into(), "one".into(), "two".into()],
    )
    .unwrap();
    out
}

fn config(dataset: &Path, weights: &Path, freeze: Freeze) -> TrainConfig {
    TrainConfig {
        dataset: format!("folder:{}", dataset.display()),
        folder: FolderOptions {
            image_size: Some([32, 32]),
            channels: Some(3),
            ..FolderOptions::default()
        },
        epochs: 1,
        batch_size: 16,
        weights: Some(weights.to_path_buf()),
        freeze,
        input_norm: InputNorm::Imagenet,
        ..TrainConfig::paper_defaults(None).with_model(ModelKind::Resnet18)
    }
}

/// A frozen backbone ends as it started, batch-norm statistics included; the projection
/// to d trains. Unfrozen, the backbone moves. Either way the run records the weights'
/// SHA-256, the imagenet stem and ImageNet's normalisation.
#[test]
fn training_starts_from_the_weights_and_freezing_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = rgb_folder(dir.path());
    let weights = dir.path().join("resnet18.safetensors");
    let source = torchvision_tensors(5);
    write_weights(&weights, &source, "", false);
    let start: BTreeMap<String, Vec<f32>> =
        source.into_iter().map(|t| (t.name, t.values)).collect();
    for freeze in [Freeze::Backbone, Freeze::None] {
        let out = dir.path().join(format!("run-{freeze}"));
        train(
            &config(&data, &weights, freeze),
            &out,
            false,
            &Default::default(),
            &mut SilentObserver,
        )
        .unwrap();
        let (resolved, model) = RunDir::open(&out)
            .unwrap()
            .load_model(&Device::flex())
            .unwrap();
        assert_eq!(resolved.request.stem, Stem::Imagenet);
        assert_eq!(resolved.normalization, InputNorm::IMAGENET);
        assert_eq!(resolved.weights_sha256.as_ref().map(String::len), Some(64));
        let tensors = model.backbone.named_tensors();
        let moved = tensors
            .iter()
            .filter(|t| start.get(&t.name).is_some_and(|v| v != &t.values))
            .count();
        let fc_moved = tensors.iter().any(|t| t.name == "fc.weight");
        assert!(fc_moved);
        match freeze {
            Freeze::Backbone => assert_eq!(moved, 0, "a frozen backbone changed"),
            // Every conv and batch-norm tensor (100 in resnet18) moves in 6 SGD steps.
            Freeze::None => assert_eq!(moved, start.len(), "only {moved} backbone tensors trained"),
        }
    }
    // Refused before a run folder exists: the wrong architecture, LeNet++, the cifar stem.
    let refused = |config: TrainConfig, words: &str| {
        let out = dir.path().join("refused");
        match train(
            &config,
            &out,
            false,
            &Default::default(),
            &mut SilentObserver,
        ) {
            Err(e) => assert!(e.to_string().contains(words), "{words:?} not in: {e}"),
            Ok(_) => panic!("trained with {config:?}"),
        }
        assert!(!out.exists());
    };
    let base = config(&data, &weights, Freeze::None);
    refused(
        TrainConfig {
            model: ModelKind::Resnet50,
            ..base.clone()
        },
        "these weights are not a resnet50",
    );
    refused(
        TrainConfig {
            model: ModelKind::LenetPlusPlus,
            ..base.clone()
        },
        "resnet18, resnet34 and resnet50",
    );
    refused(
        TrainConfig {
            stem: Stem::Cifar,
            ..base.clone()
        },
        "imagenet stem",
    );
    refused(
        TrainConfig {
            weights: Some(dir.path().join("absent.pth")),
            ..base
        },
        "absent.pth",
    );
}

/// Asks to stop once `after` steps are done.
struct StopAfter(usize, usize);

impl reponet::train::TrainObserver for StopAfter {
    fn on_step(&mut self, _: &reponet::train::StepProgress) {
        self.1 += 1;
    }
    fn should_stop(&mut self) -> bool {
        self.1 >= self.0
    }
}

/// Interrupted after a step and resumed, a run from pretrained weights ends on the weights
/// of one never stopped, bit for bit, frozen (the freeze applied again on resume) or not.
#[test]
fn runs_from_pretrained_weights_resume_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let data = rgb_folder(dir.path());
    let weights = dir.path().join("resnet18.safetensors");
    write_weights(&weights, &torchvision_tensors(9), "", false);
    let final_weights = |out: &Path| {
        let (_, model) = RunDir::open(out)
            .unwrap()
            .load_model(&Device::flex())
            .unwrap();
        model.flat_weights()
    };
    for freeze in [Freeze::Backbone, Freeze::None] {
        let config = TrainConfig {
            epochs: 2,
            ..config(&data, &weights, freeze)
        };
        let whole = dir.path().join(format!("whole-{freeze}"));
        train(
            &config,
            &whole,
            false,
            &Default::default(),
            &mut SilentObserver,
        )
        .unwrap();
        let cut = dir.path().join(format!("cut-{freeze}"));
        let stopped = train(
            &config,
            &cut,
            false,
            &Default::default(),
            &mut StopAfter(2, 0),
        );
        assert!(
            matches!(stopped, Err(TrainError::Interrupted { .. })),
            "{stopped:?}"
        );
        reponet::train::resume(&cut, &Default::default(), &mut SilentObserver).unwrap();
        let (a, b) = (final_weights(&whole), final_weights(&cut));
        assert_eq!(a.len(), b.len());
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "{freeze}: resumed weights differ"
        );
    }
}

/// A features file: 3 well-separated Gaussian blobs in 16 dimensions, labels as `labels`
/// dtype, with class names.
fn write_blobs(path: &Path, labels: Dtype, extra: Option<(&str, Raw)>) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let mut raw = BTreeMap::new();
    for (split, n) in [("train", 90), ("test", 30)] {
        let mut values = Vec::new();
        let mut classes = Vec::new();
        for i in 0..n {
            let class = i % 3;
            for j in 0..16 {
                let centre = if j % 3 == class { 3.0 } else { 0.0 };
                values.push(centre + rng.random_range(-1.0f32..1.0));
            }
            classes.push(class as i64);
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v: &f32| v.to_le_bytes()).collect();
        raw.insert(
            format!("{split}.features"),
            Raw {
                dtype: Dtype::F32,
                shape: vec![n, 16],
                bytes,
            },
        );
        let bytes = match labels {
            Dtype::U8 => classes.iter().map(|&c| c as u8).collect(),
            _ => classes.iter().flat_map(|c| c.to_le_bytes()).collect(),
        };
        raw.insert(
            format!("{split}.labels"),
            Raw {
                dtype: labels,
                shape: vec![n],
                bytes,
            },
        );
    }
    if let Some((name, tensor)) = extra {
        raw.insert(name.to_string(), tensor);
    }
    let names = [(
        "class_names".to_string(),
        r#"["red","green","blue"]"#.to_string(),
    )];
    let bytes = serialize(
        raw.iter().map(|(n, r)| (n.clone(), r)),
        Some(names.into_iter().collect()),
    )
    .unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// `linear` and `mlp` learn a features file; eval and predict read it; features of the
/// wrong kind are refused by name.
#[test]
fn features_files_train_linear_and_mlp_probes() {
    use reponet::analysis::predict::{predict_features, Threshold};
    use reponet::data::FeatureFile;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blobs.safetensors");
    write_blobs(&file, Dtype::I64, None);
    let header = FeatureFile::open(&file).unwrap().header;
    assert_eq!(header.class_names, ["red", "green", "blue"]);
    assert_eq!(
        header.shape,
        ImageShape {
            channels: 16,
            rows: 1,
            cols: 1
        }
    );
    for model in [ModelKind::Linear, ModelKind::Mlp] {
        let config = TrainConfig {
            dataset: format!("features:{}", file.display()),
            polytope: reponet::geometry::PolytopeKind::Orthoplex,
            epochs: 20,
            batch_size: 10,
            lr: 0.01,
            hidden: (model == ModelKind::Mlp).then_some(32),
            hidden_layers: (model == ModelKind::Mlp).then_some(2),
            ..TrainConfig::paper_defaults(None).with_model(model)
        };
        let out = dir.path().join(format!("run-{model}"));
        let summary = train(
            &config,
            &out,
            false,
            &Default::default(),
            &mut SilentObserver,
        )
        .unwrap();
        assert!(
            summary.final_test_accuracy > 90.0,
            "{model}: {}",
            summary.final_test_accuracy
        );
        // The test rows as a rows file (no labels): predicted as their blob.
        let rows = dir.path().join("rows.safetensors");
        let test = FeatureFile::open(&file)
            .unwrap()
            .load(reponet::data::DataSplit::Test)
            .unwrap();
        let bytes: Vec<u8> = test.features.iter().flat_map(|v| v.to_le_bytes()).collect();
        let raw = Raw {
            dtype: Dtype::F32,
            shape: vec![30, 16],
            bytes,
        };
        std::fs::write(
            &rows,
            serialize([("features".to_string(), &raw)], None).unwrap(),
        )
        .unwrap();
        let p =
            predict_features(&out, &rows, Threshold::Degrees(180.0), &Default::default()).unwrap();
        let right = p
            .predictions
            .iter()
            .zip(&test.labels)
            .filter(|(p, &l)| p.nearest_index == l as usize)
            .count();
        assert!(right >= 27, "{model}: {right} of 30");
        assert!(p.predictions[0]
            .file
            .to_string_lossy()
            .ends_with("rows.safetensors#0"));
    }
    // What is refused, naming the file and the problem.
    let refused = |name: &str, labels: Dtype, extra: Option<(&str, Raw)>, words: &str| {
        let path = dir.path().join(name);
        write_blobs(&path, labels, extra);
        let e = FeatureFile::open(&path).unwrap_err().to_string();
        assert!(
            e.contains(name) && e.contains(words),
            "{words:?} not in: {e}"
        );
    };
    refused(
        "floats.safetensors",
        Dtype::F64,
        None,
        "give uint8, int32 or int64",
    );
    let nan = Raw {
        dtype: Dtype::F32,
        shape: vec![90, 16],
        bytes: [f32::NAN.to_le_bytes(); 1440].concat(),
    };
    refused(
        "nan.safetensors",
        Dtype::U8,
        Some(("train.features", nan)),
        "NaN",
    );
    let short = Raw {
        dtype: Dtype::U8,
        shape: vec![5],
        bytes: vec![0; 5],
    };
    refused(
        "short.safetensors",
        Dtype::U8,
        Some(("test.labels", short)),
        "test.labels is [5]",
    );
    let base = TrainConfig {
        dataset: format!("features:{}", file.display()),
        ..TrainConfig::paper_defaults(None).with_model(ModelKind::Linear)
    };
    let words = |config: TrainConfig| config.resolve().unwrap_err().to_string();
    assert!(words(TrainConfig {
        model: ModelKind::LenetPlusPlus,
        ..base.clone()
    })
    .contains("takes --model linear or --model mlp"));
    assert!(words(TrainConfig {
        augment: reponet::train::Augment::Crop,
        ..base.clone()
    })
    .contains("cannot be cropped"));
    assert!(words(TrainConfig {
        hidden: Some(8),
        ..base
    })
    .contains("applies to --model mlp"));
    let images = TrainConfig {
        dataset: "mnist-sample".into(),
        ..TrainConfig::paper_defaults(None).with_model(ModelKind::Linear)
    };
    assert!(words(images).contains("precomputed features"));
}

/// A pretrained backbone's features of a folder dataset, written as a features file, read
/// back with the folder's classes and sizes.
#[test]
fn backbone_features_of_a_folder_make_a_features_dataset() {
    use reponet::analysis::PretrainedBackbone;
    use reponet::data::{DataSplit, FeatureFile};
    let dir = tempfile::tempdir().unwrap();
    let data = rgb_folder(dir.path());
    let weights = dir.path().join("resnet18.safetensors");
    write_weights(&weights, &torchvision_tensors(2), "", false);
    let backbone = PretrainedBackbone::load(
        ModelKind::Resnet18,
        &weights,
        [32, 32],
        InputNorm::Imagenet,
        &Default::default(),
    )
    .unwrap();
    let out = dir.path().join("photos.safetensors");
    let dataset = format!("folder:{}", data.display());
    let (train_rows, test_rows) = backbone
        .write_feature_dataset(&dataset, &FolderOptions::default(), &out)
        .unwrap();
    let file = FeatureFile::open(&out).unwrap();
    assert_eq!(file.header.class_names, ["one", "two", "zero"]);
    assert_eq!(file.header.shape.channels, 512);
    let train_set = file.load(DataSplit::Train).unwrap();
    assert_eq!(
        (train_set.len(), file.load(DataSplit::Test).unwrap().len()),
        (train_rows, test_rows)
    );
    // Pooled ReLU outputs: never negative.
    assert!(train_set.features.iter().all(|&v| v >= 0.0));
}
