use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::recipe::{Augment, LrSchedule, OptimizerKind, Recipe};
use super::{InvalidSetting, TrainError};
use crate::data::{
    dataset, dataset_header, locate_dataset_with, DataError, DataSplit, DatasetHeader,
    FolderOptions, ImageShape, LocatedDataset, Normalization, FEATURES_PREFIX, FOLDER_PREFIX,
};
use crate::geometry::{Polytope, PolytopeKind};
use crate::nn::pretrained::WeightFile;
use crate::nn::{Architecture, Backbone, HeadKind, LossKind, ModelKind, Stem};

/// Warm-up used by `--margin-warmup auto` when the margin exceeds 90 degrees (the simplex).
/// Margins of 90 degrees or less (orthoplex, cube) get none. Chosen from measurements: see
/// docs/reproducing.md, "Margin warm-up".
pub const DEFAULT_WARMUP_EPOCHS_ABOVE_90: f64 = 1.0;

/// The additive angular margin: the polytope's phi, or a fixed angle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginSetting {
    /// m = phi, the angle between neighbouring vertices (the paper's choice).
    Auto,
    /// A margin in degrees.
    Degrees(f64),
}

impl FromStr for MarginSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.trim_end_matches("deg")
            .parse::<f64>()
            .map(Self::Degrees)
            .map_err(|_| format!("margin '{s}': expected 'auto' or an angle in degrees, e.g. 60"))
    }
}

impl fmt::Display for MarginSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Degrees(d) => write!(f, "{d}"),
        }
    }
}

/// How many epochs the margin ramps up over.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarmupSetting {
    /// [`DEFAULT_WARMUP_EPOCHS_ABOVE_90`] if m > 90 degrees, else 0.
    Auto,
    /// The margin reaches its value after this many epochs.
    Epochs(f64),
}

impl FromStr for WarmupSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(Self::Auto);
        }
        s.parse::<f64>().map(Self::Epochs).map_err(|_| {
            format!("margin warm-up '{s}': expected 'auto' or a number of epochs, e.g. 1 or 0.5")
        })
    }
}

impl fmt::Display for WarmupSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Epochs(e) => write!(f, "{e}"),
        }
    }
}

/// How often a run writes `checkpoint.bin` in the middle of an epoch; it always writes one
/// at the end of every epoch. Checkpoints change nothing in the training itself: a run
/// resumed from any of them ends bit for bit as one never stopped (on the CPU).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointEvery {
    /// Once this many seconds of training have passed since the last checkpoint.
    Seconds(f64),
    /// Every this many steps.
    Steps(usize),
    /// At the end of each epoch only.
    Epoch,
}

impl CheckpointEvery {
    /// `--checkpoint-every`'s default: 10 minutes, so a SIGKILL or a power cut costs at most
    /// 10 minutes of work, for one write of about 10 MB (LeNet++ and Adam) every 10 minutes.
    pub const DEFAULT: Self = Self::Seconds(600.0);

    /// Whether a checkpoint is due after `steps` steps and `seconds` seconds since the last.
    pub fn due(self, steps: usize, seconds: f64) -> bool {
        match self {
            Self::Seconds(limit) => seconds >= limit,
            Self::Steps(n) => steps >= n,
            Self::Epoch => false,
        }
    }
}

impl Default for CheckpointEvery {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl FromStr for CheckpointEvery {
    type Err = String;

    /// `10m`, `90s`, `1h`, `500steps` or `epoch`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("checkpoint interval '{s}': expected a time (90s, 10m, 1h), a step count (500steps) or 'epoch'")
        };
        let t = s.trim().to_ascii_lowercase();
        if t == "epoch" {
            return Ok(Self::Epoch);
        }
        if let Some(n) = t.strip_suffix("steps").or_else(|| t.strip_suffix("step")) {
            return match n.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Self::Steps(n)),
                _ => Err(bad()),
            };
        }
        let (number, unit) = t.split_at(t.len().saturating_sub(1));
        let seconds_per = match unit {
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        match number.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x > 0.0 => Ok(Self::Seconds(x * seconds_per)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for CheckpointEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Seconds(s) if s % 3600.0 == 0.0 => write!(f, "{}h", s / 3600.0),
            Self::Seconds(s) if s % 60.0 == 0.0 => write!(f, "{}m", s / 60.0),
            Self::Seconds(s) => write!(f, "{s}s"),
            Self::Steps(n) => write!(f, "{n}steps"),
            Self::Epoch => f.write_str("epoch"),
        }
    }
}

