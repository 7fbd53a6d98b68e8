use std::path::Path;
use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::checkpoint::{load_checkpoint, save_checkpoint, TrainingState};
use super::config::{Freeze, InputNorm, PreparedRun};
use super::inference::test_pass;
use super::metrics::class_mean_drift;
use super::observer::{StartInfo, StepProgress, TrainObserver};
use super::recipe::{optimizer, LrPlan, OptimizerKind};
use super::{EpochMetrics, ResolvedConfig, RunDir, TrainConfig, TrainError, TrainSummary};
use crate::data::{
    augmented_images_to_tensor, batch_draws, labels_to_tensor, DataSplit, ImageSet, LocatedDataset,
};
use crate::device::Compute;
use crate::distributed::{
    all_reduce_gradients, average_running_statistics, shard, Collective, SingleProcess,
};
use crate::nn::pretrained::WeightFile;
use crate::nn::{LossKind, MarginWarmup, Network, PolytopeLoss};
use crate::resources;

/// Train a LeNet++ with a polytope head as `config` says, writing the run into `out`.
///
/// `out` receives `config.json` first, then `checkpoint.bin` as `config.checkpoint_every`
/// says and after every epoch (with `metrics.jsonl`), and at the end `model.bpk` and
/// `summary.json`, each written atomically. The folder is locked against a second writer
/// for as long as this runs. When the observer asks to stop, the current step finishes, a
/// checkpoint is written and [`TrainError::Interrupted`] is returned; [`resume`] continues
/// from it.
pub fn train(
    config: &TrainConfig,
    out: &Path,
    force: bool,
    compute: &Compute,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    train_data_parallel(config, out, force, compute, observer, &SingleProcess)
}

/// [`train`] as one rank of a data-parallel job (see [`crate::distributed`]): every rank
/// calls it with the same arguments; rank 0 alone creates, locks and writes `out`. An error
/// on one rank leaves the others waiting in a collective: the caller ends the job then.
pub fn train_data_parallel(
    config: &TrainConfig,
    out: &Path,
    force: bool,
    compute: &Compute,
    observer: &mut dyn TrainObserver,
    comm: &dyn Collective,
) -> Result<TrainSummary, TrainError> {
    train_prepared(config.prepare()?, out, force, compute, observer, comm)
}

/// [`train_data_parallel`] of a configuration checked already ([`TrainConfig::prepare`]).
pub fn train_prepared(
    prepared: PreparedRun,
    out: &Path,
    force: bool,
    compute: &Compute,
    observer: &mut dyn TrainObserver,
    comm: &dyn Collective,
) -> Result<TrainSummary, TrainError> {
    let PreparedRun {
        mut resolved,
        folder,
    } = prepared;
    let data = TrainingData::load(&mut resolved, folder, true)?;
    data.ensure_fits(&resolved)?;
    let run = if comm.rank() == 0 {
        let run = RunDir::create(out, force)?;
        run.write_json(RunDir::CONFIG, &resolved)?;
        run
    } else {
        RunDir::follower(out)
    };
    start(&run, &resolved, &data, compute, observer, comm)
}

/// Continue the unfinished run in `run_dir` from its last checkpoint, with its saved
/// configuration; a run stopped before its first checkpoint starts again from the
/// beginning. On the CPU backend the result is bit-identical to an uninterrupted run.
/// Refused while another process trains the run.
pub fn resume(
    run_dir: &Path,
    compute: &Compute,
    observer: &mut dyn TrainObserver,
) -> Result<TrainSummary, TrainError> {
    resume_data_parallel(run_dir, compute, observer, &SingleProcess)
}

