//! Nothing lost, nothing silently different: checkpoints within an epoch, a run that had
//! only its configuration, one writer per run folder, readers during training, and models
//! that check their fixed vertices and their weights when they load.

use std::path::Path;

use reponet::device::Compute;
use reponet::geometry::{Polytope, PolytopeKind};
use reponet::train::{
    load_checkpoint, resume, train, CheckpointEvery, RunDir, SilentObserver, StepProgress,
    TrainConfig, TrainError, TrainObserver, TrainSummary,
};
use serde_json::Value;

/// 256 digits of the built-in sample, 8 steps of 32 an epoch, 2 epochs.
fn config() -> TrainConfig {
    TrainConfig {
        dataset: "mnist-sample".into(),
        epochs: 2,
        batch_size: 32,
        limit_train: Some(256),
        limit_test: Some(64),
        polytope: PolytopeKind::Cube,
        seed: 3,
        ..TrainConfig::paper_defaults(None)
    }
}

fn summary(run: &Path) -> TrainSummary {
    RunDir::open(run)
        .unwrap()
        .read_json(RunDir::SUMMARY)
        .unwrap()
}

/// Per-epoch figures without the timings.
fn figures(run: &Path) -> Vec<(f64, f64, f64)> {
    let metrics = RunDir::open(run).unwrap().read_metrics().unwrap();
    metrics
        .iter()
        .map(|m| (m.train_loss, m.train_accuracy, m.test_accuracy))
        .collect()
}

/// Copies the checkpoint aside when the run reaches `at` steps: what a run killed right
/// after that step would have left on disk.
struct CopyCheckpointAt {
    at: usize,
    steps: usize,
    run: std::path::PathBuf,
    copy: std::path::PathBuf,
}

impl TrainObserver for CopyCheckpointAt {
    fn on_step(&mut self, _: &StepProgress) {
        self.steps += 1;
        if self.steps == self.at {
            std::fs::copy(self.run.join(RunDir::CHECKPOINT), &self.copy).unwrap();
        }
    }
}