/// Classes kept out of training, for recognition of unseen classes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldoutSetting {
    /// N classes drawn from `--seed` (a different set for each seed).
    Count(usize),
    /// These classes (dataset indices).
    Classes(Vec<usize>),
}

impl FromStr for HoldoutSetting {
    type Err = String;

    /// `3`: three classes drawn from the seed; `1,4,7`: those classes (`7,`: class 7 alone).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("holdout classes '{s}': expected a count (3) or class indices (1,4,7; one class: 7,)")
        };
        if !s.contains(',') {
            return s.trim().parse().map(Self::Count).map_err(|_| bad());
        }
        s.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| t.parse::<usize>().map_err(|_| bad()))
            .collect::<Result<Vec<_>, _>>()
            .map(Self::Classes)
    }
}

/// Class indices joined by `sep`, e.g. "2, 5, 9", for messages and tables.
pub fn class_list(classes: &[usize], sep: &str) -> String {
    classes
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(sep)
}

impl fmt::Display for HoldoutSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(n) => write!(f, "{n}"),
            Self::Classes(c) => write!(f, "{},", class_list(c, ",")),
        }
    }
}

impl HoldoutSetting {
    /// The held-out classes of a dataset with `classes` classes, sorted; `Count` draws them
    /// from `seed`. Refuses settings that leave fewer than 2 classes to train on.
    pub fn resolve(&self, classes: usize, seed: u64) -> Result<Vec<usize>, InvalidSetting> {
        let mut held = match self {
            Self::Count(n) => {
                use rand::seq::SliceRandom;
                use rand::SeedableRng;
                let mut all: Vec<usize> = (0..classes).collect();
                let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(seed ^ 0x486F_6C64_4F75_7421);
                all.shuffle(&mut rng);
                all.truncate(*n);
                all
            }
            Self::Classes(c) => c.clone(),
        };
        held.sort_unstable();
        held.dedup();
        if let Some(c) = held.iter().find(|&&c| c >= classes) {
            return Err(InvalidSetting::new(
                "holdout_classes",
                self,
                &format!(
                    "class {c} does not exist (the dataset has classes 0..{})",
                    classes - 1
                ),
            ));
        }
        if held.is_empty() || held.len() + 2 > classes {
            return Err(InvalidSetting::new(
                "holdout_classes",
                self,
                &format!(
                    "hold out at least 1 class and keep at least 2 of the {classes} to train on"
                ),
            ));
        }
        Ok(held)
    }
}

/// Epochs of the paper's recipe, which does not state its count: chosen from RESULTS.md's
/// 30-epoch study (full MNIST, seed 0), where the fixed simplex reaches its plateau (99.29 %
/// after epoch 6; 99.28 to 99.31 % on average over epochs 11-30). The learnable simplex
/// levels off later, at about epoch 10 (99.20 % after 6, 99.41 % on average after 10).
pub const DEFAULT_EPOCHS: usize = 6;

