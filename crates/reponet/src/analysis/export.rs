//! A trained run as one safetensors file for use outside reponet: the network's weights under
//! PyTorch's names, the head (a fixed head's vertices included) and, as metadata, what it
//! takes to use them: the input normalisation, the class names, the polytope and the margin.

use std::collections::BTreeMap;
use std::path::Path;

use super::safetensors::{to_bytes, Data, Entry};
use super::AnalysisError;
use crate::device::Compute;
use crate::nn::NamedTensor;
use crate::train::{write_atomic, RunDir};

/// Write the model of `run_dir` to `out` (atomically) and return its tensors as written.
///
/// LeNet++'s names follow the PyTorch module of `benches/pytorch/margin_reponet.py`:
/// `convs.I.weight`, `convs.I.bias`, `acts.I.weight` (PReLU), `fc.weight` `[d, 1152]` (28 x 28
/// inputs), `fc.bias`. A ResNet's are torchvision's (`conv1.weight`, `bn1.running_mean`,
/// `layer1.0.conv1.weight`, `layer2.0.downsample.0.weight`, ...), with `fc` the layer to d.
/// Then the head as `head.W` `[outputs, d]` (fixed: the unit vertices; learnable: the trained matrix, which the
/// head normalises). Features are `fc(...)`; class scores the cosines between the feature and
/// the rows of `head.W`, the first `classes` rows being the classes in `class_names` order.
pub fn export_run(
    run_dir: &Path,
    out: &Path,
    compute: &Compute,
) -> Result<Vec<NamedTensor>, AnalysisError> {
    let run = RunDir::open(run_dir)?;
    let (config, model) = run.load_model_on(compute)?;
    let tensors = model.named_tensors();
    let request = &config.request;
    let text = |v: &dyn std::fmt::Display| v.to_string();
    let metadata: BTreeMap<String, String> = [
        (
            "format",
            format!("reponet {} with a cosine head", request.model),
        ),
        ("model", text(&request.model)),
        (
            "stem",
            text(&request.model.stem(request.stem, config.input)),
        ),
        ("reponet_version", env!("CARGO_PKG_VERSION").to_string()),
        (
            "input_shape",
            format!(
                "[{}, {}, {}]",
                config.input.channels, config.input.rows, config.input.cols
            ),
        ),
        ("normalization_mean", text(&config.normalization.mean)),
        ("normalization_std", text(&config.normalization.std)),
        (
            "normalization_per_channel",
            serde_json::to_string(&config.normalization.per_channel).expect("numbers"),
        ),
        (
            "class_names",
            serde_json::to_string(&config.trained_class_names()).expect("strings"),
        ),
        ("classes", text(&config.classes)),
        ("outputs", text(&config.num_outputs)),
        ("dim", text(&config.dim)),
        ("polytope", text(&request.polytope)),
        ("head", text(&request.head)),
        ("loss", text(&request.loss)),
        ("scale", text(&request.scale)),
        ("margin_degrees", text(&config.margin_degrees)),
        ("weights_sha256", model.weights_sha256()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let entries: Vec<Entry> = tensors
        .iter()
        .map(|t| Entry {
            name: &t.name,
            shape: t.shape.clone(),
            data: Data::F32(&t.values),
        })
        .collect();
    write_atomic(out, &to_bytes(&entries, &metadata))?;
    Ok(tensors)
}
