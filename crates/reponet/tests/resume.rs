//! Checkpoints and exact resume on the CPU backend: an interrupted run, resumed, ends with
//! the same weights (bit for bit) and the same metrics as one that never stopped; bad
//! numbers and failed writes never replace a good checkpoint.

use std::path::Path;

use reponet::device::Compute;
use reponet::train::{
    load_checkpoint, resume, save_checkpoint, train, EpochMetrics, RunDir, SilentObserver,
    TrainConfig, TrainError, TrainObserver,
};

/// 256 real MNIST digits of the built-in sample, 8 steps of 32 per epoch, 2 epochs.
fn config() -> TrainConfig {
    TrainConfig {
        dataset: "mnist-sample".into(),
        epochs: 2,
        batch_size: 32,
        limit_train: Some(256),
        limit_test: Some(64),
        polytope: reponet::geometry::PolytopeKind::Orthoplex,
        seed: 7,
        ..TrainConfig::paper_defaults(None)
    }
}

/// Asks to stop once `after` steps (over the whole run) are done.
struct StopAfter {
    after: usize,
    steps: usize,
}

impl TrainObserver for StopAfter {
    fn on_step(&mut self, _: &reponet::train::StepProgress) {
        self.steps += 1;
    }
    fn should_stop(&mut self) -> bool {
        self.steps >= self.after
    }
}

/// The metrics with the wall-clock figures zeroed.
fn figures(run: &Path) -> Vec<EpochMetrics> {
    let mut metrics = RunDir::open(run).unwrap().read_metrics().unwrap();
    for m in &mut metrics {
        (m.train_seconds, m.images_per_second, m.eval_seconds) = (0.0, 0.0, 0.0);
    }
    metrics
}

/// The bits of every weight of the run's model, in module order (the file itself differs
/// between runs: it records each parameter's random id).
fn weights(run: &Path) -> Vec<u32> {
    struct Collect(Vec<u32>);
    impl burn::module::ModuleVisitor for Collect {
        fn visit_float<const D: usize>(
            &mut self,
            param: &burn::module::Param<burn::tensor::Tensor<D>>,
        ) {
            let data = param.val().into_data();
            self.0.extend(data.iter::<f32>().map(f32::to_bits));
        }
    }
    let (_, model) = RunDir::open(run)
        .unwrap()
        .load_model(&burn::tensor::Device::flex())
        .unwrap();
    let mut c = Collect(Vec::new());
    burn::module::Module::visit(&model, &mut c);
    assert!(c.0.len() > 800_000);
    c.0
}

#[test]
fn resumed_runs_match_an_uninterrupted_one_bit_for_bit() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    train(
        &config(),
        &straight,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    // Stationarity: class means every epoch, their drift from the second epoch on.
    let metrics = figures(&straight);
    for m in &metrics {
        let means = m.class_means.as_ref().expect("class means recorded");
        assert_eq!(means.len(), 10);
        for row in means {
            let len: f64 = row.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((len - 1.0).abs() < 1e-9, "unit class means: {len}");
        }
    }
    assert!(metrics[0].class_mean_drift_degrees.is_none());
    let drift = metrics[1].class_mean_drift_degrees.as_ref().unwrap();
    let want = reponet::train::class_mean_drift(
        metrics[0].class_means.as_ref().unwrap(),
        metrics[1].class_means.as_ref().unwrap(),
    );
    // Bit-exact: f64s read back from JSON are the ones written (float_roundtrip).
    assert_eq!(drift, &want);
    assert!(
        !straight.join(RunDir::CHECKPOINT).exists(),
        "removed when complete"
    );

    // Determinism: the same run again gives the same weights and metrics.
    let again = tmp.path().join("again");
    train(
        &config(),
        &again,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    assert!(
        weights(&again) == weights(&straight),
        "same seed, different weights"
    );
    assert_eq!(figures(&again), figures(&straight));

    // Stopped at the end of epoch 1 (step 8), and in the middle of epoch 1 (step 3) and of
    // epoch 2 (step 11), then resumed to the end.
    for stop in [8, 3, 11] {
        let run = tmp.path().join(format!("stop{stop}"));
        let err = train(
            &config(),
            &run,
            false,
            &Compute::default(),
            &mut StopAfter {
                after: stop,
                steps: 0,
            },
        )
        .unwrap_err();
        let TrainError::Interrupted { epoch, step, .. } = err else {
            panic!("{err}")
        };
        assert_eq!(
            (epoch, step),
            if stop == 8 {
                (2, 0)
            } else {
                (1 + stop / 8, stop % 8)
            }
        );
        assert!(run.join(RunDir::CHECKPOINT).exists());
        assert!(!run.join(RunDir::MODEL).exists());
        let state = load_checkpoint(&run.join(RunDir::CHECKPOINT))
            .unwrap()
            .state;
        assert_eq!(state.global_step, stop);
        resume(&run, &Compute::default(), &mut SilentObserver).unwrap();
        assert!(
            weights(&run) == weights(&straight),
            "stopped after step {stop}: weights differ"
        );
        assert_eq!(
            figures(&run),
            figures(&straight),
            "stopped after step {stop}"
        );
        let msg = resume(&run, &Compute::default(), &mut SilentObserver)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("this run is complete"), "{msg}");
    }
}