/// Everything a training run needs, as the user asked for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// A dataset of the registry (`reponet data list`), e.g. `mnist`, `mnist-sample`, or
    /// `folder:PATH`, a folder of one's own images (see `data::ImageFolder`).
    pub dataset: String,
    /// How a folder dataset's images are read (ignored by the registry's datasets).
    #[serde(default)]
    pub folder: FolderOptions,
    /// Where the data is: a folder holding the dataset's files, or the data root holding
    /// `NAME/`; `None`: `$REPONET_DATA`, then the cache directory (see `data::DataRoot`).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// The polytope: the fixed head's weights, and d and phi (the margin) for either head.
    pub polytope: PolytopeKind,
    /// Feature dimension for the classifiers that take one (hadamard, spread); `None`: the
    /// polytope's own (see `PolytopeKind::default_dim`).
    #[serde(default)]
    pub dim: Option<usize>,
    /// Fixed or learnable classifier.
    pub head: HeadKind,
    /// Softmax, cosine or margin loss.
    pub loss: LossKind,
    /// Scale s of the normalised logits.
    pub scale: f64,
    /// Additive angular margin.
    pub margin: MarginSetting,
    /// Margin warm-up.
    pub margin_warmup: WarmupSetting,
    /// Passes over the training set.
    pub epochs: usize,
    /// Images per step.
    pub batch_size: usize,
    /// The base learning rate (of `optimizer`, before `lr_schedule` and `lr_warmup`).
    pub lr: f64,
    /// Seeds initialisation, shuffling and held-out class draws.
    pub seed: u64,
    /// Train on the first N training images only.
    pub limit_train: Option<usize>,
    /// Test on the first N test images only.
    pub limit_test: Option<usize>,
    /// Classes left out of training (evaluated as unseen classes); `None`: train on all.
    #[serde(default)]
    pub holdout_classes: Option<HoldoutSetting>,
    /// How often to checkpoint within an epoch (runs saved before this option: the default).
    #[serde(default)]
    pub checkpoint_every: CheckpointEvery,
    /// The backbone (runs saved before this option: LeNet++, as every recipe field below
    /// defaults to the paper's).
    #[serde(default)]
    pub model: ModelKind,
    /// The stem of the ImageNet-family ResNets (`auto`: by image size).
    #[serde(default)]
    pub stem: Stem,
    /// Adam or SGD (with momentum 0.9).
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Nesterov momentum (SGD only).
    #[serde(default)]
    pub nesterov: bool,
    /// L2 weight decay added to every gradient (PyTorch's `weight_decay`).
    #[serde(default)]
    pub weight_decay: f64,
    /// How the learning rate changes over the run.
    #[serde(default)]
    pub lr_schedule: LrSchedule,
    /// Epochs over which the learning rate rises linearly from 0, step by step.
    #[serde(default)]
    pub lr_warmup: f64,
    /// What is done to each training image.
    #[serde(default)]
    pub augment: Augment,
    /// Pretrained weights the backbone starts from (resnet18/34/50, torchvision's names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<PathBuf>,
    /// What stays as it started.
    #[serde(default)]
    pub freeze: Freeze,
    /// Where the input normalisation comes from.
    #[serde(default)]
    pub input_norm: InputNorm,
    /// `mlp`'s hidden width (`None`: [`Backbone::DEFAULT_HIDDEN`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<usize>,
    /// `mlp`'s hidden layers, each of `hidden` values (`None`: 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_layers: Option<usize>,
}

/// Which weights stay as they started (`--freeze`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Freeze {
    /// Everything trains.
    #[default]
    None,
    /// A ResNet's stem and stages (batch norm on its running statistics): only the
    /// projection to d and its batch norm train, a linear probe onto the polytope.
    Backbone,
}

/// Where the input's per-channel mean and standard deviation come from (`--input-norm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum InputNorm {
    /// The registry's figures, or measured on the training split.
    #[default]
    Dataset,
    /// ImageNet's, which torchvision's and timm's pretrained ResNets were trained with.
    Imagenet,
}

impl InputNorm {
    /// ImageNet's per-channel mean and standard deviation (torchvision's `transforms`
    /// documentation; pixels in [0, 1]).
    pub const IMAGENET: Normalization = Normalization {
        mean: 0.449,
        std: 0.226,
        per_channel: Some(crate::data::ChannelStats {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        }),
    };
}

impl TrainConfig {
    /// The paper's recipe on MNIST: simplex, fixed head, margin loss, s = 30, m = phi,
    /// Adam 0.0005, batch 512, [`DEFAULT_EPOCHS`] epochs.
    pub fn paper_defaults(data_dir: Option<PathBuf>) -> Self {
        Self {
            dataset: "mnist".into(),
            folder: FolderOptions::default(),
            data_dir,
            polytope: PolytopeKind::Simplex,
            dim: None,
            head: HeadKind::Fixed,
            loss: LossKind::Margin,
            scale: 30.0,
            margin: MarginSetting::Auto,
            margin_warmup: WarmupSetting::Auto,
            epochs: DEFAULT_EPOCHS,
            batch_size: 512,
            lr: 0.0005,
            seed: 0,
            limit_train: None,
            limit_test: None,
            holdout_classes: None,
            checkpoint_every: CheckpointEvery::DEFAULT,
            model: ModelKind::LenetPlusPlus,
            stem: Stem::Auto,
            optimizer: OptimizerKind::Adam,
            nesterov: false,
            weight_decay: 0.0,
            lr_schedule: LrSchedule::Constant,
            lr_warmup: 0.0,
            augment: Augment::None,
            weights: None,
            freeze: Freeze::None,
            input_norm: InputNorm::Dataset,
            hidden: None,
            hidden_layers: None,
        }
    }

