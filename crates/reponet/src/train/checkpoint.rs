//! `checkpoint.bin`: everything needed to continue a run exactly where it stopped.
//!
//! One file, written atomically, so a run always has either its previous checkpoint or the
//! new one, never a mix: a magic line, then three length-prefixed parts: the training state
//! as JSON, the model's burnpack bytes, the optimizer's burnpack bytes. There is no random
//! number generator state to save: the order of epoch `e` is drawn from a generator seeded
//! with (seed, e), so the epoch and step say where the data stream stands.

use std::path::Path;

use burn::module::Module;
use burn::optim::{ModuleOptimizer, OptimizerRecord};
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use super::{write_atomic, EpochMetrics, TrainError};
use crate::nn::Network;

const MAGIC: &[u8; 16] = b"reponet-ckpt-v1\n";

/// Where training stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingState {
    /// The epoch in progress (1-based) and the steps of it already taken; `step == 0` means
    /// the epoch has not started (the previous one is complete and in `history`).
    pub epoch: usize,
    /// Steps of the epoch already taken.
    pub step: usize,
    /// Steps taken over the whole run (drives the margin warm-up).
    pub global_step: usize,
    /// Running sums of the epoch in progress.
    pub loss_sum: f64,
    /// Correct predictions so far in the epoch.
    pub correct: usize,
    /// Images seen so far in the epoch.
    pub seen: usize,
    /// Training seconds spent in the epoch in progress before the checkpoint.
    pub epoch_seconds: f64,
    /// Wall seconds of the run before the checkpoint.
    pub run_seconds: f64,
    /// Completed epochs.
    pub history: Vec<EpochMetrics>,
}

impl TrainingState {
    /// The state of a run before its first step.
    pub fn start() -> Self {
        Self {
            epoch: 1,
            step: 0,
            global_step: 0,
            loss_sum: 0.0,
            correct: 0,
            seen: 0,
            epoch_seconds: 0.0,
            run_seconds: 0.0,
            history: Vec::new(),
        }
    }
}

/// Write the checkpoint atomically to `path`.
pub fn save_checkpoint(
    path: &Path,
    state: &TrainingState,
    model: &Network,
    optimizer: &ModuleOptimizer,
) -> Result<(), TrainError> {
    let err = |e: String| TrainError::io(path, e);
    let json = serde_json::to_vec(state).expect("serialisable");
    let model = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| err(e.to_string()))?;
    let optim = optimizer
        .to_record()
        .into_bytes()
        .map_err(|e| err(e.to_string()))?;
    let mut bytes = Vec::with_capacity(16 + 24 + json.len() + model.len() + optim.len());
    bytes.extend_from_slice(MAGIC);
    for part in [&json[..], &model[..], &optim[..]] {
        bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
        bytes.extend_from_slice(part);
    }
    write_atomic(path, &bytes)
}

/// A checkpoint read back: the state, and records for a model and an optimizer.
pub struct Checkpoint {
    /// Where training is.
    pub state: TrainingState,
    /// The network's weights.
    pub model: ModuleRecord,
    /// Adam's moments.
    pub optimizer: OptimizerRecord,
}

/// Read `path`; a truncated or corrupt file is an error that names it.
pub fn load_checkpoint(path: &Path) -> Result<Checkpoint, TrainError> {
    let bad = |m: String| TrainError::Run {
        path: path.to_path_buf(),
        message: format!("corrupt checkpoint: {m}"),
    };
    let bytes = std::fs::read(path).map_err(|e| TrainError::io(path, e))?;
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("not a reponet checkpoint (wrong magic)".into()));
    }
    let mut rest = &bytes[MAGIC.len()..];
    let mut parts = Vec::new();
    for name in ["state", "model", "optimizer"] {
        if rest.len() < 8 {
            return Err(bad(format!("truncated before the {name} part")));
        }
        let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
        rest = &rest[8..];
        if (rest.len() as u64) < len {
            return Err(bad(format!(
                "truncated in the {name} part ({len} bytes announced, {} present)",
                rest.len()
            )));
        }
        let (part, tail) = rest.split_at(len as usize);
        parts.push(part.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} unexpected bytes at the end", rest.len())));
    }
    let optim = parts.pop().expect("three parts");
    let model = parts.pop().expect("three parts");
    let state = serde_json::from_slice(&parts[0]).map_err(|e| bad(format!("state: {e}")))?;
    let model = model_record_from_bytes(model).map_err(|e| bad(format!("model: {e}")))?;
    let optimizer = OptimizerRecord::from_bytes(Bytes::from_bytes_vec(optim))
        .map_err(|e| bad(format!("optimizer: {e}")))?;
    Ok(Checkpoint {
        state,
        model,
        optimizer,
    })
}

