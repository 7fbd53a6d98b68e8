use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use reponet::analysis::plot::curves::{accuracy_chart, drift_chart, line_chart};
use reponet::analysis::plot::{plot_run, ImageFormat, Projection};
use reponet::analysis::{report_html, report_markdown, runs_markdown_table, ReportRun, RunRecord};
use reponet::data::DataSplit;
use reponet::train::write_atomic;

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

pub fn run(args: Args) -> Result<()> {
    let Some(out) = &args.out else {
        let mut records = Vec::new();
        for dir in &args.runs {
            match RunRecord::load(dir) {
                Ok(r) => records.push(r),
                Err(e) if dir.exists() => eprintln!("skipped {}: {e}", dir.display()),
                Err(e) => return Err(e.into()),
            }
        }
        print!("{}", runs_markdown_table(&records));
        return Ok(());
    };
    let runs = load_runs(&args.runs, out)?;
    write_report(&runs, out, "")
}

/// Load every run, and draw the test-feature figure of each run that has a model.
pub fn load_runs(dirs: &[PathBuf], out: &Path) -> Result<Vec<ReportRun>> {
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let mut runs = Vec::new();
    for dir in dirs {
        let mut run = match ReportRun::load(dir) {
            Ok(r) => r,
            Err(e) if dir.exists() => {
                eprintln!("skipped {}: {e}", dir.display());
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if dir.join("model.bpk").exists() {
            let projection = if run.record.config.dim > 10 {
                Projection::Pca(4)
            } else {
                Projection::All
            };
            let png = plot_run(
                dir,
                DataSplit::Test,
                None,
                false,
                projection,
                20_000,
                ImageFormat::Png,
            )?;
            let name = format!("{}.png", run.record.name);
            write_atomic(&out.join(&name), &png)?;
            run.figure = Some(PathBuf::from(name));
        }
        runs.push(run);
    }
    Ok(runs)
}

/// Write report.md and report.html into `out`, `preface` under the title, with the
/// per-epoch charts (accuracy; class-mean drift where runs recorded it).
pub fn write_report(runs: &[ReportRun], out: &Path, preface: &str) -> Result<()> {
    let records: Vec<RunRecord> = runs.iter().map(|r| r.record.clone()).collect();
    let mut charts = Vec::new();
    if records.iter().any(|r| r.epochs.len() > 1) {
        for (chart, name) in [
            (accuracy_chart(&records), "accuracy-per-epoch.png"),
            (drift_chart(&records), "class-mean-drift.png"),
        ] {
            if let Some(png) = line_chart(&chart, ImageFormat::Png) {
                write_atomic(&out.join(name), &png)?;
                charts.push((chart.title, PathBuf::from(name)));
            }
        }
    }
    let md = out.join("report.md");
    write_atomic(&md, report_markdown(runs, preface, &charts).as_bytes())?;
    let html = out.join("report.html");
    let page = report_html(runs, preface, &charts, |p| std::fs::read(out.join(p)).ok());
    write_atomic(&html, page.as_bytes())?;
    println!("report: {} and {}", md.display(), html.display());
    Ok(())
}
