//! A run's d-dimensional features of a dataset split, and writing them as `.npy`, `.csv` or
//! `.safetensors` for other tools.

use crate::device::Compute;
use std::path::{Path, PathBuf};

use super::AnalysisError;
use crate::data::{decode_images, DataSplit};
use crate::nn::Network;
use crate::train::{extract_features, ResolvedConfig, RunDir};
use burn::tensor::Device;

/// Features of one split (or of image files), row-major, with their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    /// Feature dimension d: each row holds `dim` floats.
    pub dim: usize,
    /// The features, row-major, `len() * dim` floats.
    pub features: Vec<f32>,
    /// Class label of each row: a split's true label; for image files, which carry none,
    /// the nearest class (predicted); empty for a pretrained backbone's features of image
    /// files (no classes).
    pub labels: Vec<u8>,
    /// Name of each class, indexed by label.
    pub class_names: Vec<String>,
    /// The image file of each row ([`embed_images`]); empty for a dataset split.
    pub files: Vec<PathBuf>,
}

impl Embeddings {
    /// Number of embedded images.
    pub fn len(&self) -> usize {
        self.features.len() / self.dim.max(1)
    }

    /// Whether there are no embeddings.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Whether rows carry a label.
    fn labelled(&self) -> bool {
        !self.labels.is_empty()
    }

    /// The feature vector of image `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.dim..(i + 1) * self.dim]
    }

    /// Every row scaled to unit length (zero rows stay zero).
    pub fn normalized(mut self) -> Self {
        normalize_rows(&mut self.features, self.dim);
        self
    }
}

/// Scale every `dim`-long row of `features` to unit length, in float64; zero rows stay zero.
pub(crate) fn normalize_rows(features: &mut [f32], dim: usize) {
    for row in features.chunks_mut(dim) {
        let norm = row.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt();
        if norm > 0.0 {
            row.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
        }
    }
}

/// The features of `split` under the model of `run_dir`, on the run's own dataset with the
/// run's `--limit-*` applied, read from `data_dir` (default: the run's own data folder).
pub fn embed_run(
    run_dir: &Path,
    split: DataSplit,
    data_dir: Option<&Path>,
    compute: &Compute,
) -> Result<Embeddings, AnalysisError> {
    embed_run_with_config(run_dir, split, data_dir, compute).map(|(_, emb)| emb)
}

/// [`embed_run`], with the run's configuration it read.
pub(crate) fn embed_run_with_config(
    run_dir: &Path,
    split: DataSplit,
    data_dir: Option<&Path>,
    compute: &Compute,
) -> Result<(ResolvedConfig, Embeddings), AnalysisError> {
    let (config, model) = RunDir::open(run_dir)?.load_model_on(compute)?;
    let emb = embed_split(&config, &model, split, data_dir, &compute.device())?;
    Ok((config, emb))
}

/// The features of `split` under `model`, a run's network loaded already (see [`embed_run`]).
pub(crate) fn embed_split(
    config: &ResolvedConfig,
    model: &Network,
    split: DataSplit,
    data_dir: Option<&Path>,
    device: &Device,
) -> Result<Embeddings, AnalysisError> {
    let request = &config.request;
    let data = config.locate_data(data_dir)?;
    // A run trained without some classes: the classes it knows, relabelled as in training.
    let set = data
        .load(split)?
        .limited(request.limit(split))
        .without_classes(&config.held_out);
    Ok(Embeddings {
        dim: config.dim,
        features: extract_features(model, &set, config.normalization, device),
        labels: set.labels,
        class_names: config.trained_class_names(),
        files: Vec::new(),
    })
}