    /// The same configuration training `model` with its recipe ([`Recipe::default_for`]):
    /// optimizer, learning rate, weight decay, schedule, batch size and augmentation.
    pub fn with_model(mut self, model: ModelKind) -> Self {
        let recipe = Recipe::default_for(model);
        self.model = model;
        self.optimizer = recipe.optimizer;
        self.lr = recipe.lr;
        self.weight_decay = recipe.weight_decay;
        self.lr_schedule = recipe.lr_schedule;
        self.batch_size = recipe.batch_size;
        self.augment = recipe.augment;
        self
    }

    /// The model, the optimizer and the augmentation against each other and the data.
    fn check_recipe(&self, header: &DatasetHeader) -> Result<(), TrainError> {
        let bad = |field, value: &dyn std::fmt::Display, problem: &str| {
            Err(TrainError::Config(InvalidSetting::new(
                field, value, problem,
            )))
        };
        let features = self.dataset.starts_with(FEATURES_PREFIX);
        if features != self.model.takes_features() {
            return bad(
                "model",
                &self.model,
                if features {
                    "a features: dataset takes --model linear or --model mlp"
                } else {
                    "linear and mlp take precomputed features: --dataset features:FILE (written by `reponet embed --model ... --weights ... --dataset folder:PATH`)"
                },
            );
        }
        let (hidden_field, hidden_value) = match (self.hidden, self.hidden_layers) {
            (Some(n), _) => ("hidden", n),
            (None, layers) => ("hidden_layers", layers.unwrap_or(0)),
        };
        let hidden_given = self.hidden.is_some() || self.hidden_layers.is_some();
        if hidden_given && self.model != ModelKind::Mlp {
            return bad(hidden_field, &hidden_value, "applies to --model mlp");
        }
        if self.hidden == Some(0) || self.hidden_layers == Some(0) {
            return bad(
                hidden_field,
                &0,
                "an mlp needs at least 1 hidden layer of at least 1 value (none: --model linear)",
            );
        }
        if features && self.augment != Augment::None {
            return bad(
                "augment",
                &self.augment,
                "features cannot be cropped or mirrored: use none",
            );
        }
        let input = header.shape;
        let min = self.model.min_side(self.stem, input);
        if input.rows < min || input.cols < min {
            return bad(
                "model",
                &self.model,
                &format!(
                    "takes images of at least {min} x {min} pixels (with the {} stem), and these are {} x {}: resize them (folder datasets: --image-size) or choose another model",
                    self.model.stem(self.stem, input),
                    input.rows,
                    input.cols
                ),
            );
        }
        if self.stem != Stem::Auto && !self.model.has_stem_choice() {
            return bad(
                "stem",
                &self.stem,
                "applies to resnet18, resnet34 and resnet50 only (the CIFAR ResNets always have the 3x3 stem; LeNet++ has none)",
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                &self.weight_decay,
                "must be 0 or more (ResNets: 5e-4)",
            );
        }
        if !(self.lr_warmup.is_finite()
            && self.lr_warmup >= 0.0
            && self.lr_warmup < self.epochs as f64)
        {
            return bad(
                "lr_warmup",
                &self.lr_warmup,
                &format!(
                    "must be 0 or more epochs, and fewer than the run's {}",
                    self.epochs
                ),
            );
        }
        if let LrSchedule::Step(epochs) = &self.lr_schedule {
            if let Some(e) = epochs.iter().find(|&&e| e > self.epochs || e < 2) {
                return bad(
                    "lr_schedule",
                    &self.lr_schedule,
                    &format!(
                        "epoch {e} is outside the run: the rate can drop from epoch 2 to epoch {}",
                        self.epochs
                    ),
                );
            }
        }
        if self.nesterov && self.optimizer != OptimizerKind::Sgd {
            return bad(
                "nesterov",
                &true,
                "is a form of SGD momentum: use it with --optimizer sgd",
            );
        }
        if self.weights.is_some() && !self.model.has_stem_choice() {
            return bad(
                "weights",
                &self.model,
                crate::nn::pretrained::PRETRAINED_MODELS,
            );
        }
        if self.weights.is_some() && self.stem == Stem::Cifar {
            return bad(
                "stem",
                &self.stem,
                "pretrained torchvision and timm ResNets have the imagenet stem (7x7 stride 2, max-pool): leave --stem out",
            );
        }
        if self.weights.is_some() && input.channels != 3 {
            return bad(
                "weights",
                &self.dataset,
                &format!(
                    "pretrained ResNets take RGB images, and these have {} channel(s): folder datasets read them as RGB with --channels 3",
                    input.channels
                ),
            );
        }
        if self.freeze == Freeze::Backbone && self.model.resnet().is_none() {
            return bad(
                "freeze",
                &self.freeze,
                "applies to the ResNets (LeNet++ has no backbone apart from its projection to d)",
            );
        }
        if self.augment.flips() && !header.mirrorable {
            return bad(
                "augment",
                &self.augment,
                &format!(
                    "{} holds digits or letters, which a mirror turns into other symbols: use crop",
                    self.dataset
                ),
            );
        }
        Ok(())
    }

