//! How a network is optimised: the optimizer, the learning rate over the run, weight decay,
//! augmentation, and each model's defaults.

use std::fmt;
use std::str::FromStr;

use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig};
use serde::{Deserialize, Serialize};

use crate::nn::ModelKind;

/// `--optimizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OptimizerKind {
    /// Adam, betas 0.9 / 0.999, epsilon 1e-8 (PyTorch's; the paper's optimizer).
    #[default]
    Adam,
    /// SGD with momentum 0.9 and no dampening (PyTorch's `SGD(momentum=0.9)`).
    Sgd,
}

/// SGD's momentum (the value every ResNet recipe uses).
pub const SGD_MOMENTUM: f64 = 0.9;

/// The optimizer of a run: `kind`, with L2 weight decay added to the gradient (PyTorch's
/// `weight_decay`, also for Adam) and Nesterov momentum for SGD if asked.
pub fn optimizer(kind: OptimizerKind, weight_decay: f64, nesterov: bool) -> ModuleOptimizer {
    let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
    match kind {
        // PyTorch's (and the paper's) epsilon; Burn's default is 1e-5.
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay)
            .init(),
        // Burn's momentum dampens by 0.1 unless told otherwise; PyTorch's does not.
        OptimizerKind::Sgd => SgdConfig::new()
            .with_momentum(Some(
                MomentumConfig::new()
                    .with_momentum(SGD_MOMENTUM)
                    .with_dampening(0.0)
                    .with_nesterov(nesterov),
            ))
            .with_weight_decay(decay)
            .init(),
    }
}

/// How the learning rate changes over the run (`--lr-schedule`), after any warm-up.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LrSchedule {
    /// The same rate throughout (the paper's).
    #[default]
    Constant,
    /// Half a cosine from the rate down to 0 at the last step (Loshchilov and Hutter 2017).
    Cosine,
    /// The rate times 0.1 from each of these epochs on (1-based: `step:30,60` divides by 10
    /// when epoch 30 starts and again at 60).
    Step(Vec<usize>),
}

impl FromStr for LrSchedule {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "constant" {
            return Ok(Self::Constant);
        }
        if t == "cosine" {
            return Ok(Self::Cosine);
        }
        let bad = || {
            format!("learning-rate schedule '{s}': expected constant, cosine or step:E1,E2,... (the epochs at which the rate is divided by 10, e.g. step:100,150)")
        };
        let epochs = t.strip_prefix("step:").ok_or_else(bad)?;
        let mut list = epochs
            .split(',')
            .map(|e| e.trim().parse::<usize>().ok().filter(|&e| e >= 1))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        list.sort_unstable();
        list.dedup();
        Ok(Self::Step(list))
    }
}

impl fmt::Display for LrSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant => f.write_str("constant"),
            Self::Cosine => f.write_str("cosine"),
            Self::Step(e) => write!(
                f,
                "step:{}",
                e.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
            ),
        }
    }
}

/// The learning rate of every step of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct LrPlan {
    base: f64,
    schedule: LrSchedule,
    warmup_steps: usize,
    steps_per_epoch: usize,
    total_steps: usize,
}

impl LrPlan {
    /// `base` following `schedule` over `epochs` of `steps_per_epoch`, after a linear
    /// warm-up from 0 over the first `warmup_epochs` (step by step).
    pub fn new(
        base: f64,
        schedule: LrSchedule,
        warmup_epochs: f64,
        epochs: usize,
        steps_per_epoch: usize,
    ) -> Self {
        let total_steps = epochs * steps_per_epoch;
        Self {
            base,
            schedule,
            warmup_steps: ((warmup_epochs * steps_per_epoch as f64).round() as usize)
                .min(total_steps),
            steps_per_epoch: steps_per_epoch.max(1),
            total_steps,
        }
    }

    /// The rate of step `global_step` (0-based over the run).
    pub fn at(&self, global_step: usize) -> f64 {
        if global_step < self.warmup_steps {
            return self.base * (global_step + 1) as f64 / self.warmup_steps as f64;
        }
        match &self.schedule {
            LrSchedule::Constant => self.base,
            LrSchedule::Cosine => {
                let span = (self.total_steps - self.warmup_steps).max(1) as f64;
                let t = (global_step - self.warmup_steps) as f64 / span;
                self.base * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
            }
            LrSchedule::Step(epochs) => {
                let epoch = global_step / self.steps_per_epoch + 1;
                let drops = epochs.iter().filter(|&&e| epoch >= e).count();
                self.base * 0.1f64.powi(drops as i32)
            }
        }
    }
}

/// `--augment`: what is done to each training image, drawn anew every epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Augment {
    /// The images as they are (the paper's).
    #[default]
    None,
    /// A random crop of the image padded by 4 black pixels on each side.
    Crop,
    /// The crop, then a horizontal flip half of the time (never for digits or letters).
    CropFlip,
}

impl Augment {
    /// Pixels of black padding around the image before cropping.
    pub const PAD: usize = 4;

    /// Whether images are mirrored.
    pub fn flips(self) -> bool {
        self == Self::CropFlip
    }
}

/// A model's training recipe: what `train` uses unless told otherwise.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// Its base learning rate.
    pub lr: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// The learning-rate schedule.
    pub lr_schedule: LrSchedule,
    /// Images per step.
    pub batch_size: usize,
    /// Augmentation (on datasets whose images may be mirrored; digits get `crop`).
    pub augment: Augment,
}

impl Recipe {
    /// LeNet++: the paper's (Adam 0.0005, batch 512, nothing else). The ResNets: the recipe
    /// they are trained with on CIFAR (He et al. 2016; the polytope authors' `cifar.py`):
    /// SGD 0.1 with momentum 0.9, weight decay 5e-4, cosine decay, batch 128, padded crops
    /// and flips.
    pub fn default_for(model: ModelKind) -> Self {
        match model {
            ModelKind::LenetPlusPlus => Self {
                optimizer: OptimizerKind::Adam,
                lr: 0.0005,
                weight_decay: 0.0,
                lr_schedule: LrSchedule::Constant,
                batch_size: 512,
                augment: Augment::None,
            },
            // A probe on fixed features: Adam as LeNet++, with the ResNets' decay schedule.
            ModelKind::Linear | ModelKind::Mlp => Self {
                optimizer: OptimizerKind::Adam,
                lr: 0.001,
                weight_decay: 0.0,
                lr_schedule: LrSchedule::Cosine,
                batch_size: 256,
                augment: Augment::None,
            },
            _ => Self {
                optimizer: OptimizerKind::Sgd,
                lr: 0.1,
                weight_decay: 5e-4,
                lr_schedule: LrSchedule::Cosine,
                batch_size: 128,
                augment: Augment::CropFlip,
            },
        }
    }
}
