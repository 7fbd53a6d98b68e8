use std::path::{Path, PathBuf};

use anyhow::Result;
use reponet::analysis::AnalysisError;
use reponet::reproduce::{
    fig5_dataset, run_grid, Experiment, GridError, GridObserver, GridOptions, RunEvent,
    DEFAULT_EPOCHS, FIG5_DATASET, FIG5_STANDIN,
};
use reponet::train::{TrainError, TrainObserver};

use crate::context::{Ctx, Output};
use crate::progress::{stop_on_signals, ProgressObserver};

/// Run the paper's experiment grid; one report of it, beside the paper's numbers.
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
    /// Epochs per run [default: 6, from the 30-epoch study in RESULTS.md; with --quick, 1].
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

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let options = GridOptions {
        experiments: args.experiments.unwrap_or(Experiment::ALL.to_vec()),
        epochs: args
            .epochs
            .unwrap_or(if args.quick { 1 } else { DEFAULT_EPOCHS }),
        quick: args.quick,
        fig5_dataset: fig5_dataset(args.data_dir.as_deref()).into(),
        data_dir: args.data_dir,
    };
    if options.epochs == 0 {
        anyhow::bail!("--epochs 0: train for at least 1 epoch");
    }
    if options.runs_standin() {
        ctx.out.log(format_args!(
            "fig5/fig6: {FIG5_DATASET} is not present, so they run on {FIG5_STANDIN} as a stand-in (not the paper's setting); fetch EMNIST with `reponet data fetch {FIG5_DATASET}`"
        ));
    }
    let mut observer = Progress {
        progress: ProgressObserver::new(stop_on_signals()?, &ctx.out),
        out: &ctx.out,
    };
    let report = match run_grid(&options, &args.out, &ctx.compute, &mut observer) {
        Err(GridError::Train(TrainError::Interrupted { .. })) => {
            eprintln!("interrupted: run the same command again to continue the grid");
            std::process::exit(130);
        }
        Err(GridError::Train(e)) => return Err(crate::errors::in_flag_words(e)),
        other => other?,
    };
    let [md, html] = &report.files;
    ctx.out.json(&serde_json::json!({
        "report": [md, html],
        "skipped": report.skipped,
    }))?;
    ctx.out.text(format_args!(
        "report: {} and {}",
        md.display(),
        html.display()
    ));
    Ok(())
}

/// The grid's progress on standard error: a line per run, and each run's training.
struct Progress<'a> {
    progress: ProgressObserver,
    out: &'a Output,
}

impl GridObserver for Progress<'_> {
    fn on_run(&mut self, name: &str, event: &RunEvent) {
        self.out.log(match event {
            RunEvent::Skipped(why) => format!("== {name}: skipped, {why}"),
            RunEvent::FinishedAlready => format!("== {name}: finished already"),
            RunEvent::Resuming => format!("== {name}: resuming"),
            RunEvent::Starting => format!("== {name}"),
            RunEvent::Trained(accuracy) => format!("== {name}: test accuracy {accuracy:.2} %"),
        });
    }

    fn training(&mut self, _name: &str) -> &mut dyn TrainObserver {
        &mut self.progress
    }

    fn on_unreported(&mut self, dir: &Path, why: &AnalysisError) {
        self.out
            .log(format_args!("skipped {}: {why}", dir.display()));
    }
}