/// [`resume`] as one rank of a data-parallel job: every rank reads the run's configuration
/// and checkpoint (the folder must be visible to all of them), rank 0 alone locks and
/// writes it.
pub fn resume_data_parallel(
    run_dir: &Path,
    compute: &Compute,
    observer: &mut dyn TrainObserver,
    comm: &dyn Collective,
) -> Result<TrainSummary, TrainError> {
    let run = if comm.rank() == 0 {
        RunDir::open_for_writing(run_dir)?
    } else {
        RunDir::open(run_dir)?
    };
    if run.path(RunDir::SUMMARY).exists() {
        return Err(TrainError::Run {
            path: run_dir.to_path_buf(),
            message: "this run is complete (summary.json exists): nothing to resume".into(),
        });
    }
    let mut resolved = run.config()?;
    let data = TrainingData::load(&mut resolved, None, false)?;
    data.ensure_fits(&resolved)?;
    let checkpoint_path = run.path(RunDir::CHECKPOINT);
    if !checkpoint_path.exists() {
        // Killed before its first checkpoint: the seed gives the same start again.
        return start(&run, &resolved, &data, compute, observer, comm);
    }
    let checkpoint = load_checkpoint(&checkpoint_path)?;
    let device = compute.device().autodiff();
    let model = frozen_as(
        resolved.request.freeze,
        Network::new(
            &run.polytope(&resolved)?,
            resolved.request.head,
            resolved.architecture(),
            &device,
        )
        .with_conv_kernels(compute.conv)
        .try_load_record(checkpoint.model)
        .map_err(|e| TrainError::Run {
            path: checkpoint_path.clone(),
            message: format!("corrupt checkpoint: the model does not match config.json: {e}"),
        })?,
    );
    // Burn panics on a malformed optimizer record that still parses; report it instead.
    let optimizer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_optimizer(&resolved.request).load_record(checkpoint.optimizer)
    }))
    .map_err(|_| TrainError::Run {
        path: checkpoint_path.clone(),
        message: "corrupt checkpoint: unusable optimizer state".into(),
    })?;
    run_epochs(
        &run,
        &resolved,
        &data,
        (model, optimizer, checkpoint.state),
        compute,
        observer,
        comm,
    )
}

/// Train `run` from its seeded initial weights.
fn start(
    run: &RunDir,
    resolved: &ResolvedConfig,
    data: &TrainingData,
    compute: &Compute,
    observer: &mut dyn TrainObserver,
    comm: &dyn Collective,
) -> Result<TrainSummary, TrainError> {
    let device = compute.device().autodiff();
    let request = &resolved.request;
    let mut model = Network::seeded(
        &run.polytope(resolved)?,
        request.head,
        resolved.architecture(),
        &device,
        request.seed,
    )
    .with_conv_kernels(compute.conv);
    if let Some(path) = &request.weights {
        let weights = WeightFile::read(path)?;
        if Some(&weights.sha256) != resolved.weights_sha256.as_ref() {
            return Err(TrainError::Run {
                path: path.clone(),
                message: format!(
                    "the pretrained weights changed since the run was configured (sha256 {}, recorded {}): start a new run",
                    weights.sha256,
                    resolved.weights_sha256.as_deref().unwrap_or("none")
                ),
            });
        }
        model.backbone = model.backbone.with_pretrained(&weights, request.model)?;
    }
    let model = frozen_as(request.freeze, model);
    run_epochs(
        run,
        resolved,
        data,
        (model, run_optimizer(request), TrainingState::start()),
        compute,
        observer,
        comm,
    )
}

/// `model` with what `freeze` names frozen; applied again on resume, as a checkpoint holds
/// weights, not which ones train.
fn frozen_as(freeze: Freeze, mut model: Network) -> Network {
    if freeze == Freeze::Backbone {
        model.backbone = model.backbone.with_frozen_body();
    }
    model
}

/// The paper's optimizer: Adam with PyTorch's epsilon, no weight decay.
pub fn adam() -> ModuleOptimizer {
    optimizer(OptimizerKind::Adam, 0.0, false)
}

/// The optimizer `config` asks for.
fn run_optimizer(config: &TrainConfig) -> ModuleOptimizer {
    optimizer(config.optimizer, config.weight_decay, config.nesterov)
}

/// Both splits, limited as configured.
struct TrainingData {
    train: ImageSet,
    test: ImageSet,
    source: String,
    load_seconds: f64,
}

impl TrainingData {
    /// Load the configured dataset; for a new run (`fresh`), also record where it came from
    /// and, for datasets without a registry normalisation, measure it on the training split.
    fn load(
        resolved: &mut ResolvedConfig,
        located: Option<LocatedDataset>,
        fresh: bool,
    ) -> Result<Self, TrainError> {
        let started = Instant::now();
        let data = match located {
            Some(data) => data,
            None => resolved.locate_data(None)?,
        };
        let request = &resolved.request;
        // Held-out classes are never seen in training, nor in the per-epoch test accuracy.
        let held_out = &resolved.held_out;
        let (train, bad_train) = data.load_counting_bad(DataSplit::Train)?;
        let (test, bad_test) = data.load_counting_bad(DataSplit::Test)?;
        let train = train.limited(request.limit_train).without_classes(held_out);
        let test = test.limited(request.limit_test).without_classes(held_out);
        if fresh {
            if data.header.normalization.is_none() && request.input_norm == InputNorm::Dataset {
                resolved.normalization = train.normalization();
            }
            resolved.data_source = data.describe();
            resolved.bad_images_skipped = bad_train.len() + bad_test.len();
        }
        Ok(Self {
            train,
            test,
            source: data.describe(),
            load_seconds: started.elapsed().as_secs_f64(),
        })
    }
}

