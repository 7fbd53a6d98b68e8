//! Recognising image files with a trained run, and answering "unknown" for what is far from
//! every class: a feature whose angle to its nearest class vertex (or class weight) exceeds
//! a threshold belongs to none of the classes the run knows.
//!
//! The threshold comes from the training data: the given percentile (default 95) of the
//! angles between the training features and their own class's vertex, so that that share of
//! the known classes' training images would be accepted. 95 rather than 99: the last
//! percent of training images lie far from every vertex (73.9 deg for a fixed simplex after
//! 2 MNIST epochs), and a threshold there rejected no unseen class at all
//! (results/unknown). It is computed once per run and percentile and kept in
//! `RUN/unknown-threshold.json` (with the weights' SHA-256, so a retrained model recomputes
//! it).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use burn::tensor::Device;

use super::embeddings::{embed_split, unlabelled};
use super::AnalysisError;
use crate::data::{decode_images, DataSplit, ImageSet, ImageShape};
use crate::device::Compute;
use crate::nn::Network;
use crate::train::{extract_features, ResolvedConfig, RunDir};

/// The default percentile of the training angles that sets the threshold.
pub const DEFAULT_PERCENTILE: f64 = 95.0;

/// How the "unknown" threshold is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// This percentile (0-100) of the training features' angles to their own class.
    Percentile(f64),
    /// This angle, in degrees.
    Degrees(f64),
}

/// What one image is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// The image file.
    pub file: PathBuf,
    /// The class it is recognised as, or `None`: unknown (beyond the threshold).
    pub class: Option<String>,
    /// The nearest class, recognised or not.
    pub nearest: String,
    /// Index of the nearest class.
    pub nearest_index: usize,
    /// Cosine between the feature and the nearest class's vertex (or weight).
    pub cosine: f64,
    /// The angle between them, degrees.
    pub angle_degrees: f64,
}

/// Predictions for a set of files, with the threshold they were judged by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Predictions {
    /// Angles beyond this many degrees are unknown.
    pub threshold_degrees: f64,
    /// How the threshold was set.
    pub threshold_from: String,
    /// One per file read, in order.
    pub predictions: Vec<Prediction>,
    /// Files left out because they did not decode (with `skip_bad`), and why.
    pub skipped: Vec<SkippedFile>,
}

/// A file that did not decode, left out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedFile {
    /// The file.
    pub file: PathBuf,
    /// What was wrong with it.
    pub problem: String,
}

/// Recognise the images in `files` (PNG or JPEG, any size and colour: converted to the
/// run's input shape, see [`crate::data::read_image`]) with the model of `run_dir`. A file that does not
/// decode is an error naming it, or with `skip_bad` left out and listed in
/// [`Predictions::skipped`].
pub fn predict_files(
    run_dir: &Path,
    files: &[PathBuf],
    threshold: Threshold,
    skip_bad: bool,
    compute: &Compute,
) -> Result<Predictions, AnalysisError> {
    let predictor = Predictor::open(run_dir, threshold, compute)?;
    if predictor.config.request.model.takes_features() {
        return Err(AnalysisError::OtherInput(format!(
            "{} was trained on precomputed features ({}): give --features FILE, features from the same backbone",
            run_dir.display(),
            predictor.config.request.dataset
        )));
    }
    let config = &predictor.config;
    let (set, read, skipped) = read_images_skipping(files, config.input, config.classes, skip_bad)?;
    Ok(predictor.predict(&set, read, skipped))
}

/// Recognise the rows of a features file (tensor `features`, `[n, d]`, float32 or float16,
/// as `reponet embed --model ... --weights ... --images ... --out FILE.safetensors` writes
/// it; rows named by its `files` metadata, else `FILE#row`) with a run trained on
/// precomputed features of the same backbone.
pub fn predict_features(
    run_dir: &Path,
    file: &Path,
    threshold: Threshold,
    compute: &Compute,
) -> Result<Predictions, AnalysisError> {
    let predictor = Predictor::open(run_dir, threshold, compute)?;
    let config = &predictor.config;
    if !config.request.model.takes_features() {
        return Err(AnalysisError::OtherInput(format!(
            "{} takes images, not features: give image files or folders",
            run_dir.display()
        )));
    }
    let crate::data::FeatureRows { values, dim, names } = crate::data::read_feature_rows(file)?;
    if dim != config.input.channels {
        return Err(AnalysisError::OtherInput(format!(
            "{}: rows of {dim} values, and {} was trained on {} (features of another backbone?)",
            file.display(),
            run_dir.display(),
            config.input.channels
        )));
    }
    let rows = values.len() / dim.max(1);
    let set = ImageSet::of_features(values, vec![0; rows], dim, config.classes);
    let names = match names {
        Some(n) if n.len() == rows => n,
        _ => (0..rows)
            .map(|r| PathBuf::from(format!("{}#{r}", file.display())))
            .collect(),
    };
    Ok(predictor.predict(&set, names, Vec::new()))
}

