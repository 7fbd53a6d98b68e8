//! The paper's experiment grid as runs: which settings, under which names.
//!
//! - fig2: MNIST, softmax loss (Eq. 6), fixed simplex, orthoplex and cube heads.
//! - fig4: MNIST, margin loss (Eq. 9), each polytope with a fixed head and with a learnable
//!   head of the same d and margin; plus the simplex without the margin warm-up, which the
//!   paper's recipe as written implies and which collapses.
//! - fig5: EMNIST balanced, d-cube (d = 6), margin loss, fixed and learnable.
//! - fig6: fig5's runs again, their L2-normalised train and test features (figures only).

use std::path::PathBuf;

use crate::geometry::PolytopeKind;
use crate::nn::{HeadKind, LossKind};
use crate::train::{TrainConfig, WarmupSetting};

pub use crate::train::DEFAULT_EPOCHS;
#[cfg(feature = "plot")]
pub use grid::{fig5_dataset, run_grid, GridError, GridObserver, GridReport, RunEvent};

#[cfg(feature = "plot")]
mod grid;
/// `--quick`: the built-in MNIST sample, cut to this many training and test images.
pub const QUICK_TRAIN: usize = 2000;
/// Test images of each `--quick` run.
pub const QUICK_TEST: usize = 500;

/// One figure of the paper.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Experiment {
    /// MNIST, softmax loss, fixed simplex / orthoplex / cube.
    Fig2,
    /// MNIST, margin loss, each polytope fixed and learnable.
    Fig4,
    /// EMNIST balanced, d-cube, fixed vs learnable.
    Fig5,
    /// Fig. 5's features, normalised, on train and test.
    Fig6,
}

impl Experiment {
    /// The four, in the paper's order.
    pub const ALL: [Self; 4] = [Self::Fig2, Self::Fig4, Self::Fig5, Self::Fig6];
}

/// A run of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRun {
    /// Run folder name inside the grid's folder.
    pub name: String,
    /// The experiment it belongs to.
    pub experiment: Experiment,
    /// Its training configuration.
    pub config: TrainConfig,
}

/// How the grid runs.
#[derive(Debug, Clone, PartialEq)]
pub struct GridOptions {
    /// Which experiments to run.
    pub experiments: Vec<Experiment>,
    /// Epochs of each run.
    pub epochs: usize,
    /// The small first-look grid instead of the paper's setting.
    pub quick: bool,
    /// Data root holding the datasets' folders.
    pub data_dir: Option<PathBuf>,
    /// Dataset of fig5 and fig6: [`FIG5_DATASET`], or a stand-in where EMNIST is missing
    /// (the runs are then named `fig5-standin-DATASET-...`).
    pub fig5_dataset: String,
}

/// The paper's fig5 dataset.
pub const FIG5_DATASET: &str = "emnist-balanced";
/// What fig5 runs on when EMNIST balanced is not present: same image format, 10 classes
/// (d-cube d = 4 instead of 6), and installable from Debian (`dataset-fashion-mnist`).
pub const FIG5_STANDIN: &str = "fashion-mnist";

impl GridOptions {
    /// Whether fig5 runs on a stand-in rather than the paper's dataset.
    pub fn fig5_is_standin(&self) -> bool {
        self.fig5_dataset != FIG5_DATASET
    }

    /// Whether this grid runs fig5 or fig6 on the stand-in (and must say so).
    pub fn runs_standin(&self) -> bool {
        self.fig5_is_standin()
            && self
                .experiments
                .iter()
                .any(|e| matches!(e, Experiment::Fig5 | Experiment::Fig6))
    }
}

/// Whether a finished run's configuration is the one the grid plans (where the data was
/// read from and how often it checkpointed aside), so it need not be trained again.
pub fn same_setting(planned: &TrainConfig, found: &TrainConfig) -> bool {
    let strip = |c: &TrainConfig| TrainConfig {
        data_dir: None,
        checkpoint_every: Default::default(),
        ..c.clone()
    };
    strip(planned) == strip(found)
}

/// The runs `options` ask for, in order. fig6 needs fig5's runs, so it adds them.
pub fn plan(options: &GridOptions) -> Vec<PlannedRun> {
    let has = |e| options.experiments.contains(&e);
    let mut runs = Vec::new();
    let mut add = |experiment, name: String, dataset: &str, polytope, head, loss, warmup| {
        let mut config = TrainConfig {
            dataset: dataset.into(),
            data_dir: options.data_dir.clone(),
            polytope,
            head,
            loss,
            margin_warmup: warmup,
            epochs: options.epochs,
            ..TrainConfig::paper_defaults(None)
        };
        if options.quick {
            if config.dataset == "mnist" {
                config.dataset = "mnist-sample".into();
                config.data_dir = None;
            }
            config.limit_train = Some(QUICK_TRAIN);
            config.limit_test = Some(QUICK_TEST);
            // 32 steps an epoch instead of 4.
            config.batch_size = 64;
        }
        runs.push(PlannedRun {
            name,
            experiment,
            config,
        });
    };
    let polytopes = [
        PolytopeKind::Simplex,
        PolytopeKind::Orthoplex,
        PolytopeKind::Cube,
    ];
    if has(Experiment::Fig2) {
        for p in polytopes {
            let name = format!("fig2-softmax-{p}-fixed");
            add(
                Experiment::Fig2,
                name,
                "mnist",
                p,
                HeadKind::Fixed,
                LossKind::Softmax,
                WarmupSetting::Auto,
            );
        }
    }
    if has(Experiment::Fig4) {
        for p in polytopes {
            for head in [HeadKind::Fixed, HeadKind::Learnable] {
                let name = format!("fig4-margin-{p}-{head}");
                add(
                    Experiment::Fig4,
                    name,
                    "mnist",
                    p,
                    head,
                    LossKind::Margin,
                    WarmupSetting::Auto,
                );
            }
        }
        let name = "fig4-margin-simplex-fixed-no-warmup".to_string();
        add(
            Experiment::Fig4,
            name,
            "mnist",
            PolytopeKind::Simplex,
            HeadKind::Fixed,
            LossKind::Margin,
            WarmupSetting::Epochs(0.0),
        );
    }
    if has(Experiment::Fig5) || has(Experiment::Fig6) {
        let dataset = options.fig5_dataset.as_str();
        for head in [HeadKind::Fixed, HeadKind::Learnable] {
            let name = if options.fig5_is_standin() {
                format!("fig5-standin-{dataset}-cube-{head}")
            } else {
                format!("fig5-emnist-cube-{head}")
            };
            add(
                Experiment::Fig5,
                name,
                dataset,
                PolytopeKind::Cube,
                head,
                LossKind::Margin,
                WarmupSetting::Auto,
            );
        }
    }
    runs
}
