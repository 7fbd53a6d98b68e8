//! Pretrained weights: files read as PyTorch and safetensors write them (float32 and
//! float16, wrapped names), every missing, extra and misshapen tensor named, and training
//! that starts from them, frozen or not. PyTorch's own files and features are compared in
//! crates/reponet-cli/tests/pretrained.rs (where torch is installed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::tensor::Device;
use reponet::data::{load_dataset, write_image_folder, DataSplit, FolderOptions, ImageShape};
use reponet::nn::pretrained::{WeightFile, WeightsError};
use reponet::nn::{Backbone, ModelKind, NamedTensor, ResNet, Stem};
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
    device.seed(seed);
    let spec = ModelKind::Resnet18.resnet().unwrap();
    ResNet::new(&spec, Stem::Imagenet, 9, RGB32, &device)
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
    let backbone = Backbone::new(
        ModelKind::Resnet18,
        Stem::Imagenet,
        9,
        RGB32,
        &Device::flex(),
    )
    .with_pretrained(&weights, ModelKind::Resnet18)?;
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
