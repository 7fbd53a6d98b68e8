//! `export_run` writes a file another program can use: read back with the `safetensors`
//! crate (not reponet's writer), every tensor has the name, shape and values of the trained
//! network, the fixed head's rows are the polytope's vertices, and LeNet++ recomputed from
//! the file alone in float64 (written from PyTorch's definitions: convolution, PReLU, max
//! pooling, `fc(x) = x W^T + b`) gives the features reponet gives, within 1e-4 of their
//! largest value (float32 weights and float32 sums in reponet).

use std::collections::HashMap;

use burn::tensor::{Tensor, TensorData};
use reponet::analysis::export_run;
use reponet::data::{load_dataset, DataSplit};
use reponet::device::Compute;
use reponet::geometry::{Polytope, PolytopeKind};
use reponet::nn::HeadKind;
use reponet::train::{train, RunDir, SilentObserver, TrainConfig};
use safetensors::SafeTensors;

fn trained(dir: &std::path::Path, head: HeadKind) {
    let config = TrainConfig {
        dataset: "mnist-sample".into(),
        epochs: 1,
        batch_size: 32,
        limit_train: Some(64),
        limit_test: Some(32),
        polytope: PolytopeKind::Orthoplex,
        head,
        ..TrainConfig::paper_defaults(None)
    };
    train(
        &config,
        dir,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
}

/// A file's tensors: (shape, f32 values) by name.
type Tensors = HashMap<String, (Vec<usize>, Vec<f32>)>;

/// The tensors of a safetensors file, and its metadata.
fn read(bytes: &[u8]) -> (Tensors, HashMap<String, String>) {
    let (_, meta) = SafeTensors::read_metadata(bytes).unwrap();
    let file = SafeTensors::deserialize(bytes).unwrap();
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32, "{name}");
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (name, (view.shape().to_vec(), values))
        })
        .collect();
    (tensors, meta.metadata().clone().unwrap_or_default())
}

/// PyTorch's conv2d (5x5, padding 2, stride 1) + bias, then PReLU, in float64: `[c, h, w]`.
fn conv_prelu(x: &[f64], c: usize, size: usize, w: &[f32], b: &[f32], slope: f32) -> Vec<f64> {
    let o = b.len();
    let mut out = vec![0.0; o * size * size];
    for oc in 0..o {
        for y in 0..size {
            for xx in 0..size {
                let mut sum = b[oc] as f64;
                for ic in 0..c {
                    for ky in 0..5 {
                        for kx in 0..5 {
                            let (iy, ix) = (y + ky, xx + kx);
                            if iy < 2 || ix < 2 || iy - 2 >= size || ix - 2 >= size {
                                continue;
                            }
                            let v = x[(ic * size + iy - 2) * size + ix - 2];
                            sum += v * w[((oc * c + ic) * 5 + ky) * 5 + kx] as f64;
                        }
                    }
                }
                out[(oc * size + y) * size + xx] = if sum > 0.0 { sum } else { slope as f64 * sum };
            }
        }
    }
    out
}

fn max_pool(x: &[f64], c: usize, size: usize) -> Vec<f64> {
    let half = size / 2;
    let mut out = vec![0.0; c * half * half];
    for ch in 0..c {
        for y in 0..half {
            for xx in 0..half {
                let at = |dy: usize, dx: usize| x[(ch * size + 2 * y + dy) * size + 2 * xx + dx];
                out[(ch * half + y) * half + xx] =
                    at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1));
            }
        }
    }
    out
}

/// LeNet++ from the exported tensors alone.
fn features_from_file(t: &Tensors, image: &[f64]) -> Vec<f64> {
    let mut x = image.to_vec();
    let (mut c, mut size) = (1, 28);
    for i in 0..6 {
        let (shape, w) = &t[&format!("convs.{i}.weight")];
        let b = &t[&format!("convs.{i}.bias")].1;
        let slope = t[&format!("acts.{i}.weight")].1[0];
        x = conv_prelu(&x, c, size, w, b, slope);
        c = shape[0];
        if i % 2 == 1 {
            x = max_pool(&x, c, size);
            size /= 2;
        }
    }
    let (shape, w) = &t["fc.weight"];
    let b = &t["fc.bias"].1;
    (0..shape[0])
        .map(|j| {
            b[j] as f64
                + (0..shape[1])
                    .map(|i| w[j * shape[1] + i] as f64 * x[i])
                    .sum::<f64>()
        })
        .collect()
}

#[test]
fn an_exported_model_is_complete_and_computes_the_same_features() {
    let tmp = tempfile::tempdir().unwrap();
    for head in [HeadKind::Fixed, HeadKind::Learnable] {
        let run = tmp.path().join(head.to_string());
        trained(&run, head);
        let file = tmp.path().join(format!("{head}.safetensors"));
        let written = export_run(&run, &file, &Compute::default()).unwrap();
        let (tensors, meta) = read(&std::fs::read(&file).unwrap());

        // Every tensor, by name, shape and value; nothing else.
        let device = Compute::default().burn_device().unwrap();
        let (config, model) = RunDir::open(&run).unwrap().load_model(&device).unwrap();
        let expected = model.named_tensors();
        assert_eq!(written, expected);
        assert_eq!(tensors.len(), 6 * 3 + 2 + 1);
        for t in &expected {
            let (shape, values) = &tensors[&t.name];
            assert_eq!((shape, values), (&t.shape, &t.values), "{}", t.name);
        }
        // The 5-orthoplex for 10 classes: d = 5, 10 vertices, fc as PyTorch's [d, 1152].
        assert_eq!(tensors["convs.0.weight"].0, [32, 1, 5, 5]);
        assert_eq!(tensors["acts.5.weight"].0, [1]);
        assert_eq!(tensors["fc.weight"].0, [5, 1152]);
        assert_eq!(tensors["head.W"].0, [10, 5]);
        if head == HeadKind::Fixed {
            let polytope = Polytope::new(PolytopeKind::Orthoplex, 10).unwrap();
            let rows = polytope.vertices().iter().flatten().map(|&v| v as f32);
            assert!(rows.eq(tensors["head.W"].1.iter().copied()));
        }

        // What a user needs besides the weights.
        let names: Vec<String> = serde_json::from_str(&meta["class_names"]).unwrap();
        assert_eq!(names.len(), 10);
        assert_eq!(meta["head"], head.to_string());
        assert_eq!(meta["polytope"], "orthoplex");
        let (mean, std): (f64, f64) = (
            meta["normalization_mean"].parse().unwrap(),
            meta["normalization_std"].parse().unwrap(),
        );
        assert_eq!(
            (mean, std),
            (config.normalization.mean, config.normalization.std)
        );
        assert_eq!(meta["weights_sha256"], model.weights_sha256());

        // The same features from the file alone, on two real test digits.
        let digits = load_dataset("mnist-sample", DataSplit::Test, None).unwrap();
        for i in 0..2 {
            let pixels = &digits.pixels[i * 784..(i + 1) * 784];
            let image: Vec<f64> = pixels
                .iter()
                .map(|&p| (p as f64 / 255.0 - mean) / std)
                .collect();
            let ours: Vec<f32> = model
                .features(Tensor::from_data(
                    TensorData::new(image.iter().map(|&v| v as f32).collect(), [1, 1, 28, 28]),
                    &device,
                ))
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            let theirs = features_from_file(&tensors, &image);
            let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (a, b) in ours.iter().zip(&theirs) {
                assert!(
                    (*a as f64 - b).abs() <= 1e-4 * scale,
                    "{ours:?} vs {theirs:?}"
                );
            }
        }
    }
}