/// A run's model and its "unknown" threshold, ready to recognise.
struct Predictor {
    config: ResolvedConfig,
    model: Network,
    threshold_degrees: f64,
    threshold_from: String,
    device: Device,
}

impl Predictor {
    fn open(
        run_dir: &Path,
        threshold: Threshold,
        compute: &Compute,
    ) -> Result<Self, AnalysisError> {
        let run = RunDir::open(run_dir)?;
        let device = compute.device();
        let (config, model) = run.load_model_on(compute)?;
        let (threshold_degrees, threshold_from) = match threshold {
            Threshold::Degrees(d) => (d, format!("given: {d} deg")),
            Threshold::Percentile(p) => (
                threshold_of(&run, &config, &model, p, &device)?,
                format!("percentile {p} of the training features' angles to their class"),
            ),
        };
        Ok(Self {
            config,
            model,
            threshold_degrees,
            threshold_from,
            device,
        })
    }

    /// Predictions for `set`'s rows, named by `names`.
    fn predict(
        &self,
        set: &ImageSet,
        names: Vec<PathBuf>,
        skipped: Vec<SkippedFile>,
    ) -> Predictions {
        let config = &self.config;
        let classes = config.trained_class_names();
        let features = extract_features(&self.model, set, config.normalization, &self.device);
        let weights = self.model.class_unit_weights();
        let predictions = names
            .into_iter()
            .zip(features.chunks_exact(config.dim))
            .map(|(file, feature)| {
                let (nearest_index, cosine) = nearest(feature, &weights);
                let angle_degrees = cosine.clamp(-1.0, 1.0).acos().to_degrees();
                let name = classes[nearest_index].clone();
                Prediction {
                    file,
                    class: (angle_degrees <= self.threshold_degrees).then(|| name.clone()),
                    nearest: name,
                    nearest_index,
                    cosine,
                    angle_degrees,
                }
            })
            .collect();
        Predictions {
            threshold_degrees: self.threshold_degrees,
            threshold_from: self.threshold_from.clone(),
            predictions,
            skipped,
        }
    }
}

/// The `percentile` (0-100) of the angles between the run's training features and their own
/// class's vertex (or weight), in degrees: computed once, then read from
/// `RUN/unknown-threshold.json`.
pub fn unknown_threshold(
    run_dir: &Path,
    percentile: f64,
    compute: &Compute,
) -> Result<f64, AnalysisError> {
    let run = RunDir::open(run_dir)?;
    let (config, model) = run.load_model_on(compute)?;
    threshold_of(&run, &config, &model, percentile, &compute.device())
}

/// [`unknown_threshold`] of a run whose model is loaded already.
fn threshold_of(
    run: &RunDir,
    config: &ResolvedConfig,
    model: &Network,
    percentile: f64,
    device: &Device,
) -> Result<f64, AnalysisError> {
    if !(0.0..=100.0).contains(&percentile) {
        return Err(AnalysisError::OtherInput(format!(
            "percentile {percentile}: must be between 0 and 100"
        )));
    }
    #[derive(Serialize, Deserialize, PartialEq)]
    struct Cached {
        percentile: f64,
        degrees: f64,
        weights_sha256: String,
    }
    const CACHE: &str = "unknown-threshold.json";
    let sha = model.weights_sha256();
    // Thresholds of other weights (the run was trained again) are dropped.
    let mut cached: Vec<Cached> = run.read_json(CACHE).unwrap_or_default();
    cached.retain(|c| c.weights_sha256 == sha);
    if let Some(c) = cached.iter().find(|c| c.percentile == percentile) {
        return Ok(c.degrees);
    }
    let emb = embed_split(config, model, DataSplit::Train, None, device)?;
    let weights = model.class_unit_weights();
    let mut angles: Vec<f64> = (0..emb.len())
        .map(|i| {
            let w = &weights[emb.labels[i] as usize];
            cosine(emb.row(i), w).clamp(-1.0, 1.0).acos().to_degrees()
        })
        .collect();
    let degrees = percentile_of(&mut angles, percentile);
    cached.push(Cached {
        percentile,
        degrees,
        weights_sha256: sha,
    });
    run.write_json(CACHE, &cached)?;
    Ok(degrees)
}