impl TrainingData {
    /// Refuse a run whose data and batch do not fit in this machine's memory.
    fn ensure_fits(&self, resolved: &ResolvedConfig) -> Result<(), TrainError> {
        let (train, test) = (&self.train, &self.test);
        let batch_size = resolved.request.batch_size;
        let values = |set: &ImageSet| set.pixels.len() + 4 * set.features.len();
        let data = (values(train) + train.labels.len() + values(test)) as u64;
        let arch = resolved.architecture();
        let per_image = arch.model.train_bytes_per_image(arch.stem, arch.input);
        let working = batch_size.min(train.len().max(1)) as u64 * per_image;
        resources::ensure_fits(data + working).map_err(|shortfall| TrainError::Memory {
            what: format!(
                "this run ({} images in memory, batches of {batch_size})",
                train.len() + test.len()
            ),
            shortfall,
        })
    }
}

/// The order of epoch `epoch`'s images: a function of the seed and the epoch alone, so a
/// resumed run sees the same batches without any generator state being saved. ChaCha12 by
/// name (today's `StdRng`), so that a run resumed on a later `rand` sees the same order.
fn epoch_order(seed: u64, epoch: usize, len: usize) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(
        seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut rng);
    order
}

/// Train from `(model, optimizer, state)` to the configured end.
fn run_epochs(
    run: &RunDir,
    resolved: &ResolvedConfig,
    data: &TrainingData,
    (mut model, mut optimizer, mut state): (Network, ModuleOptimizer, TrainingState),
    compute: &Compute,
    observer: &mut dyn TrainObserver,
    comm: &dyn Collective,
) -> Result<TrainSummary, TrainError> {
    let config = &resolved.request;
    // Rank 0 writes the run's files; the others hold the same state and write nothing.
    let writer = comm.rank() == 0;
    let (train_set, test_set) = (&data.train, &data.test);
    let device = compute.device();
    let train_device = device.clone().autodiff();
    let checkpoint_path = run.path(RunDir::CHECKPOINT);
    let run_start = Instant::now();
    let steps_per_epoch = train_set.len().div_ceil(config.batch_size);
    let warmup = MarginWarmup::new(
        resolved.margin_degrees.to_radians(),
        resolved.warmup_epochs,
        steps_per_epoch,
    );
    let lr_plan = LrPlan::new(
        config.lr,
        config.lr_schedule.clone(),
        config.lr_warmup,
        config.epochs,
        steps_per_epoch,
    );
    let info = StartInfo {
        trainable_parameters: model.trainable_parameters(),
        head_parameters: model.head.num_params(),
        train_images: train_set.len(),
        test_images: test_set.len(),
        steps_per_epoch,
        epochs: config.epochs,
        data_source: data.source.clone(),
        data_load_seconds: data.load_seconds,
        resumed_at: (state.global_step > 0).then_some((state.epoch, state.step)),
    };
    observer.on_start(&info);

    let norm = resolved.normalization;
    // Only the margin loss has a margin; the others report none.
    let reported_margin = |m: f64| (config.loss == LossKind::Margin).then(|| m.to_degrees());
    let interrupted = |state: &TrainingState| TrainError::Interrupted {
        checkpoint: checkpoint_path.clone(),
        epoch: state.epoch,
        step: state.step,
    };
    // When and at which step the last checkpoint was written (a resumed run starts at one).
    let mut last_checkpoint = (Instant::now(), state.global_step);
    while state.epoch <= config.epochs {
        let epoch = state.epoch;
        let order = epoch_order(config.seed, epoch, train_set.len());
        let epoch_start = Instant::now();
        let epoch_seconds =
            |state: &TrainingState| state.epoch_seconds + epoch_start.elapsed().as_secs_f64();
        let mut margin = warmup.at(state.global_step);
        for (step, batch) in order.chunks(config.batch_size).enumerate().skip(state.step) {
            margin = warmup.at(state.global_step);
            let loss_fn = PolytopeLoss {
                kind: config.loss,
                scale: config.scale,
                margin,
            };
            let shard = shard(batch.len(), comm.rank(), comm.size());
            // Drawn for the whole batch, so every rank count sees the same images.
            let draws = batch_draws(config.augment, config.seed, epoch, step, batch.len());
            let rows = &batch[shard.clone()];
            let images = augmented_images_to_tensor(
                train_set,
                rows,
                norm,
                draws.as_ref().map(|d| &d[shard]),
                &train_device,
            );
            let labels = labels_to_tensor(train_set, rows, &train_device);
            let outcome;
            (model, outcome) = train_step_shard(
                model,
                &mut optimizer,
                &loss_fn,
                lr_plan.at(state.global_step),
                (images, labels),
                batch.len(),
                comm,
            );
            if !outcome.loss.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    step: step + 1,
                    loss: outcome.loss,
                    last_good: last_good_checkpoint(&checkpoint_path),
                });
            }
            state.step = step + 1;
            state.global_step += 1;
            state.correct += outcome.correct;
            state.seen += batch.len();
            state.loss_sum += outcome.loss * batch.len() as f64;
            observer.on_step(&StepProgress {
                epoch,
                step: step + 1,
                steps_per_epoch,
                loss: state.loss_sum / state.seen as f64,
                accuracy: 100.0 * state.correct as f64 / state.seen as f64,
                images_per_second: state.seen as f64 / epoch_seconds(&state),
                margin_degrees: reported_margin(margin),
            });
            if state.step < steps_per_epoch && comm.any(observer.should_stop()) {
                state.epoch_seconds = epoch_seconds(&state);
                state.run_seconds += run_start.elapsed().as_secs_f64();
                checkpoint(&checkpoint_path, &state, &model, &optimizer, writer)?;
                return Err(interrupted(&state));
            }
            let (at, at_step) = last_checkpoint;
            let since = (state.global_step - at_step, at.elapsed().as_secs_f64());
            // Rank 0's clock decides; only it writes.
            if writer
                && state.step < steps_per_epoch
                && config.checkpoint_every.due(since.0, since.1)
            {
                let mut saved = state.clone();
                saved.epoch_seconds = epoch_seconds(&state);
                saved.run_seconds += run_start.elapsed().as_secs_f64();
                checkpoint(&checkpoint_path, &saved, &model, &optimizer, writer)?;
                last_checkpoint = (Instant::now(), state.global_step);
            }
        }
        let train_seconds = epoch_seconds(&state);
        observer.on_evaluating(epoch);
        let eval_start = Instant::now();
        let pass = test_pass(&model.valid(), test_set, norm, resolved.classes, &device);
        let drift = state
            .history
            .last()
            .and_then(|previous| previous.class_means.as_deref())
            .map(|before| class_mean_drift(before, &pass.class_means));
        let test_accuracy = pass.accuracy;
        let metrics = EpochMetrics {
            epoch,
            train_images: Some(state.seen),
            test_images: Some(test_set.len()),
            train_loss: state.loss_sum / state.seen as f64,
            train_accuracy: 100.0 * state.correct as f64 / state.seen as f64,
            test_accuracy,
            margin_degrees: reported_margin(margin),
            train_seconds,
            images_per_second: state.seen as f64 / train_seconds,
            eval_seconds: eval_start.elapsed().as_secs_f64(),
            class_means: Some(pass.class_means),
            class_mean_drift_degrees: drift,
        };
        observer.on_epoch(&metrics);
        state.history.push(metrics);
        if writer {
            run.write_metrics(&state.history)?;
        }
        state = TrainingState {
            epoch: epoch + 1,
            step: 0,
            loss_sum: 0.0,
            correct: 0,
            seen: 0,
            epoch_seconds: 0.0,
            run_seconds: state.run_seconds,
            ..state
        };
        let mut saved = state.clone();
        saved.run_seconds += run_start.elapsed().as_secs_f64();
        checkpoint(&checkpoint_path, &saved, &model, &optimizer, writer)?;
        last_checkpoint = (Instant::now(), state.global_step);
        if state.epoch <= config.epochs && comm.any(observer.should_stop()) {
            return Err(interrupted(&state));
        }
    }

    let model = model.valid();
    if writer {
        run.save_model(&model)?;
    }
    let history = &state.history;
    let summary = TrainSummary {
        epochs: config.epochs,
        final_test_accuracy: history.last().map_or(0.0, |m| m.test_accuracy),
        best_test_accuracy: history.iter().map(|m| m.test_accuracy).fold(0.0, f64::max),
        trainable_parameters: info.trainable_parameters,
        head_parameters: info.head_parameters,
        train_images: train_set.len(),
        test_images: test_set.len(),
        total_seconds: state.run_seconds + run_start.elapsed().as_secs_f64(),
        reponet_version: env!("CARGO_PKG_VERSION").into(),
        weights_sha256: Some(model.weights_sha256()),
    };
    if writer {
        run.write_json(RunDir::SUMMARY, &summary)?;
        // The run is complete; its checkpoint (model and optimizer state) is not needed.
        let _ = std::fs::remove_file(&checkpoint_path);
    }
    Ok(summary)
}