/// A model's burnpack bytes as a record. LeNet++ runs saved before reponet had other
/// backbones name their tensors `backbone.convs.0.weight`, ...; today's network holds the
/// backbone as one of several (`backbone.LeNet.convs.0.weight`): those are renamed.
pub fn model_record_from_bytes(bytes: Vec<u8>) -> Result<ModuleRecord, String> {
    const LEGACY: &str = "backbone.";
    const NOW: &str = "backbone.LeNet.";
    let bytes = Bytes::from_bytes_vec(bytes);
    let reader = burn_pack::Reader::from_bytes(bytes.clone()).map_err(|e| e.to_string())?;
    // Names under a Backbone variant are today's; others under "backbone." are LeNet++'s.
    let variants = [NOW, "backbone.ResNet.", "backbone.Mlp."];
    let legacy = reader
        .tensor_names()
        .iter()
        .any(|name| name.starts_with(LEGACY) && !variants.iter().any(|v| name.starts_with(v)));
    let bytes = if legacy {
        let tensors = reader
            .into_tensors()
            .and_then(|tensors| {
                tensors
                    .into_iter()
                    .map(|t| {
                        let (path, dtype, shape, id, data) = t.into_parts()?;
                        let path = match path.strip_prefix(LEGACY) {
                            Some(rest) => format!("{NOW}{rest}"),
                            None => path,
                        };
                        Ok(burn_pack::Tensor::new(path, dtype, shape, id, data))
                    })
                    .collect::<Result<Vec<_>, burn_pack::Error>>()
            })
            .map_err(|e| e.to_string())?;
        burn_pack::Writer::new(tensors)
            .into_bytes()
            .map_err(|e| e.to_string())?
    } else {
        bytes
    };
    ModuleRecord::from_bytes(bytes).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ImageShape;
    use crate::geometry::{Polytope, PolytopeKind};
    use crate::nn::HeadKind;
    use burn::tensor::Device;

    /// A LeNet++ saved before reponet had other backbones (tensors named `backbone.convs...`)
    /// loads into today's network with the same weights.
    #[test]
    fn lenet_records_saved_before_the_backbone_choice_still_load() {
        let device = Device::flex();
        let polytope = Polytope::new(PolytopeKind::Orthoplex, 10).unwrap();
        let saved = Network::seeded(
            &polytope,
            HeadKind::Learnable,
            ImageShape::MNIST,
            &device,
            3,
        );
        let bytes = saved.clone().into_record().into_bytes().unwrap();
        // Rewrite the file as the earlier reponet wrote it.
        let reader = burn_pack::Reader::from_bytes(bytes).unwrap();
        let tensors: Vec<_> = reader
            .into_tensors()
            .unwrap()
            .into_iter()
            .map(|t| {
                let (path, dtype, shape, id, data) = t.into_parts().unwrap();
                let old = path.replace("backbone.LeNet.", "backbone.");
                burn_pack::Tensor::new(old, dtype, shape, id, data)
            })
            .collect();
        assert!(tensors
            .iter()
            .any(|t| t.name.starts_with("backbone.convs.")));
        let legacy = burn_pack::Writer::new(tensors).into_bytes().unwrap();
        let record = model_record_from_bytes(legacy.to_vec()).unwrap();
        let fresh = Network::seeded(
            &polytope,
            HeadKind::Learnable,
            ImageShape::MNIST,
            &device,
            4,
        );
        assert_ne!(fresh.weights_sha256(), saved.weights_sha256());
        let loaded = fresh.try_load_record(record).unwrap();
        assert_eq!(loaded.weights_sha256(), saved.weights_sha256());
    }
}