    /// The image limit of `split` (`--limit-train` or `--limit-test`).
    pub fn limit(&self, split: DataSplit) -> Option<usize> {
        match split {
            DataSplit::Train => self.limit_train,
            DataSplit::Test => self.limit_test,
        }
    }

    /// Check every option and work out the derived settings, before any work starts.
    pub fn resolve(&self) -> Result<ResolvedConfig, TrainError> {
        let header = dataset_header(&self.dataset, &self.folder)?;
        self.resolve_with(header)
    }

    /// [`TrainConfig::resolve`], with a folder dataset opened once for both the checks and
    /// the training that follows ([`super::train_prepared`]); a registry dataset is located
    /// when training starts.
    pub fn prepare(&self) -> Result<PreparedRun, TrainError> {
        if !self.dataset.starts_with(FOLDER_PREFIX) {
            return Ok(PreparedRun {
                resolved: self.resolve()?,
                folder: None,
            });
        }
        // As the run records it (see `resolve_with`): the folder's absolute path.
        let path = self.dataset.trim_start_matches(FOLDER_PREFIX);
        let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
        let name = format!("{FOLDER_PREFIX}{}", absolute.display());
        let folder = locate_dataset_with(&name, None, &self.folder)?;
        Ok(PreparedRun {
            resolved: self.resolve_with(folder.header.clone())?,
            folder: Some(folder),
        })
    }