/// Save a checkpoint (if this rank `write`s), unless the weights hold a NaN or an infinity:
/// then the last good checkpoint stays, and training stops.
fn checkpoint(
    path: &Path,
    state: &TrainingState,
    model: &Network,
    optimizer: &ModuleOptimizer,
    write: bool,
) -> Result<(), TrainError> {
    if !all_finite(model) {
        return Err(TrainError::Diverged {
            epoch: state.epoch,
            step: state.step,
            loss: f64::NAN,
            last_good: last_good_checkpoint(path),
        });
    }
    if !write {
        return Ok(());
    }
    flush_running_statistics(model);
    save_checkpoint(path, state, model, optimizer)
}

/// Burn's batch norm keeps its latest running statistics aside (per thread) until the next
/// forward pass or `valid()` merges them; a record taken before that would miss the last
/// step's update, and a run resumed from it would differ. `valid()` merges them in place
/// (the statistics are shared with the training model), changing nothing else.
pub(crate) fn flush_running_statistics(model: &Network) {
    let _ = model.valid();
}

fn last_good_checkpoint(path: &Path) -> String {
    if path.exists() {
        format!("the last good checkpoint, {}, is intact", path.display())
    } else {
        "no checkpoint had been written yet".into()
    }
}

/// Whether every trainable weight is finite.
fn all_finite(model: &Network) -> bool {
    struct Finite(bool);
    impl ModuleVisitor for Finite {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let t = param.val();
            let bad = t.clone().is_nan().any().into_scalar::<bool>()
                || t.is_inf().any().into_scalar::<bool>();
            self.0 &= !bad;
        }
    }
    let mut v = Finite(true);
    model.visit(&mut v);
    v.0
}

