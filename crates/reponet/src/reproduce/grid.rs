//! Running the grid: each planned run trained, resumed or kept, then one report of them all.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{plan, same_setting, Experiment, GridOptions, PlannedRun, QUICK_TEST, QUICK_TRAIN};
use super::{FIG5_DATASET, FIG5_STANDIN};
use crate::analysis::plot::{plot_run, ImageFormat, Projection, RunFigure};
use crate::analysis::{load_report_runs, write_report, AnalysisError};
use crate::data::{locate_dataset, DataError, DataSplit};
use crate::device::Compute;
use crate::train::{self, write_atomic, RunDir, TrainError, TrainObserver};

/// What happens to one planned run, as the grid goes.
#[derive(Debug, Clone, PartialEq)]
pub enum RunEvent {
    /// Its dataset is not present (why, and how to get it): left out of the report.
    Skipped(String),
    /// It finished in an earlier invocation: kept.
    FinishedAlready,
    /// Resumed from its checkpoint.
    Resuming,
    /// Started.
    Starting,
    /// Trained to the end now, with this test accuracy.
    Trained(f64),
}

/// Watches a grid: one event per run, and the training observer of each run trained.
pub trait GridObserver {
    /// `event` for the run named `name`.
    fn on_run(&mut self, name: &str, event: &RunEvent);
    /// Watches the training of the run named `name` (and may stop it).
    fn training(&mut self, name: &str) -> &mut dyn TrainObserver;
    /// A finished run that could not be reported, left out.
    fn on_unreported(&mut self, _dir: &Path, _why: &AnalysisError) {}
}

/// Why a grid stopped.
#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error("finished runs in {} have another setting than this grid:\n  {}\nuse another output folder, or move those runs away", out.display(), conflicts.join("\n  "))]
    /// Finished runs in the output folder were trained with another setting.
    OtherSetting {
        /// The grid's folder.
        out: PathBuf,
        /// One line per conflicting run.
        conflicts: Vec<String>,
    },
    #[error(transparent)]
    /// A run failed (or was interrupted: [`TrainError::Interrupted`]).
    Train(#[from] TrainError),
    #[error(transparent)]
    /// The report could not be made.
    Report(#[from] AnalysisError),
}

/// The finished grid: its report files and the runs left out.
#[derive(Debug, Clone)]
pub struct GridReport {
    /// `report.md` and `report.html`.
    pub files: [PathBuf; 2],
    /// Runs left out, each with why.
    pub skipped: Vec<String>,
}

/// Run the grid of `options` into `out` (one folder per run, `out/report` for the report):
/// finished runs are kept, unfinished ones resumed, runs whose dataset is missing skipped.
/// A finished run trained with another setting is refused before anything is trained.
pub fn run_grid(
    options: &GridOptions,
    out: &Path,
    compute: &Compute,
    observer: &mut dyn GridObserver,
) -> Result<GridReport, GridError> {
    let started = Instant::now();
    let planned_runs = plan(options);
    check_finished_runs(&planned_runs, out)?;
    let mut finished = Vec::new();
    let mut skipped = Vec::new();
    for planned in planned_runs {
        let dir = out.join(&planned.name);
        let config = &planned.config;
        if let Err(e) = locate_dataset(&config.dataset, config.data_dir.as_deref()) {
            let why = match e {
                DataError::NotFetched { .. } => format!(
                    "dataset {} is not present: fetch it with `reponet data fetch {}`",
                    config.dataset, config.dataset
                ),
                other => other.to_string(),
            };
            observer.on_run(&planned.name, &RunEvent::Skipped(why.clone()));
            skipped.push(format!("{} ({why})", planned.name));
            continue;
        }
        if dir.join(RunDir::SUMMARY).exists() {
            observer.on_run(&planned.name, &RunEvent::FinishedAlready);
        } else {
            let summary = if dir.join(RunDir::CHECKPOINT).exists() {
                observer.on_run(&planned.name, &RunEvent::Resuming);
                train::resume(&dir, compute, observer.training(&planned.name))?
            } else {
                observer.on_run(&planned.name, &RunEvent::Starting);
                train::train(
                    config,
                    &dir,
                    true,
                    compute,
                    observer.training(&planned.name),
                )?
            };
            let event = RunEvent::Trained(summary.final_test_accuracy);
            observer.on_run(&planned.name, &event);
        }
        finished.push((planned.experiment, dir));
    }

    let report_dir = out.join("report");
    let dirs: Vec<PathBuf> = finished.iter().map(|(_, d)| d.clone()).collect();
    let mut runs = load_report_runs(&dirs, &report_dir, compute, &mut |dir, why| {
        observer.on_unreported(dir, why)
    })?;
    if options.experiments.contains(&Experiment::Fig6) {
        for run in &mut runs {
            let Some((_, dir)) = finished
                .iter()
                .find(|(e, d)| *e == Experiment::Fig5 && d.ends_with(&run.record.name))
            else {
                continue;
            };
            for split in [DataSplit::Train, DataSplit::Test] {
                let png = plot_run(
                    dir,
                    split,
                    None,
                    compute,
                    RunFigure {
                        normalize: true,
                        projection: Projection::All,
                        max_points: 20_000,
                        format: ImageFormat::Png,
                    },
                )?;
                let name = format!("fig6-{}-{}.png", run.record.name, split.name());
                write_atomic(&report_dir.join(&name), &png).map_err(AnalysisError::from)?;
                let caption = format!(
                    "Fig. 6, {}: L2-normalised {} features",
                    run.record.name,
                    split.name()
                );
                run.extra_figures.push((caption, name.into()));
            }
        }
    }
    let preface = preface(options, started.elapsed().as_secs_f64(), &skipped);
    let files = write_report(&runs, &report_dir, &preface)?;
    Ok(GridReport { files, skipped })
}

/// Refuse, before any training, to reuse a finished run trained with another setting (e.g.
/// other epochs): its numbers would be reported as this grid's.
fn check_finished_runs(planned: &[PlannedRun], out: &Path) -> Result<(), GridError> {
    let mut conflicts = Vec::new();
    for run in planned {
        let dir = out.join(&run.name);
        if !dir.join(RunDir::SUMMARY).exists() {
            continue;
        }
        let found = RunDir::open(&dir)?.config()?.request;
        if !same_setting(&run.config, &found) {
            conflicts.push(format!(
                "{} (finished with {} epoch(s), batch {}, dataset {}; this grid asks {} epoch(s), batch {}, dataset {})",
                dir.display(),
                found.epochs,
                found.batch_size,
                found.dataset,
                run.config.epochs,
                run.config.batch_size,
                run.config.dataset
            ));
        }
    }
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(GridError::OtherSetting {
            out: out.to_path_buf(),
            conflicts,
        })
    }
}