#[test]
fn checkpoints_within_an_epoch_resume_bit_for_bit_and_a_bare_config_starts_over() {
    let tmp = tempfile::tempdir().unwrap();
    let straight = tmp.path().join("straight");
    let done = train(
        &config(),
        &straight,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    let sha = done.weights_sha256.clone().expect("recorded");
    assert_eq!(summary(&straight).weights_sha256, Some(sha.clone()));

    // Every 3 steps: at step 7 the last checkpoint is step 6's (epoch 1, step 6).
    let periodic = tmp.path().join("periodic");
    let copy = tmp.path().join("step6.bin");
    let mut observer = CopyCheckpointAt {
        at: 7,
        steps: 0,
        run: periodic.clone(),
        copy: copy.clone(),
    };
    let every3 = TrainConfig {
        checkpoint_every: CheckpointEvery::Steps(3),
        ..config()
    };
    let result = train(
        &every3,
        &periodic,
        false,
        &Compute::default(),
        &mut observer,
    )
    .unwrap();
    assert_eq!(
        result.weights_sha256,
        Some(sha.clone()),
        "checkpoints change nothing"
    );
    let state = load_checkpoint(&copy).unwrap().state;
    assert_eq!((state.epoch, state.step, state.global_step), (1, 6, 6));

    // A run killed after step 7: its folder holds config.json and step 6's checkpoint.
    let killed = tmp.path().join("killed");
    std::fs::create_dir(&killed).unwrap();
    std::fs::copy(periodic.join(RunDir::CONFIG), killed.join(RunDir::CONFIG)).unwrap();
    std::fs::copy(&copy, killed.join(RunDir::CHECKPOINT)).unwrap();
    assert_eq!(
        resume(&killed, &Compute::default(), &mut SilentObserver)
            .unwrap()
            .weights_sha256,
        Some(sha.clone())
    );
    assert_eq!(figures(&killed), figures(&straight));

    // A run killed before its first checkpoint: only config.json. Resume starts it over.
    let bare = tmp.path().join("bare");
    std::fs::create_dir(&bare).unwrap();
    std::fs::copy(straight.join(RunDir::CONFIG), bare.join(RunDir::CONFIG)).unwrap();
    assert_eq!(
        resume(&bare, &Compute::default(), &mut SilentObserver)
            .unwrap()
            .weights_sha256,
        Some(sha)
    );
    assert_eq!(figures(&bare), figures(&straight));
}

#[test]
fn checkpoint_intervals_parse_and_print() {
    for (text, want) in [
        ("10m", CheckpointEvery::Seconds(600.0)),
        ("90s", CheckpointEvery::Seconds(90.0)),
        ("1h", CheckpointEvery::Seconds(3600.0)),
        ("0.5m", CheckpointEvery::Seconds(30.0)),
        ("500steps", CheckpointEvery::Steps(500)),
        ("1 step", CheckpointEvery::Steps(1)),
        ("epoch", CheckpointEvery::Epoch),
    ] {
        let parsed: CheckpointEvery = text.parse().unwrap();
        assert_eq!(parsed, want, "{text}");
        assert_eq!(parsed.to_string().parse::<CheckpointEvery>(), Ok(want));
    }
    for bad in ["", "10", "0steps", "-5m", "soon", "10d"] {
        let err = bad.parse::<CheckpointEvery>().unwrap_err();
        assert!(err.contains("expected a time"), "{bad}: {err}");
    }
    assert_eq!(CheckpointEvery::default().to_string(), "10m");
    assert!(CheckpointEvery::Steps(3).due(3, 0.0) && !CheckpointEvery::Steps(3).due(2, 1e9));
    assert!(CheckpointEvery::Seconds(60.0).due(1, 60.0));
    assert!(!CheckpointEvery::Epoch.due(usize::MAX, f64::MAX));
}

/// Stops the run once it has taken `at` steps, after checking who may touch the folder.
struct SecondWriterAt {
    at: usize,
    steps: usize,
    run: std::path::PathBuf,
    checked: bool,
}

impl TrainObserver for SecondWriterAt {
    fn on_step(&mut self, _: &StepProgress) {
        self.steps += 1;
        if self.steps != self.at {
            return;
        }
        let me = std::process::id().to_string();
        // Writers are refused, naming the holder.
        let err = resume(&self.run, &Compute::default(), &mut SilentObserver).unwrap_err();
        assert!(
            matches!(&err, TrainError::Busy { pid, .. } if *pid == me),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("another process is training this run"));
        let err = train(
            &config(),
            &self.run,
            true,
            &Compute::default(),
            &mut SilentObserver,
        )
        .unwrap_err();
        assert!(matches!(err, TrainError::Busy { .. }), "{err}");
        // Readers read the last complete checkpoint while it trains.
        let run = RunDir::open(&self.run).unwrap();
        let (_, _, from) = run.load_model_from(&burn::tensor::Device::flex()).unwrap();
        assert!(from.ends_with(RunDir::CHECKPOINT), "{}", from.display());
        self.checked = true;
    }
    fn should_stop(&mut self) -> bool {
        self.steps > self.at
    }
}

#[test]
fn one_writer_per_run_folder_while_readers_read() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let every2 = TrainConfig {
        checkpoint_every: CheckpointEvery::Steps(2),
        ..config()
    };
    let mut observer = SecondWriterAt {
        at: 3,
        steps: 0,
        run: run.clone(),
        checked: false,
    };
    let err = train(&every2, &run, false, &Compute::default(), &mut observer).unwrap_err();
    assert!(matches!(err, TrainError::Interrupted { .. }), "{err}");
    assert!(observer.checked);
    // The first writer is gone, and with it its lock: resume goes on, and so does --force.
    resume(&run, &Compute::default(), &mut SilentObserver).unwrap();
    train(
        &config(),
        &run,
        true,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    // A writer killed mid-write leaves a temporary file; the next writer removes it, and
    // a folder holding only the lock file and such leftovers is still a fresh folder.
    let fresh = tmp.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::write(fresh.join(".lock"), "12345").unwrap();
    std::fs::write(fresh.join(".config.json.tmp999"), "half a fi").unwrap();
    train(
        &config(),
        &fresh,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    assert!(!fresh.join(".config.json.tmp999").exists());
}

#[test]
fn a_run_refuses_other_vertices_and_changed_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    train(
        &config(),
        &run,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    let device = burn::tensor::Device::flex();
    let dir = RunDir::open(&run).unwrap();
    dir.load_model(&device).unwrap();

    // config.json records the cube's vertices.
    let path = run.join(RunDir::CONFIG);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut config: Value = serde_json::from_str(&text).unwrap();
    let cube = Polytope::new(PolytopeKind::Cube, 10).unwrap();
    assert_eq!(config["head_vertices"]["sha256"], cube.fingerprint());
    assert_eq!(
        config["head_vertices"]["made_by"],
        "cube, K = 10, d = 4: closed form"
    );

    // Other vertices than the ones trained with: refused, naming the file and both.
    config["head_vertices"]["sha256"] = "00ff".into();
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    let msg = dir.load_model(&device).unwrap_err().to_string();
    assert!(msg.contains("config.json"), "{msg}");
    assert!(msg.contains("saved sha256 00ff"), "{msg}");
    assert!(
        msg.contains(&format!("rebuilt sha256 {}", cube.fingerprint())),
        "{msg}"
    );
    std::fs::write(&path, &text).unwrap();

    // A model file whose weights are not the ones summary.json recorded.
    let summary_path = run.join(RunDir::SUMMARY);
    let mut summary: Value =
        serde_json::from_str(&std::fs::read_to_string(&summary_path).unwrap()).unwrap();
    summary["weights_sha256"] = "abc".into();
    std::fs::write(&summary_path, summary.to_string()).unwrap();
    let msg = dir.load_model(&device).unwrap_err().to_string();
    assert!(
        msg.contains("model.bpk") && msg.contains("not the ones summary.json recorded"),
        "{msg}"
    );

    // A learnable head records no vertices (its weights are in the model).
    let learnable = tmp.path().join("learnable");
    let cfg = TrainConfig {
        head: reponet::nn::HeadKind::Learnable,
        epochs: 1,
        ..config_small()
    };
    train(
        &cfg,
        &learnable,
        false,
        &Compute::default(),
        &mut SilentObserver,
    )
    .unwrap();
    let saved = std::fs::read_to_string(learnable.join(RunDir::CONFIG)).unwrap();
    assert!(!saved.contains("head_vertices"), "{saved}");
}

fn config_small() -> TrainConfig {
    TrainConfig {
        limit_train: Some(64),
        ..config()
    }
}

#[test]
fn the_spread_cache_is_checksummed_and_its_generator_named() {
    let dir = tempfile::tempdir().unwrap();
    let first = Polytope::spread(9, 3, 1, Some(dir.path())).unwrap();
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    // Flip the lowest bit of one coordinate: still unit rows to 1e-9, which the old format
    // accepted; the checksum does not, and the vertices are computed again.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 8;
    bytes[last] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    assert_eq!(Polytope::spread(9, 3, 1, Some(dir.path())).unwrap(), first);
    assert_ne!(std::fs::read(&file).unwrap(), bytes, "rewritten");
    assert!(
        first.recipe().contains("seed 1 on ChaCha12"),
        "{}",
        first.recipe()
    );
    // Pinned: the ChaCha12 stream is specified, so the optimiser starts from the same
    // points on every version of `rand` (the value is the starting points' first row).
    let start = reponet::geometry::spread::initial_points(2, 3, 0);
    let sum: f64 = start[0].iter().sum();
    assert!((sum - PINNED_FIRST_ROW_SUM).abs() < 1e-12, "{sum:.17}");
}

/// The sum of the first starting point of `initial_points(2, 3, 0)`, recorded when the
/// generator was pinned to ChaCha12 (equal to rand 0.9's `StdRng` then).
const PINNED_FIRST_ROW_SUM: f64 = 0.451_471_247_775_553_86;
