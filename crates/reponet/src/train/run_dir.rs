use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Device;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::checkpoint::load_checkpoint;
use super::run_lock::{is_temporary, RunLock, LOCK_FILE};
use super::{EpochMetrics, ResolvedConfig, TrainError, TrainSummary};
use crate::device::Compute;
use crate::geometry::Polytope;
use crate::nn::Network;

/// [`crate::atomic_file::write_atomic`], with the error naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    crate::atomic_file::write_atomic(path, bytes).map_err(|e| TrainError::io(path, e))
}

/// A run directory: `config.json`, `metrics.jsonl`, `checkpoint.bin` while unfinished, then
/// `model.bpk` and `summary.json`; `eval.json` after evaluation.
///
/// A `RunDir` made by [`RunDir::create`] or [`RunDir::open_for_writing`] holds the folder's
/// writer lock ([`RunLock`]) for as long as it (or a clone) lives.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
    lock: Option<RunLock>,
}

impl RunDir {
    /// The resolved configuration.
    pub const CONFIG: &'static str = "config.json";
    /// One line of metrics per finished epoch.
    pub const METRICS: &'static str = "metrics.jsonl";
    /// The trained network.
    pub const MODEL: &'static str = "model.bpk";
    /// Written when training finishes.
    pub const SUMMARY: &'static str = "summary.json";
    /// Written by `reponet eval`.
    pub const EVAL: &'static str = "eval.json";
    /// Written after every epoch (and on interruption); removed when the run completes.
    pub const CHECKPOINT: &'static str = "checkpoint.bin";

    /// The file an evaluation on `dataset` goes to in a run trained on `run_dataset`:
    /// [`RunDir::EVAL`] on its own dataset, else `eval-DATASET.json`, with any character
    /// outside letters, digits, `-` and `_` as `_` (`folder:~/photos` gives
    /// `eval-folder___photos.json`), so an evaluation elsewhere never stands in for the
    /// run's own.
    pub fn eval_file(run_dataset: &str, dataset: &str) -> String {
        if dataset == run_dataset {
            return Self::EVAL.to_string();
        }
        let safe: String = dataset
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("eval-{safe}.json")
    }

    /// Every file a run writes (and the `eval-*.json` of other datasets).
    const FILES: [&'static str; 6] = [
        Self::CONFIG,
        Self::METRICS,
        Self::MODEL,
        Self::SUMMARY,
        Self::EVAL,
        Self::CHECKPOINT,
    ];

