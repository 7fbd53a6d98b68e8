use std::path::Path;

use crate::device::Compute;
use serde::{Deserialize, Serialize};

use super::feature_geometry::{feature_geometry, FeatureGeometry};
use super::retrieval::{retrieval_metrics, RetrievalMetrics};
use super::AnalysisError;
use crate::data::{
    class_folder_name, dataset_header, locate_dataset_with, DataSplit, FolderOptions,
};
use crate::train::{extract_features, RunDir};

/// Accuracy of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassAccuracy {
    /// Class index (after any relabelling for held-out classes).
    pub class: usize,
    /// The dataset's name for the class (absent from evaluations before names existed).
    #[serde(default)]
    pub name: String,
    /// Test images of the class.
    pub images: usize,
    /// Of those, classified correctly.
    pub correct: usize,
    /// Percent; 0 for a class with no test image.
    pub accuracy: f64,
}

/// Test-set evaluation of a run; written to `eval.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// The run folder evaluated.
    pub run: String,
    /// The dataset whose test split this is (`""` in evaluations written before it was
    /// recorded: the run's own).
    #[serde(default)]
    pub dataset: String,
    /// Where the test data was read from.
    pub data_dir: String,
    /// Test images evaluated (of the classes trained on).
    pub images: usize,
    /// Of those, classified correctly.
    pub correct: usize,
    /// Percent.
    pub accuracy: f64,
    /// Accuracy and geometry of each class.
    pub per_class: Vec<ClassAccuracy>,
    /// Angles of the L2-normalised test features (degrees).
    pub geometry: FeatureGeometry,
    /// Retrieval and verification on the test features by cosine similarity.
    #[serde(default)]
    pub retrieval: Option<RetrievalMetrics>,
    /// Dataset classes the run never saw in training (`--holdout-classes`); accuracy,
    /// per-class figures, geometry and `retrieval` cover the others, relabelled 0.. in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held_out_classes: Vec<usize>,
    /// Retrieval and verification among the test images of the held-out classes alone:
    /// how well the features recognise classes never trained on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_out_retrieval: Option<RetrievalMetrics>,
}

/// Evaluate the model of `run_dir` on the test split of `dataset` in `data_dir` (default:
/// the run's own), honouring the run's `--limit-test`, and write it into the run, as
/// [`RunDir::eval_file`] names it.
/// A dataset with another class count than the run's is refused, and so is a registry
/// dataset of another image shape (a folder dataset is read at the run's shape).
pub fn evaluate_run(
    run_dir: &Path,
    dataset: Option<&str>,
    data_dir: Option<&Path>,
    compute: &Compute,
) -> Result<Evaluation, AnalysisError> {
    let run = RunDir::open(run_dir)?;
    let device = compute.device();
    let (config, model) = run.load_model_on(compute)?;
    let data_dir = data_dir.or(config.request.data_dir.as_deref());
    let dataset = dataset.unwrap_or(&config.request.dataset);
    // Any folder is read at the run's shape; a registry dataset has its own. Checked before
    // the data is looked for.
    let folder = FolderOptions {
        image_size: Some([config.input.rows, config.input.cols]),
        channels: Some(config.input.channels),
        ..config.request.folder.clone()
    };
    let header = dataset_header(dataset, &folder)?;
    let classes = header.class_names.len();
    if classes != config.dataset_classes() {
        return Err(AnalysisError::OtherClasses {
            run_classes: config.dataset_classes(),
            dataset: dataset.into(),
            classes,
        });
    }
    if header.shape != config.input {
        return Err(AnalysisError::OtherShape {
            run_shape: config.input,
            dataset: dataset.into(),
            shape: header.shape,
        });
    }
    let data = locate_dataset_with(dataset, data_dir, &folder)?;
    let mut all = data
        .load(DataSplit::Test)?
        .limited(config.request.limit_test);
    // The run's classes in another order (a folder's sorted names): labels follow the names.
    if let Some(to_run) = relabelling(&header.class_names, &config.all_class_names()) {
        all.labels.iter_mut().for_each(|l| *l = to_run[*l as usize]);
    }
    let held_out_retrieval = (!config.held_out.is_empty()).then(|| {
        let unseen = all.only_classes(&config.held_out);
        let features = extract_features(&model, &unseen, config.normalization, &device);
        retrieval_metrics(&features, config.dim, &unseen.labels, config.request.seed)
    });
    let seen_names = config.trained_class_names();
    let set = all.without_classes(&config.held_out);
    let features = extract_features(&model, &set, config.normalization, &device);
    let predicted = model.classes_of_features(&features, config.dim, &device);
    let class_weights = model.class_unit_weights();
    let geometry = feature_geometry(&features, config.dim, &set.labels, &class_weights);
    let mut per_class: Vec<ClassAccuracy> = (0..config.classes)
        .map(|class| ClassAccuracy {
            class,
            name: seen_names.get(class).cloned().unwrap_or_default(),
            images: 0,
            correct: 0,
            accuracy: 0.0,
        })
        .collect();
    for (&p, &l) in predicted.iter().zip(&set.labels) {
        let c = &mut per_class[l as usize];
        c.images += 1;
        c.correct += usize::from(p == l);
    }
    for c in &mut per_class {
        if c.images > 0 {
            c.accuracy = 100.0 * c.correct as f64 / c.images as f64;
        }
    }
    let correct = per_class.iter().map(|c| c.correct).sum();
    let evaluation = Evaluation {
        run: run_dir.display().to_string(),
        dataset: dataset.to_string(),
        data_dir: data.describe(),
        images: set.len(),
        correct,
        accuracy: 100.0 * correct as f64 / set.len().max(1) as f64,
        per_class,
        geometry,
        retrieval: Some(retrieval_metrics(
            &features,
            config.dim,
            &set.labels,
            config.request.seed,
        )),
        held_out_classes: config.held_out.clone(),
        held_out_retrieval,
    };
    let file = RunDir::eval_file(&config.request.dataset, dataset);
    run.write_json(&file, &evaluation)?;
    Ok(evaluation)
}

/// The run's label of each of the dataset's labels, where the two name the same classes in
/// another order (names compared as class folders spell them); `None` where the order is
/// the same, or the names differ (then labels are taken as they are).
fn relabelling(dataset: &[String], run: &[String]) -> Option<Vec<u8>> {
    let spelled =
        |names: &[String]| -> Vec<String> { names.iter().map(|n| class_folder_name(n)).collect() };
    let (dataset, run) = (spelled(dataset), spelled(run));
    if dataset == run {
        return None;
    }
    let to_run: Option<Vec<u8>> = dataset
        .iter()
        .map(|name| run.iter().position(|r| r == name).map(|i| i as u8))
        .collect();
    let to_run = to_run?;
    let mut seen = to_run.clone();
    seen.sort_unstable();
    seen.dedup();
    (seen.len() == to_run.len()).then_some(to_run)
}

#[cfg(test)]
mod tests {
    use super::relabelling;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn labels_follow_class_names_in_another_order() {
        let run = names(&["T-shirt/top", "Trouser", "Bag"]);
        // A folder's sorted names, spelled as folders.
        let folder = names(&["Bag", "T-shirt-top", "Trouser"]);
        assert_eq!(relabelling(&folder, &run), Some(vec![2, 0, 1]));
        assert_eq!(relabelling(&run, &run), None);
        // Other names, or a name twice: labels as they are.
        assert_eq!(relabelling(&names(&["a", "b", "c"]), &run), None);
        assert_eq!(relabelling(&names(&["Bag", "Bag", "Trouser"]), &run), None);
    }
}