#[test]
fn bad_numbers_and_bad_files_never_replace_a_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train(
        &config(),
        &run,
        false,
        &Compute::default(),
        &mut StopAfter { after: 8, steps: 0 },
    )
    .unwrap_err();
    let path = run.join(RunDir::CHECKPOINT);
    let good = std::fs::read(&path).unwrap();

    // A checkpoint whose weights are NaN: the first step's loss is NaN, training stops,
    // naming the epoch, the step and the intact checkpoint.
    let nan_run = tmp.path().join("nan");
    std::fs::create_dir(&nan_run).unwrap();
    std::fs::copy(run.join(RunDir::CONFIG), nan_run.join(RunDir::CONFIG)).unwrap();
    let checkpoint = load_checkpoint(&path).unwrap();
    let device = burn::tensor::Device::flex().autodiff();
    let config: reponet::train::ResolvedConfig = RunDir::open(&run).unwrap().config().unwrap();
    let model = reponet::nn::Network::new(
        &config.polytope().unwrap(),
        config.request.head,
        config.input,
        &device,
    );
    let model = burn::module::Module::load_record(model, checkpoint.model);
    let poisoned = poison(model);
    let optimizer = burn::optim::AdamConfig::new()
        .init()
        .load_record(checkpoint.optimizer);
    let nan_path = nan_run.join(RunDir::CHECKPOINT);
    save_checkpoint(&nan_path, &checkpoint.state, &poisoned, &optimizer).unwrap();
    let before = std::fs::read(&nan_path).unwrap();
    let msg = resume(&nan_run, &Compute::default(), &mut SilentObserver)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("diverged at epoch 2, step 1") && msg.contains("NaN"),
        "{msg}"
    );
    assert!(
        msg.contains("is intact") && msg.contains("checkpoint.bin"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&nan_path).unwrap(),
        before,
        "checkpoint untouched"
    );

    // Truncated and foreign checkpoints are errors naming the file, not panics.
    for (bytes, expected) in [
        (
            good[..good.len() / 2].to_vec(),
            "truncated in the optimizer part",
        ),
        (good[..30].to_vec(), "truncated in the state part"),
        (b"PK\x03\x04 not a checkpoint".to_vec(), "wrong magic"),
    ] {
        std::fs::write(&nan_path, &bytes).unwrap();
        let msg = resume(&nan_run, &Compute::default(), &mut SilentObserver)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("checkpoint.bin: not a usable run directory: corrupt checkpoint"),
            "{msg}"
        );
        assert!(msg.contains(expected), "{msg}");
    }

    // A checkpoint that cannot be written (its temporary file's place is taken): the error
    // names the file, and the previous checkpoint stays whole and usable.
    let blocker = run.join(format!(".{}.tmp{}", RunDir::CHECKPOINT, std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    let msg = resume(&run, &Compute::default(), &mut SilentObserver)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("checkpoint.bin"), "{msg}");
    assert_eq!(std::fs::read(&path).unwrap(), good);
    std::fs::remove_dir(&blocker).unwrap();
    resume(&run, &Compute::default(), &mut SilentObserver).unwrap();
    assert!(run.join(RunDir::SUMMARY).exists());
}

/// The network with every backbone weight set to NaN.
fn poison(model: reponet::nn::Network) -> reponet::nn::Network {
    struct Nan;
    impl burn::module::ModuleMapper for Nan {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<burn::tensor::Tensor<D>>,
        ) -> burn::module::Param<burn::tensor::Tensor<D>> {
            param.map(|t| t.mul_scalar(f32::NAN))
        }
    }
    burn::module::Module::map(model, &mut Nan)
}

#[test]
fn resume_refuses_what_is_not_an_unfinished_run() {
    let tmp = tempfile::tempdir().unwrap();
    let msg = resume(tmp.path(), &Compute::default(), &mut SilentObserver)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("not a usable run directory: no config.json"),
        "{msg}"
    );
}