/// What one optimisation step measured.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    /// Mean loss of the batch, before the update.
    pub loss: f64,
    /// Images of the batch the head classified correctly, before the update.
    pub correct: usize,
}

/// One step: forward, loss, backward, optimizer update. `images` and `labels` must live on an
/// autodiff device. The classifier of a fixed head is a constant, so only the backbone moves.
pub fn train_step(
    model: Network,
    optimizer: &mut ModuleOptimizer,
    loss_fn: &PolytopeLoss,
    lr: f64,
    images: Tensor<4>,
    labels: Tensor<1, Int>,
) -> (Network, StepOutcome) {
    let rows = images.dims()[0];
    train_step_shard(
        model,
        optimizer,
        loss_fn,
        lr,
        (images, labels),
        rows,
        &SingleProcess,
    )
}

/// [`train_step`] on this rank's shard of a global batch of `batch_rows` rows: the shard's
/// gradient, weighted by its share of the rows, is summed over the ranks before Adam, and
/// the outcome (loss, correct) is the whole batch's. An empty shard contributes nothing.
pub fn train_step_shard(
    model: Network,
    optimizer: &mut ModuleOptimizer,
    loss_fn: &PolytopeLoss,
    lr: f64,
    (images, labels): (Tensor<4>, Tensor<1, Int>),
    batch_rows: usize,
    comm: &dyn Collective,
) -> (Network, StepOutcome) {
    let rows = images.dims()[0];
    let device = images.device();
    let (loss_value, correct, grads) = if rows == 0 {
        (0.0, 0, GradientsParams::new())
    } else {
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
        (loss_value, correct, grads)
    };
    let weight = rows as f64 / batch_rows as f64;
    let grads = all_reduce_gradients(grads, &model, weight as f32, &device.inner(), comm);
    let mut sums = [loss_value * weight, correct as f64];
    comm.sum_f64(&mut sums);
    let model = average_running_statistics(optimizer.step(lr, model, grads), comm);
    (
        model,
        StepOutcome {
            loss: sums[0],
            correct: sums[1] as usize,
        },
    )
}
