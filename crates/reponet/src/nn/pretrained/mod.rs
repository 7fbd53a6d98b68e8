//! Weights users already have: torchvision's and timm's ResNets as PyTorch saved them
//! (`.pth` / `.pt` state dicts, also nested under `state_dict` or `model`) or as
//! `.safetensors`, read without running anything, checked name by name and shape by
//! shape against the network before they replace its weights.

mod pickle_guard;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use pickle_guard::Refusal;

/// Which models take pretrained weights, for messages.
pub const PRETRAINED_MODELS: &str =
    "pretrained weights load into resnet18, resnet34 and resnet50 (torchvision's architectures)";

/// One tensor of a weight file, as `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileTensor {
    /// Extents, outermost first.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// The tensors of a weight file under their parameter names, with the wrappers' prefixes
/// taken off (`state_dict.`, `model.`, DataParallel's `module.`).
#[derive(Debug, Clone)]
pub struct WeightFile {
    /// Where they were read from.
    pub path: PathBuf,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// By name.
    pub tensors: BTreeMap<String, FileTensor>,
}

/// Why a weight file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// The file could not be read.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The file is not a weight file reponet reads.
    #[error("{path}: {problem}", path = .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The pickle asks for more than tensors: refused before anything was read from it.
    #[error("{path}: refused, nothing in it was run: {refusal}. A state dict saved with torch.save(model.state_dict(), FILE) names only tensor-rebuilding functions; convert other files to .safetensors in a Python you trust", path = .path.display())]
    Unsafe {
        /// The file.
        path: PathBuf,
        /// What it asked for.
        refusal: String,
    },
    /// The tensors do not fit the network.
    #[error("{path}: these weights are not a {model}: {problems}", path = .path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The network they were to be loaded into.
        model: String,
        /// Missing, extra and misshapen tensors, named.
        problems: String,
    },
}

impl WeightFile {
    /// Read `path`: `.safetensors` by its header, anything else as a PyTorch file (ZIP
    /// archive or the legacy format) after [`pickle_guard`] has accepted its pickles.
    pub fn read(path: &Path) -> Result<Self, WeightsError> {
        let io = |source| WeightsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let format = |problem: String| WeightsError::Format {
            path: path.to_path_buf(),
            problem,
        };
        let bytes = std::fs::read(path).map_err(io)?;
        let raw = if path.extension().is_some_and(|e| e == "safetensors") {
            read_safetensors(&bytes).map_err(format)?
        } else {
            check_pickles(&bytes).map_err(|e| match e {
                PickleCheck::Refused(r) => WeightsError::Unsafe {
                    path: path.to_path_buf(),
                    refusal: r.to_string(),
                },
                PickleCheck::Format(p) => format(p),
            })?;
            read_pytorch(path).map_err(format)?
        };
        if raw.is_empty() {
            return Err(format("it holds no tensors".into()));
        }
        use sha2::Digest;
        Ok(Self {
            path: path.to_path_buf(),
            sha256: format!("{:x}", sha2::Sha256::digest(&bytes)),
            tensors: without_wrappers(raw),
        })
    }