/// The `p`-th percentile (0-100) of `values`, by linear interpolation between order
/// statistics (NumPy's default).
pub fn percentile_of(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let at = p / 100.0 * (values.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (at - lo as f64)
}

fn cosine(feature: &[f32], unit_weight: &[f64]) -> f64 {
    let norm = feature
        .iter()
        .map(|&x| x as f64 * x as f64)
        .sum::<f64>()
        .sqrt();
    let dot: f64 = feature
        .iter()
        .zip(unit_weight)
        .map(|(&x, w)| x as f64 * w)
        .sum();
    if norm > 0.0 {
        dot / norm
    } else {
        0.0
    }
}

/// The class whose weight is nearest (largest cosine) and that cosine.
fn nearest(feature: &[f32], weights: &[Vec<f64>]) -> (usize, f64) {
    weights.iter().map(|w| cosine(feature, w)).enumerate().fold(
        (0, f64::NEG_INFINITY),
        |best, (i, c)| if c > best.1 { (i, c) } else { best },
    )
}

/// `files` decoded to `shape` as one set (labels all 0), leaving out (with `skip_bad`) the
/// files that do not decode: the set, the files in it, and those left out with their
/// problem. All left out is an error.
fn read_images_skipping(
    files: &[PathBuf],
    shape: ImageShape,
    classes: usize,
    skip_bad: bool,
) -> Result<(ImageSet, Vec<PathBuf>, Vec<SkippedFile>), AnalysisError> {
    let (set, bad) = decode_images(&unlabelled(files), shape, classes, skip_bad)?;
    let skipped: Vec<SkippedFile> = bad
        .into_iter()
        .map(|b| SkippedFile {
            file: b.path,
            problem: b.problem,
        })
        .collect();
    if let (true, Some(first)) = (set.is_empty(), skipped.first()) {
        return Err(AnalysisError::NoImages(
            skipped.len(),
            first.problem.clone(),
        ));
    }
    let left_out: std::collections::HashSet<&PathBuf> = skipped.iter().map(|s| &s.file).collect();
    let read = files
        .iter()
        .filter(|f| !left_out.contains(f))
        .cloned()
        .collect();
    Ok((set, read, skipped))
}

/// How well the "unknown" answer tells classes never trained on from known ones, on a
/// hold-out run's test split (`--holdout-classes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenSet {
    /// The percentile of the training angles that set the threshold.
    pub percentile: f64,
    /// The threshold, degrees.
    pub threshold_degrees: f64,
    /// Test images of the known classes.
    pub known_images: usize,
    /// Of those, the share wrongly answered "unknown", percent.
    pub known_rejected_percent: f64,
    /// Test images of the held-out classes.
    pub unseen_images: usize,
    /// Of those, the share rightly answered "unknown", percent.
    pub unseen_rejected_percent: f64,
}

/// [`OpenSet`] of the hold-out run in `run_dir`, at the threshold of `percentile`; `None` for
/// a run that held no class out.
pub fn open_set(
    run_dir: &Path,
    percentile: f64,
    compute: &Compute,
) -> Result<Option<OpenSet>, AnalysisError> {
    let run = RunDir::open(run_dir)?;
    let device = compute.device();
    let (config, model) = run.load_model_on(compute)?;
    if config.held_out.is_empty() {
        return Ok(None);
    }
    let threshold_degrees = threshold_of(&run, &config, &model, percentile, &device)?;
    let request = &config.request;
    let all = config
        .locate_data(None)?
        .load(DataSplit::Test)?
        .limited(request.limit(DataSplit::Test));
    let weights = model.class_unit_weights();
    let rejected = |set: &ImageSet| {
        let features = extract_features(&model, set, config.normalization, &device);
        let far = features
            .chunks_exact(config.dim)
            .filter(|f| {
                nearest(f, &weights).1.clamp(-1.0, 1.0).acos().to_degrees() > threshold_degrees
            })
            .count();
        (set.len(), 100.0 * far as f64 / set.len().max(1) as f64)
    };
    let (known_images, known_rejected_percent) = rejected(&all.without_classes(&config.held_out));
    let (unseen_images, unseen_rejected_percent) = rejected(&all.only_classes(&config.held_out));
    Ok(Some(OpenSet {
        percentile,
        threshold_degrees,
        known_images,
        known_rejected_percent,
        unseen_images,
        unseen_rejected_percent,
    }))
}