/// The report's preface: stand-ins and quick mode first, then the setting, machine and time.
fn preface(options: &GridOptions, seconds: f64, skipped: &[String]) -> String {
    let mut text = String::new();
    if options.runs_standin() {
        text.push_str(&format!(
            "**STAND-IN for fig5 / fig6: {FIG5_DATASET} is not present here, so those runs use {} (10 classes, d-cube d = 4, not the paper's d = 6 on 47 classes).** Their accuracies are not comparable with the paper's {FIG5_DATASET} figures. Fetch EMNIST with `reponet data fetch {FIG5_DATASET}` to run the paper's setting.\n\n",
            options.fig5_dataset
        ));
    }
    if options.quick {
        text.push_str(&format!(
            "**QUICK MODE: not the paper's setting.** MNIST runs use the built-in sample cut to {QUICK_TRAIN} training and {QUICK_TEST} test images, batch 64, {} epoch(s): this checks the pipeline, and its accuracies say nothing about the paper's.\n\n",
            options.epochs
        ));
    }
    text.push_str(&format!(
        "The paper's grid ({}), {} epoch(s) per run, on {} ({} threads); this invocation took {:.0} s (runs finished earlier are not retrained). The paper's settings: LeNet++, Adam lr 0.0005, batch 512, s = 30, m = phi. Added by reponet: a 1-epoch linear margin warm-up when m > 90 deg (the simplex), which the paper does not state; `fig4-margin-simplex-fixed-no-warmup` shows the recipe without it.",
        options
            .experiments
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        options.epochs,
        crate::machine::cpu_model(),
        crate::machine::compute_threads(),
        seconds
    ));
    if !skipped.is_empty() {
        text.push_str(&format!("\n\nSkipped: {}.", skipped.join("; ")));
    }
    text
}

/// The dataset fig5 and fig6 run on: EMNIST balanced where present (or where neither is),
/// else Fashion-MNIST as a stand-in, which the report then labels.
pub fn fig5_dataset(data_dir: Option<&Path>) -> &'static str {
    let present = |name: &str| locate_dataset(name, data_dir).is_ok();
    if !present(FIG5_DATASET) && present(FIG5_STANDIN) {
        FIG5_STANDIN
    } else {
        FIG5_DATASET
    }
}