    /// Create `root` for a new run. An existing non-empty folder is refused unless `force`,
    /// which deletes the files of an earlier run there (and nothing else), so no stale model
    /// or metrics can be mistaken for the new run's.
    pub fn create(root: &Path, force: bool) -> Result<Self, TrainError> {
        if root.exists() && !root.is_dir() {
            return Err(TrainError::Run {
                path: root.to_path_buf(),
                message: "is a file: the run goes into a folder; choose another --out".into(),
            });
        }
        if root.exists() {
            // The lock file and a killed writer's temporaries are not a run.
            let non_empty = fs::read_dir(root)
                .map_err(|e| TrainError::io(root, e))?
                .flatten()
                .any(|e| e.file_name() != LOCK_FILE && !is_temporary(&e.path()));
            if non_empty && !force {
                return Err(TrainError::OutputExists {
                    path: root.to_path_buf(),
                });
            }
        }
        fs::create_dir_all(root).map_err(|e| TrainError::io(root, e))?;
        let lock = RunLock::acquire(root)?;
        let other_evals: Vec<String> = fs::read_dir(root)
            .map_err(|e| TrainError::io(root, e))?
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with("eval-") && n.ends_with(".json"))
            .collect();
        for name in Self::FILES
            .iter()
            .copied()
            .chain(other_evals.iter().map(String::as_str))
        {
            let path = root.join(name);
            if path.exists() {
                fs::remove_file(&path).map_err(|e| TrainError::io(&path, e))?;
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
            lock: Some(lock),
        })
    }

    /// Open an existing run directory to continue writing it: [`RunDir::open`] plus the
    /// folder's writer lock, refused while another process holds it.
    pub fn open_for_writing(root: &Path) -> Result<Self, TrainError> {
        let mut run = Self::open(root)?;
        run.lock = Some(RunLock::acquire(root)?);
        Ok(run)
    }

    /// The run folder as a rank other than 0 of a data-parallel job sees it: a name to
    /// read from, not checked, not locked, never written by that rank.
    pub fn follower(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            lock: None,
        }
    }

    /// Open an existing run directory (it must hold `config.json`) for reading.
    pub fn open(root: &Path) -> Result<Self, TrainError> {
        if !root.is_dir() {
            return Err(TrainError::Run {
                path: root.to_path_buf(),
                message: if root.exists() {
                    "a file, not a run folder (`reponet train --out DIR` makes one)".into()
                } else {
                    "no such folder (`reponet train --out DIR` makes a run folder)".into()
                },
            });
        }
        if !root.join(Self::CONFIG).is_file() {
            return Err(TrainError::Run {
                path: root.to_path_buf(),
                message: format!(
                    "no {} (create a run with `reponet train --out DIR`)",
                    Self::CONFIG
                ),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            lock: None,
        })
    }

    /// The run folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of `name` inside the run folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Write `value` as pretty JSON to `name`, atomically.
    pub fn write_json<T: Serialize>(&self, name: &str, value: &T) -> Result<(), TrainError> {
        let mut text = serde_json::to_string_pretty(value).expect("serialisable");
        text.push('\n');
        write_atomic(&self.path(name), text.as_bytes())
    }

    /// Read `name` as JSON.
    pub fn read_json<T: DeserializeOwned>(&self, name: &str) -> Result<T, TrainError> {
        let path = self.path(name);
        let text = fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| TrainError::io(&path, format!("invalid JSON: {e}")))
    }

    /// Read `config.json`.
    pub fn config(&self) -> Result<ResolvedConfig, TrainError> {
        self.read_json(Self::CONFIG)
    }

    /// Rewrite `metrics.jsonl` with all epochs so far (whole-file atomic replace).
    pub fn write_metrics(&self, epochs: &[EpochMetrics]) -> Result<(), TrainError> {
        let mut text = String::new();
        for m in epochs {
            text.push_str(&serde_json::to_string(m).expect("serialisable"));
            text.push('\n');
        }
        write_atomic(&self.path(Self::METRICS), text.as_bytes())
    }

    /// Read `metrics.jsonl`.
    pub fn read_metrics(&self) -> Result<Vec<EpochMetrics>, TrainError> {
        let path = self.path(Self::METRICS);
        let text = fs::read_to_string(&path).map_err(|e| TrainError::io(&path, e))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l).map_err(|e| {
                    TrainError::io(&path, format!("line {}: invalid JSON: {e}", i + 1))
                })
            })
            .collect()
    }

    /// Write the network to `model.bpk`, atomically.
    pub fn save_model(&self, model: &Network) -> Result<(), TrainError> {
        let path = self.path(Self::MODEL);
        let bytes = model
            .clone()
            .into_record()
            .into_bytes()
            .map_err(|e| TrainError::io(&path, e))?;
        write_atomic(&path, &bytes)
    }

    /// The run's polytope, its fixed head's vertices checked against the ones it was
    /// trained with (an error naming `config.json` and both fingerprints if they differ).
    pub fn polytope(&self, config: &ResolvedConfig) -> Result<Polytope, TrainError> {
        config.polytope().map_err(|e| match e {
            TrainError::VerticesChanged { .. } => TrainError::Run {
                path: self.path(Self::CONFIG),
                message: e.to_string(),
            },
            other => other,
        })
    }

    /// The trained network of this run, on `device`: `model.bpk`, checked against the
    /// weights' SHA-256 in `summary.json`; or, while the run is still training, the model
    /// of its last complete checkpoint (the returned path says which file it came from).
    pub fn load_model(&self, device: &Device) -> Result<(ResolvedConfig, Network), TrainError> {
        self.load_model_from(device)
            .map(|(config, model, _)| (config, model))
    }

    /// [`RunDir::load_model`] on `compute`'s device, its convolutions on `compute`'s kernels:
    /// the model ready to compute with.
    pub fn load_model_on(
        &self,
        compute: &Compute,
    ) -> Result<(ResolvedConfig, Network), TrainError> {
        let (config, model) = self.load_model(&compute.device())?;
        Ok((config, model.with_conv_kernels(compute.conv)))
    }

    /// [`RunDir::load_model`], with the file the weights came from.
    pub fn load_model_from(
        &self,
        device: &Device,
    ) -> Result<(ResolvedConfig, Network, PathBuf), TrainError> {
        let config = self.config()?;
        let polytope = self.polytope(&config)?;
        let (path, record) = self.model_record()?;
        let model = Network::new(
            &polytope,
            config.request.head,
            config.architecture(),
            device,
        )
        .try_load_record(record)
        .map_err(|e| TrainError::io(&path, format!("model does not match config.json: {e}")))?;
        if path.ends_with(Self::MODEL) && self.path(Self::SUMMARY).exists() {
            let summary: TrainSummary = self.read_json(Self::SUMMARY)?;
            if let Some(saved) = summary.weights_sha256 {
                let found = model.weights_sha256();
                if found != saved {
                    return Err(TrainError::io(
                        &path,
                        format!("its weights (sha256 {found}) are not the ones summary.json recorded when training ended ({saved}): the file was changed or damaged"),
                    ));
                }
            }
        }
        Ok((config, model, path))
    }

    /// `model.bpk`'s record, or the last checkpoint's while the run trains. A run that
    /// completes between the two reads has its model read after all.
    fn model_record(&self) -> Result<(PathBuf, ModuleRecord), TrainError> {
        let model = self.path(Self::MODEL);
        let read_model = || {
            let bytes = fs::read(&model).map_err(|e| TrainError::io(&model, e))?;
            super::checkpoint::model_record_from_bytes(bytes)
                .map(|r| (model.clone(), r))
                .map_err(|e| TrainError::io(&model, format!("not a readable model file: {e}")))
        };
        let checkpoint = self.path(Self::CHECKPOINT);
        if model.exists() || !checkpoint.exists() {
            return read_model();
        }
        match load_checkpoint(&checkpoint) {
            Ok(c) => Ok((checkpoint, c.model)),
            Err(_) if model.exists() => read_model(),
            Err(e) => Err(e),
        }
    }
}
