use std::path::{Path, PathBuf};

use anyhow::Result;
use reponet::analysis::{load_report_runs, runs_markdown_table, write_report, RunRecord};

use crate::context::Ctx;

/// Compare runs side by side.
///
/// Without --out: a Markdown table of the runs (settings, test accuracy after each epoch,
/// images/s) on standard output.
/// With --out DIR: DIR/report.md and DIR/report.html (one page, figures embedded) with
/// settings, trainable parameters, accuracy beside the paper's, feature geometry, retrieval
/// and verification, training time, and each run's scatter-plot matrix (DIR/RUN.png). Runs
/// with a model but no up-to-date evaluation are evaluated first.
///   reponet report runs/simplex runs/simplex-learnable --out runs/report
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Run folders written by `reponet train`; other files and folders are skipped with a note.
    #[arg(required = true)]
    runs: Vec<PathBuf>,
    /// Folder for report.md, report.html and the figures.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let skipped = |dir: &Path, e: &dyn std::fmt::Display| {
        ctx.out.log(format_args!("skipped {}: {e}", dir.display()))
    };
    let Some(out) = &args.out else {
        let mut records = Vec::new();
        for dir in &args.runs {
            match RunRecord::load(dir) {
                Ok(r) => records.push(r),
                Err(e) if dir.exists() => skipped(dir, &e),
                Err(e) => return Err(e.into()),
            }
        }
        ctx.out.json(&records)?;
        if !ctx.out.json {
            print!("{}", runs_markdown_table(&records));
        }
        return Ok(());
    };
    let runs = load_report_runs(&args.runs, out, &ctx.compute, &mut |dir, e| skipped(dir, e))?;
    let [md, html] = write_report(&runs, out, "")?;
    ctx.out.json(&serde_json::json!({ "report": [md, html] }))?;
    ctx.out.text(format_args!(
        "report: {} and {}",
        md.display(),
        html.display()
    ));
    Ok(())
}