/// The features of image files (PNG or JPEG, any size and colour, read as the run's input
/// shape) under the model of `run_dir`, labelled with their nearest class.
pub fn embed_images(
    run_dir: &Path,
    files: &[PathBuf],
    compute: &Compute,
) -> Result<Embeddings, AnalysisError> {
    let (config, model) = RunDir::open(run_dir)?.load_model_on(compute)?;
    if config.request.model.takes_features() {
        return Err(AnalysisError::OtherInput(format!(
            "{} was trained on precomputed features: embed its dataset's splits (--split), or the backbone's features of images with --model and --weights",
            run_dir.display()
        )));
    }
    let device = compute.device();
    let set = decode_images(&unlabelled(files), config.input, config.classes, false)?.0;
    let features = extract_features(&model, &set, config.normalization, &device);
    let labels = model.classes_of_features(&features, config.dim, &device);
    Ok(Embeddings {
        dim: config.dim,
        features,
        labels,
        class_names: config.trained_class_names(),
        files: files.to_vec(),
    })
}

/// Image files labelled 0, for [`decode_images`].
pub(crate) fn unlabelled(files: &[PathBuf]) -> Vec<(PathBuf, u8)> {
    files.iter().map(|f| (f.clone(), 0)).collect()
}

/// Write `emb` to `path`, in the format its extension names, atomically:
/// - `.npy`: one structured array of shape `(n,)` with fields `features` (`<f4`, `(d,)`)
///   and `label` (`u1`): `a = np.load(path); a["features"], a["label"]`.
/// - `.csv`: a header `label,class,f0,...` (`file,label,...` for image files), then one row
///   per sample.
/// - `.safetensors`: tensors `features` (F32, `[n, d]`) and `labels` (U8, `[n]`), class
///   names (and image files) in the metadata.
pub fn write_embeddings(path: &Path, emb: &Embeddings) -> Result<(), AnalysisError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("npy") => npy(emb),
        Some("csv") => csv(emb),
        Some("safetensors") => safetensors(emb),
        _ => {
            return Err(AnalysisError::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    };
    Ok(crate::train::write_atomic(path, &bytes)?)
}

fn npy(emb: &Embeddings) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': [('features', '<f4', ({},)){}], 'fortran_order': False, 'shape': ({},), }}",
        emb.dim,
        if emb.labelled() {
            ", ('label', 'u1')"
        } else {
            ""
        },
        emb.len()
    );
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64
    // and ended by a newline (NPY format 1.0).
    let total = (10 + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - 10 - header.len() - 1));
    header.push('\n');
    let mut out = Vec::with_capacity(total + emb.len() * (4 * emb.dim + 1));
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for i in 0..emb.len() {
        for x in emb.row(i) {
            out.extend_from_slice(&x.to_le_bytes());
        }
        if emb.labelled() {
            out.push(emb.labels[i]);
        }
    }
    out
}

fn csv(emb: &Embeddings) -> Vec<u8> {
    let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let mut columns = Vec::new();
    if !emb.files.is_empty() {
        columns.push("file".to_string());
    }
    if emb.labelled() {
        columns.extend(["label".to_string(), "class".to_string()]);
    }
    columns.extend((0..emb.dim).map(|j| format!("f{j}")));
    let mut out = columns.join(",");
    out.push('\n');
    for i in 0..emb.len() {
        let mut row = Vec::with_capacity(columns.len());
        if let Some(file) = emb.files.get(i) {
            row.push(quoted(&file.display().to_string()));
        }
        if let Some(&label) = emb.labels.get(i) {
            let name = emb
                .class_names
                .get(label as usize)
                .map_or("", String::as_str);
            row.extend([label.to_string(), quoted(name)]);
        }
        row.extend(emb.row(i).iter().map(f32::to_string));
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

fn safetensors(emb: &Embeddings) -> Vec<u8> {
    use super::safetensors::{to_bytes, Data, Entry};
    let mut metadata = vec![(
        "class_names".to_string(),
        serde_json::to_string(&emb.class_names).expect("strings"),
    )];
    if !emb.files.is_empty() {
        metadata.push((
            "files".to_string(),
            serde_json::to_string(&emb.files).expect("paths"),
        ));
    }
    let mut entries = vec![Entry {
        name: "features",
        shape: vec![emb.len(), emb.dim],
        data: Data::F32(&emb.features),
    }];
    if emb.labelled() {
        entries.push(Entry {
            name: "labels",
            shape: vec![emb.len()],
            data: Data::U8(&emb.labels),
        });
    }
    to_bytes(&entries, &metadata.into_iter().collect())
}