    fn resolve_with(&self, header: DatasetHeader) -> Result<ResolvedConfig, TrainError> {
        let bad = |field, value: &dyn std::fmt::Display, problem: &str| {
            Err(TrainError::Config(InvalidSetting::new(
                field, value, problem,
            )))
        };
        let is_folder = self.dataset.starts_with(FOLDER_PREFIX);
        if !is_folder && self.folder != FolderOptions::default() {
            return bad(
                "dataset",
                &self.dataset,
                "image size, channels, test fraction, split seed and skipping bad images apply to folder datasets (folder:PATH) only",
            );
        }
        if !(self.scale.is_finite() && self.scale > 0.0) {
            return bad(
                "scale",
                &self.scale,
                "must be a positive number (the paper uses 30)",
            );
        }
        if self.epochs == 0 {
            return bad("epochs", &0, "train for at least 1 epoch");
        }
        if self.batch_size == 0 {
            return bad("batch_size", &0, "must be at least 1 (the paper uses 512)");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad(
                "lr",
                &self.lr,
                "must be a positive number (the paper uses 0.0005)",
            );
        }
        for (field, limit) in [
            ("limit_train", self.limit_train),
            ("limit_test", self.limit_test),
        ] {
            if limit == Some(0) {
                return bad(field, &0, "keep at least 1 image");
            }
        }
        self.check_recipe(&header)?;
        let held_out = match &self.holdout_classes {
            Some(h) => h
                .resolve(header.class_names.len(), self.seed)
                .map_err(TrainError::Config)?,
            None => Vec::new(),
        };
        // The polytope has one class vertex per class trained on.
        let classes = header.class_names.len() - held_out.len();
        let polytope = Polytope::with_dim(self.polytope, classes, self.dim)?;
        if polytope.dim() == 1 && self.loss != LossKind::Softmax {
            // Found training 2 classes: 6 steps moved no weight but through weight decay.
            return bad(
                "polytope",
                &self.polytope,
                &format!(
                    "with {classes} classes it has d = 1, where a unit-length feature is +1 or -1 and carries no gradient, so nothing would learn: use --polytope polygon (d = 2) or --polytope hadamard --dim 4"
                ),
            );
        }
        let margin_degrees = match self.margin {
            MarginSetting::Auto => polytope.phi_degrees(),
            MarginSetting::Degrees(d) if d > 0.0 && d < 180.0 => d,
            MarginSetting::Degrees(d) => {
                return bad(
                    "margin",
                    &d,
                    "must be 'auto' or an angle strictly between 0 and 180 degrees",
                )
            }
        };
        let warmup_epochs = match self.margin_warmup {
            WarmupSetting::Epochs(e) if e.is_finite() && e >= 0.0 => e,
            WarmupSetting::Epochs(e) => {
                return bad(
                    "margin_warmup",
                    &e,
                    "must be 'auto' or a number of epochs >= 0",
                )
            }
            WarmupSetting::Auto if margin_degrees > 90.0 => DEFAULT_WARMUP_EPOCHS_ABOVE_90,
            WarmupSetting::Auto => 0.0,
        };
        let mut request = self.clone();
        let weights_sha256 = match &self.weights {
            Some(path) => {
                // The stem follows the weights: torchvision's, whatever the image size.
                request.stem = Stem::Imagenet;
                Some(check_weights(path, &request, header.shape, polytope.dim())?)
            }
            None => None,
        };
        if let Some(path) = self.dataset.strip_prefix(FEATURES_PREFIX) {
            // Evaluation reads the same file from wherever it runs.
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
            request.dataset = format!("{FEATURES_PREFIX}{}", absolute.display());
        }
        if is_folder {
            // Evaluation reads the same folder from wherever it runs, at the same shape.
            let path = self.dataset.trim_start_matches(FOLDER_PREFIX);
            let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.into());
            request.dataset = format!("{FOLDER_PREFIX}{}", absolute.display());
            request.folder.image_size = Some([header.shape.rows, header.shape.cols]);
            request.folder.channels = Some(header.shape.channels);
        }
        Ok(ResolvedConfig {
            request,
            classes,
            dim: polytope.dim(),
            num_outputs: polytope.num_vertices(),
            phi_degrees: polytope.phi_degrees(),
            margin_degrees,
            warmup_epochs,
            // Datasets without a measured normalisation get theirs from the training split
            // when training starts (see `train`).
            normalization: match self.input_norm {
                InputNorm::Imagenet => InputNorm::IMAGENET,
                InputNorm::Dataset => header
                    .normalization
                    .unwrap_or(Normalization::uniform(0.0, 1.0)),
            },
            weights_sha256,
            input: header.shape,
            class_names: header.class_names,
            bad_images_skipped: 0,
            data_source: String::new(),
            held_out,
            head_vertices: (self.head == HeadKind::Fixed).then(|| HeadVertices::of(&polytope)),
        })
    }
}

/// A checked configuration, with its folder dataset opened (scanned once).
#[derive(Debug, Clone)]
pub struct PreparedRun {
    /// Every derived setting.
    pub resolved: ResolvedConfig,
    /// The folder dataset, scanned; `None` for a registry dataset.
    pub folder: Option<LocatedDataset>,
}

/// What a fixed head's vertices were when the run was trained: a fixed head is rebuilt from
/// the polytope when a run loads, not saved with the weights, so this lets loading refuse
/// vertices that came out differently (a changed generator, a corrupt cache) instead of
/// predicting with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadVertices {
    /// [`Polytope::fingerprint`]: SHA-256 of the `f32` vertex matrix.
    pub sha256: String,
    /// [`Polytope::recipe`]: how they were made.
    pub made_by: String,
}

impl HeadVertices {
    /// The record of `polytope`'s vertices.
    pub fn of(polytope: &Polytope) -> Self {
        Self {
            sha256: polytope.fingerprint(),
            made_by: polytope.recipe(),
        }
    }
}

