use std::path::Path;
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Int, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::inference::predict_labels;
use super::observer::{StartInfo, StepProgress, TrainObserver};
use super::{EpochMetrics, RunDir, TrainConfig, TrainError, TrainSummary};
use crate::data::{images_to_tensor, labels_to_tensor, locate_dataset, DataSplit, ImageSet};
use crate::nn::{LossKind, MarginWarmup, Network, PolytopeLoss};

/// Train a LeNet++ with a polytope head as `config` says, writing the run into `out`.
///
/// `out` receives `config.json` first, then after every epoch `metrics.jsonl`, and at the end
/// `model.bpk` and `summary.json`, each written atomically.
pub fn train(
    config: &TrainConfig,
    out: &Path,
    force: bool,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    let started = Instant::now();
    let mut resolved = config.resolve()?;
    let polytope = resolved.polytope()?;
    let load_start = Instant::now();
    let data = locate_dataset(&config.dataset, config.data_dir.as_deref())?;
    let train_set = limited(data.load(DataSplit::Train)?, config.limit_train);
    let test_set = limited(data.load(DataSplit::Test)?, config.limit_test);
    if data.info.normalization.is_none() {
        resolved.normalization = train_set.normalization();
    }
    resolved.data_source = data.describe();
    let data_load_seconds = load_start.elapsed().as_secs_f64();
    let run = RunDir::create(out, force)?;
    run.write_json(RunDir::CONFIG, &resolved)?;

    let device = Device::flex();
    device.seed(config.seed);
    let train_device = device.clone().autodiff();
    let mut model = Network::new(&polytope, config.head, &train_device);
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let mut rng = rand::rngs::StdRng::seed_from_u64(config.seed);

    let steps_per_epoch = train_set.len().div_ceil(config.batch_size);
    let warmup = MarginWarmup::new(
        resolved.margin_degrees.to_radians(),
        resolved.warmup_epochs,
        steps_per_epoch,
    );
    let info = StartInfo {
        trainable_parameters: model.num_params(),
        head_parameters: model.head.num_params(),
        train_images: train_set.len(),
        test_images: test_set.len(),
        steps_per_epoch,
        epochs: config.epochs,
        data_source: resolved.data_source.clone(),
        data_load_seconds,
    };
    observer.on_start(&info);

    let norm = resolved.normalization;
    let mut history: Vec<EpochMetrics> = Vec::new();
    let mut order: Vec<usize> = (0..train_set.len()).collect();
    let mut global_step = 0;
    for epoch in 1..=config.epochs {
        order.shuffle(&mut rng);
        let epoch_start = Instant::now();
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        let mut margin = 0.0;
        // Only the margin loss has a margin; the others report none.
        let reported_margin = |m: f64| (config.loss == LossKind::Margin).then(|| m.to_degrees());
        for (step, batch) in order.chunks(config.batch_size).enumerate() {
            margin = warmup.at(global_step);
            let loss_fn = PolytopeLoss {
                kind: config.loss,
                scale: config.scale,
                margin,
            };
            let images = images_to_tensor(&train_set, batch, norm, &train_device);
            let labels = labels_to_tensor(&train_set, batch, &train_device);
            let outcome;
            (model, outcome) =
                train_step(model, &mut optimizer, &loss_fn, config.lr, images, labels);
            if !outcome.loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step: step + 1,
                    loss: outcome.loss,
                });
            }
            let loss_value = outcome.loss;
            correct += outcome.correct;
            seen += batch.len();
            loss_sum += loss_value * batch.len() as f64;
            global_step += 1;
            observer.on_step(&StepProgress {
                epoch,
                step: step + 1,
                steps_per_epoch,
                loss: loss_sum / seen as f64,
                accuracy: 100.0 * correct as f64 / seen as f64,
                images_per_second: seen as f64 / epoch_start.elapsed().as_secs_f64(),
                margin_degrees: reported_margin(margin),
            });
        }
        let train_seconds = epoch_start.elapsed().as_secs_f64();
        observer.on_evaluating(epoch);
        let eval_start = Instant::now();
        let test_accuracy = accuracy(&model.valid(), &test_set, resolved.normalization, &device);
        let metrics = EpochMetrics {
            epoch,
            train_images: Some(seen),
            test_images: Some(test_set.len()),
            train_loss: loss_sum / seen as f64,
            train_accuracy: 100.0 * correct as f64 / seen as f64,
            test_accuracy,
            margin_degrees: reported_margin(margin),
            train_seconds,
            images_per_second: seen as f64 / train_seconds,
            eval_seconds: eval_start.elapsed().as_secs_f64(),
        };
        observer.on_epoch(&metrics);
        history.push(metrics);
        run.write_metrics(&history)?;
    }

    run.save_model(&model.valid())?;
    let summary = TrainSummary {
        epochs: config.epochs,
        final_test_accuracy: history.last().map_or(0.0, |m| m.test_accuracy),
        best_test_accuracy: history.iter().map(|m| m.test_accuracy).fold(0.0, f64::max),
        trainable_parameters: info.trainable_parameters,
        head_parameters: info.head_parameters,
        train_images: train_set.len(),
        test_images: test_set.len(),
        total_seconds: started.elapsed().as_secs_f64(),
        reponet_version: env!("CARGO_PKG_VERSION").into(),
    };
    run.write_json(RunDir::SUMMARY, &summary)?;
    Ok(summary)
}

/// What one optimisation step measured.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    /// Mean loss of the batch, before the update.
    pub loss: f64,
    /// Images of the batch the head classified correctly, before the update.
    pub correct: usize,
}

/// One step: forward, loss, backward, Adam update. `images` and `labels` must live on an
/// autodiff device. The classifier of a fixed head is a constant, so only the backbone moves.
pub fn train_step(
    model: Network,
    optimizer: &mut ModuleOptimizer,
    loss_fn: &PolytopeLoss,
    lr: f64,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> (Network, StepOutcome) {
    let features = model.features(images);
    let predicted = model.predict_from_features(features.clone().detach());
    let correct = predicted
        .equal(labels.clone())
        .int()
        .sum()
        .into_scalar::<i64>() as usize;
    let loss = loss_fn.forward(&model.head, features, labels);
    let loss_value = loss.clone().into_scalar::<f32>() as f64;
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = optimizer.step(lr, model, grads);
    (
        model,
        StepOutcome {
            loss: loss_value,
            correct,
        },
    )
}

fn limited(set: ImageSet, limit: Option<usize>) -> ImageSet {
    match limit {
        Some(n) => set.truncated(n),
        None => set,
    }
}

/// Test accuracy (%) of `model` on `set`.
fn accuracy(
    model: &Network,
    set: &ImageSet,
    norm: crate::data::Normalization,
    device: &Device,
) -> f64 {
    let predicted = predict_labels(model, set, norm, device);
    let correct = predicted
        .iter()
        .zip(&set.labels)
        .filter(|(p, l)| p == l)
        .count();
    100.0 * correct as f64 / set.len().max(1) as f64
}
