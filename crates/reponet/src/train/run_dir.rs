use std::fs;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{EpochMetrics, ResolvedConfig, TrainError};
use crate::nn::Network;

/// [`crate::atomic_file::write_atomic`], with the error naming the file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    crate::atomic_file::write_atomic(path, bytes).map_err(|e| TrainError::io(path, e))
}

/// A run directory: `config.json`, `metrics.jsonl`, `checkpoint.bin` while unfinished, then
/// `model.bpk` and `summary.json`; `eval.json` after evaluation.
#[derive(Debug, Clone)]
pub struct RunDir {
    root: PathBuf,
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

    /// Every file a run writes.
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
        if root.exists() {
            let non_empty = fs::read_dir(root)
                .map_err(|e| TrainError::io(root, e))?
                .next()
                .is_some();
            if non_empty && !force {
                return Err(TrainError::Config(format!(
                    "output folder {} exists and is not empty: choose another --out, pass --force to overwrite it, or continue an interrupted run with --resume {}",
                    root.display(),
                    root.display()
                )));
            }
        }
        fs::create_dir_all(root).map_err(|e| TrainError::io(root, e))?;
        for name in Self::FILES {
            let path = root.join(name);
            if path.exists() {
                fs::remove_file(&path).map_err(|e| TrainError::io(&path, e))?;
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// Open an existing run directory (it must hold `config.json`).
    pub fn open(root: &Path) -> Result<Self, TrainError> {
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

    /// The trained network of this run, on `device`.
    pub fn load_model(&self, device: &Device) -> Result<(ResolvedConfig, Network), TrainError> {
        let config = self.config()?;
        let polytope = config.polytope()?;
        let path = self.path(Self::MODEL);
        let bytes = fs::read(&path).map_err(|e| TrainError::io(&path, e))?;
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| TrainError::io(&path, format!("not a readable model file: {e}")))?;
        let model = Network::new(&polytope, config.request.head, device)
            .try_load_record(record)
            .map_err(|e| TrainError::io(&path, format!("model does not match config.json: {e}")))?;
        Ok((config, model))
    }
}