/// A validated configuration with every derived value spelled out; saved as `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedConfig {
    /// What was asked for.
    pub request: TrainConfig,
    /// Classes trained on.
    pub classes: usize,
    /// Feature dimension d.
    pub dim: usize,
    /// Outputs of the head (= classes).
    pub num_outputs: usize,
    /// Angle between neighbouring vertices, degrees.
    pub phi_degrees: f64,
    /// The margin used by the margin loss (ignored by the other losses).
    pub margin_degrees: f64,
    /// Epochs of margin warm-up.
    pub warmup_epochs: f64,
    /// Input normalisation.
    pub normalization: Normalization,
    /// The shape of the network's input (runs saved before shapes were recorded: MNIST's).
    #[serde(default)]
    pub input: ImageShape,
    /// The dataset's class names by label, held-out classes included (runs saved before
    /// they were recorded: the registry's).
    #[serde(default)]
    pub class_names: Vec<String>,
    /// Training and test images left out as unreadable (`skip_bad_images`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub bad_images_skipped: usize,
    /// Where the training data was read from.
    #[serde(default)]
    pub data_source: String,
    /// Dataset classes left out of training, sorted; the others are relabelled 0.. in
    /// order, so `classes` counts only those trained on.
    #[serde(default)]
    pub held_out: Vec<usize>,
    /// SHA-256 of the pretrained weights the run started from (`request.weights`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_sha256: Option<String>,
    /// A fixed head's vertices as trained with (absent for a learnable head, and in runs
    /// saved before reponet recorded them: those load unchecked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_vertices: Option<HeadVertices>,
}

impl ResolvedConfig {
    /// The backbone to build: model, stem and input shape.
    pub fn architecture(&self) -> Architecture {
        Architecture {
            model: self.request.model,
            stem: self.request.stem,
            input: self.input,
            hidden: (self.request.model == ModelKind::Mlp).then(|| {
                (
                    self.request.hidden_layers.unwrap_or(1),
                    self.request.hidden.unwrap_or(Backbone::DEFAULT_HIDDEN),
                )
            }),
        }
    }

    /// Classes of the dataset, held-out ones included.
    pub fn dataset_classes(&self) -> usize {
        self.classes + self.held_out.len()
    }

    /// The dataset's class names by label, held-out classes included.
    pub fn all_class_names(&self) -> Vec<String> {
        if !self.class_names.is_empty() {
            return self.class_names.clone();
        }
        match dataset(&self.request.dataset) {
            Ok(info) => info.class_names.iter().map(|n| n.to_string()).collect(),
            Err(_) => (0..self.dataset_classes()).map(|c| c.to_string()).collect(),
        }
    }

    /// The names of the classes trained on, in their (relabelled) order.
    pub fn trained_class_names(&self) -> Vec<String> {
        self.all_class_names()
            .into_iter()
            .enumerate()
            .filter(|(c, _)| !self.held_out.contains(c))
            .map(|(_, n)| n)
            .collect()
    }

    /// The run's dataset, located as it was trained: `data_dir` (if given) for the
    /// configured one, a folder dataset at its recorded shape.
    pub fn locate_data(&self, data_dir: Option<&Path>) -> Result<LocatedDataset, DataError> {
        let request = &self.request;
        locate_dataset_with(
            &request.dataset,
            data_dir.or(request.data_dir.as_deref()),
            &request.folder,
        )
    }

    /// The polytope of this configuration.
    ///
    /// For a fixed head the vertices are checked against [`ResolvedConfig::head_vertices`]:
    /// different ones are an error naming both, never a silently different classifier.
    pub fn polytope(&self) -> Result<Polytope, TrainError> {
        let polytope = Polytope::with_dim(self.request.polytope, self.classes, Some(self.dim))?;
        match &self.head_vertices {
            Some(saved) if saved.sha256 != polytope.fingerprint() => {
                Err(TrainError::VerticesChanged {
                    saved: saved.clone(),
                    rebuilt: HeadVertices::of(&polytope),
                })
            }
            _ => Ok(polytope),
        }
    }
}

/// Read `path` and check it fits `request`'s backbone (built once, on the CPU, and
/// dropped), before any run folder is written; its SHA-256.
fn check_weights(
    path: &Path,
    request: &TrainConfig,
    input: ImageShape,
    dim: usize,
) -> Result<String, TrainError> {
    let weights = WeightFile::read(path)?;
    let device = burn::tensor::Device::flex();
    crate::nn::built_apart(|| Backbone::new(request.model, request.stem, dim, input, &device))
        .with_pretrained(&weights, request.model)?;
    Ok(weights.sha256)
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
