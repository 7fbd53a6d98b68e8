use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use reponet::analysis::plot::{plot_run, ImageFormat, Projection};
use reponet::data::{locate_dataset, DataError, DataSplit};
use reponet::reproduce::{
    plan, same_setting, Experiment, GridOptions, PlannedRun, DEFAULT_EPOCHS, FIG5_DATASET,
    FIG5_STANDIN, QUICK_TEST, QUICK_TRAIN,
};
use reponet::train::{self, write_atomic, RunDir, TrainError};

use super::report::{load_runs, write_report};
use super::train::stop_on_signals;
use crate::progress::ProgressObserver;

/// Run the paper's experiment grid and write one report of it, beside the paper's numbers.
///
///   fig2  MNIST, softmax loss (Eq. 6), fixed simplex / orthoplex / cube
///   fig4  MNIST, margin loss (Eq. 9), each polytope fixed and learnable (same d and margin),
///         and the simplex without the margin warm-up (it collapses; the paper states none)
///   fig5  EMNIST balanced, d-cube (d = 6), margin loss, fixed and learnable; where EMNIST is
///         missing and Fashion-MNIST present, on Fashion-MNIST as a labelled stand-in
///   fig6  fig5's runs: their L2-normalised train and test features
/// Settings are the paper's (LeNet++, Adam 0.0005, batch 512, s = 30, m = phi) plus
/// reponet's margin warm-up for m > 90 deg. Each run lands in OUT/NAME; run the same command
/// again after an interruption and finished runs are kept, unfinished ones resumed from
/// their checkpoints. A dataset that is not present is skipped with how to fetch it.
///   reponet reproduce --quick                 a first look: minutes, not the paper's setting
///   reponet reproduce --experiments fig4 --epochs 10 --out runs/paper
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Comma-separated: fig2, fig4, fig5, fig6 [default: all].
    #[arg(long, value_delimiter = ',')]
    experiments: Option<Vec<Experiment>>,
    /// Epochs per run [default: 6, from the epoch study in RESULTS.md; with --quick, 1].
    #[arg(long)]
    epochs: Option<usize>,
    /// The built-in MNIST sample, 2,000 training and 500 test images, batch 64: checks the
    /// whole pipeline in minutes. Not the paper's setting, and the report says so.
    #[arg(long)]
    quick: bool,
    /// Folder (or data root) with the datasets [default: $REPONET_DATA, then the cache].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value = "runs/reproduce")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let present = |name: &str| locate_dataset(name, args.data_dir.as_deref()).is_ok();
    // EMNIST cannot be downloaded everywhere: then fig5 runs on a stand-in, and says so.
    let fig5_dataset = if !present(FIG5_DATASET) && present(FIG5_STANDIN) {
        FIG5_STANDIN
    } else {
        FIG5_DATASET
    };
    let options = GridOptions {
        experiments: args.experiments.unwrap_or(Experiment::ALL.to_vec()),
        epochs: args
            .epochs
            .unwrap_or(if args.quick { 1 } else { DEFAULT_EPOCHS }),
        quick: args.quick,
        data_dir: args.data_dir,
        fig5_dataset: fig5_dataset.into(),
    };
    if options.epochs == 0 {
        anyhow::bail!("--epochs 0: train for at least 1 epoch");
    }
    if options.runs_standin() {
        println!(
            "fig5/fig6: {FIG5_DATASET} is not present, so they run on {FIG5_STANDIN} as a stand-in (not the paper's setting); fetch EMNIST with `reponet data fetch {FIG5_DATASET}`"
        );
    }
    let planned_runs = plan(&options);
    check_finished_runs(&planned_runs, &args.out)?;
    let stop = stop_on_signals()?;
    let mut finished = Vec::new();
    let mut skipped = Vec::new();
    for planned in planned_runs {
        let dir = args.out.join(&planned.name);
        let config = &planned.config;
        if let Err(e) = locate_dataset(&config.dataset, config.data_dir.as_deref()) {
            let why = match e {
                DataError::NotFetched { .. } => format!(
                    "dataset {} is not present: fetch it with `reponet data fetch {}`",
                    config.dataset, config.dataset
                ),
                other => other.to_string(),
            };
            println!("== {}: skipped, {why}", planned.name);
            skipped.push(format!("{} ({why})", planned.name));
            continue;
        }
        if dir.join(RunDir::SUMMARY).exists() {
            println!("== {}: finished already", planned.name);
        } else {
            let mut observer = ProgressObserver::new(Arc::clone(&stop));
            let result = if dir.join(RunDir::CHECKPOINT).exists() {
                println!("== {}: resuming", planned.name);
                train::resume(&dir, &mut observer)
            } else {
                println!("== {}", planned.name);
                train::train(config, &dir, true, &mut observer)
            };
            match result {
                Ok(s) => println!(
                    "== {}: test accuracy {:.2} %",
                    planned.name, s.final_test_accuracy
                ),
                Err(TrainError::Interrupted { .. }) => {
                    eprintln!("interrupted: run the same command again to continue the grid");
                    std::process::exit(130);
                }
                Err(e) => return Err(e.into()),
            }
        }
        finished.push((planned.experiment, dir));
    }

    let report_dir = args.out.join("report");
    let dirs: Vec<PathBuf> = finished.iter().map(|(_, d)| d.clone()).collect();
    let mut runs = load_runs(&dirs, &report_dir)?;
    if options.experiments.contains(&Experiment::Fig6) {
        for (run, (experiment, dir)) in runs.iter_mut().zip(&finished) {
            if *experiment != Experiment::Fig5 {
                continue;
            }
            for split in [DataSplit::Train, DataSplit::Test] {
                let png = plot_run(
                    dir,
                    split,
                    None,
                    true,
                    Projection::All,
                    20_000,
                    ImageFormat::Png,
                )?;
                let name = format!("fig6-{}-{}.png", run.record.name, split.name());
                write_atomic(&report_dir.join(&name), &png)?;
                let caption = format!(
                    "Fig. 6, {}: L2-normalised {} features",
                    run.record.name,
                    split.name()
                );
                run.extra_figures.push((caption, name.into()));
            }
        }
    }
    let preface = preface(&options, started.elapsed().as_secs_f64(), &skipped);
    write_report(&runs, &report_dir, &preface)?;
    Ok(())
}

/// Refuse, before any training, to reuse a finished run trained with another setting (e.g.
/// other --epochs): its numbers would be reported as this grid's.
fn check_finished_runs(planned: &[PlannedRun], out: &Path) -> Result<()> {
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
    if !conflicts.is_empty() {
        anyhow::bail!(
            "finished runs in {} have another setting than this grid:\n  {}\nuse another --out, or move those runs away",
            out.display(),
            conflicts.join("\n  ")
        );
    }
    Ok(())
}

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
        cpu_model(),
        std::thread::available_parallelism().map_or(1, |p| p.get()),
        seconds
    ));
    if !skipped.is_empty() {
        text.push_str(&format!("\n\nSkipped: {}.", skipped.join("; ")));
    }
    text
}

/// The CPU's model name, as Linux reports it.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "an unknown CPU".into())
}