    /// Replace `expected`'s tensors by the file's: every name must be there with the same
    /// shape. `ignored` tells which of the file's other tensors may be left unused (the
    /// classifier of another task, batch counters); any other is an error, as the
    /// architecture differs. Errors name up to 8 tensors of each kind.
    pub fn take(
        &self,
        model: &str,
        expected: &[(String, Vec<usize>)],
        ignored: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, Vec<f32>>, WeightsError> {
        let mut missing = Vec::new();
        let mut misshapen = Vec::new();
        let mut taken = BTreeMap::new();
        for (name, shape) in expected {
            match self.tensors.get(name) {
                None => missing.push(name.clone()),
                Some(t) if &t.shape != shape => misshapen.push(format!(
                    "{name} is {:?} in the file, {shape:?} in the {model}",
                    t.shape
                )),
                Some(t) => {
                    taken.insert(name.clone(), t.values.clone());
                }
            }
        }
        let extra: Vec<String> = self
            .tensors
            .keys()
            .filter(|n| !taken.contains_key(*n) && !expected.iter().any(|(e, _)| e == *n))
            .filter(|n| !ignored(n))
            .cloned()
            .collect();
        let mut problems = Vec::new();
        for (what, list) in [
            ("missing", &missing),
            ("misshapen", &misshapen),
            ("not in the model", &extra),
        ] {
            if !list.is_empty() {
                let shown: Vec<&str> = list.iter().take(8).map(String::as_str).collect();
                let more = list.len().saturating_sub(8);
                problems.push(format!(
                    "{} {what}: {}{}",
                    list.len(),
                    shown.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        if problems.is_empty() {
            Ok(taken)
        } else {
            Err(WeightsError::Mismatch {
                path: self.path.clone(),
                model: model.to_string(),
                problems: problems.join("; "),
            })
        }
    }
}

enum PickleCheck {
    Refused(Refusal),
    Format(String),
}

/// Every pickle of a PyTorch file: the ZIP format's `*/data.pkl`, or the legacy format's
/// leading pickles (magic number, protocol, system information, the state dict, the
/// storage keys), then raw storages.
fn check_pickles(bytes: &[u8]) -> Result<(), PickleCheck> {
    if bytes.starts_with(b"PK") {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
            .map_err(|e| PickleCheck::Format(format!("not a readable ZIP archive ({e})")))?;
        let names: Vec<String> = archive
            .file_names()
            .filter(|n| n.ends_with(".pkl"))
            .map(String::from)
            .collect();
        if names.is_empty() {
            return Err(PickleCheck::Format(
                "a ZIP archive without data.pkl: not a file torch.save wrote".into(),
            ));
        }
        for name in names {
            let mut pickle = Vec::new();
            archive
                .by_name(&name)
                .and_then(|mut f| f.read_to_end(&mut pickle).map_err(Into::into))
                .map_err(|e| PickleCheck::Format(format!("{name} in the archive: {e}")))?;
            pickle_guard::check(&pickle).map_err(PickleCheck::Refused)?;
        }
        return Ok(());
    }
    if bytes.first() != Some(&0x80) {
        return Err(PickleCheck::Format(
            "neither a PyTorch file (ZIP archive or pickle) nor .safetensors (name it so)".into(),
        ));
    }
    let mut at = 0;
    for _ in 0..5 {
        if at >= bytes.len() || bytes[at] != 0x80 {
            break;
        }
        at += pickle_guard::check(&bytes[at..]).map_err(PickleCheck::Refused)?;
    }
    Ok(())
}

/// Tensors of a PyTorch file through burn-store's reader, which interprets tensor
/// rebuilding and nothing else.
fn read_pytorch(path: &Path) -> Result<BTreeMap<String, FileTensor>, String> {
    use burn_store::pytorch_reader::DType;
    let reader = burn_store::pytorch_reader::PytorchReader::new(path).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (name, tensor) in reader.into_tensors() {
        let dtype = match tensor.dtype() {
            DType::F32 => Dtype::F32,
            DType::F16 => Dtype::F16,
            DType::BF16 => Dtype::BF16,
            DType::F64 => Dtype::F64,
            // Batch counters and other integers: kept by name only (never loaded).
            _ => Dtype::Other,
        };
        let shape = tensor.shape().to_vec();
        let values = match dtype {
            Dtype::Other => Vec::new(),
            _ => to_f32(&tensor.read().map_err(|e| e.to_string())?, dtype),
        };
        out.insert(name, FileTensor { shape, values });
    }
    Ok(out)
}

fn read_safetensors(bytes: &[u8]) -> Result<BTreeMap<String, FileTensor>, String> {
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("not a readable safetensors file ({e})"))?;
    let mut out = BTreeMap::new();
    for (name, view) in file.tensors() {
        let tensor = FileTensor {
            shape: view.shape().to_vec(),
            // Batch counters and other integers: kept by name only (never loaded).
            values: safetensors_floats(&view).unwrap_or_default(),
        };
        out.insert(name, tensor);
    }
    Ok(out)
}

/// A safetensors tensor's values as `f32`, if it holds floating-point numbers (float32,
/// float16, bfloat16, float64).
pub(crate) fn safetensors_floats(view: &safetensors::tensor::TensorView) -> Option<Vec<f32>> {
    use safetensors::Dtype as S;
    let dtype = match view.dtype() {
        S::F32 => Dtype::F32,
        S::F16 => Dtype::F16,
        S::BF16 => Dtype::BF16,
        S::F64 => Dtype::F64,
        _ => return None,
    };
    Some(to_f32(view.data(), dtype))
}

#[derive(Clone, Copy)]
enum Dtype {
    F32,
    F16,
    BF16,
    F64,
    Other,
}

/// Little-endian (as both formats store them, and as `read` returns on x86 and ARM) values
/// as `f32`.
fn to_f32(bytes: &[u8], dtype: Dtype) -> Vec<f32> {
    match dtype {
        Dtype::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        Dtype::F64 => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
        Dtype::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        Dtype::Other => Vec::new(),
    }
}

/// Names without what training scripts wrap a state dict in: a checkpoint's `state_dict`
/// or `model` entry (timm's, Lightning's; its optimizer and other entries dropped), then
/// DataParallel's `module.` when every name has it.
fn without_wrappers(mut tensors: BTreeMap<String, FileTensor>) -> BTreeMap<String, FileTensor> {
    let strip = |tensors: BTreeMap<String, FileTensor>, prefix: &str| {
        tensors
            .into_iter()
            .filter_map(|(n, t)| n.strip_prefix(prefix).map(|n| (n.to_string(), t)))
            .collect()
    };
    for wrapper in ["state_dict.", "model."] {
        if tensors.keys().any(|n| n.starts_with(wrapper)) {
            tensors = strip(tensors, wrapper);
            break;
        }
    }
    if tensors.keys().all(|n| n.starts_with("module.")) {
        tensors = strip(tensors, "module.");
    }
    tensors
}
