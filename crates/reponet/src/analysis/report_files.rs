//! A report on disk: each run loaded (evaluated first where needed) with its test-feature
//! figure, then `report.md` and `report.html` with the per-epoch charts.

use std::path::{Path, PathBuf};

use super::plot::curves::{accuracy_chart, drift_chart, line_chart};
use super::plot::{plot_run, ImageFormat, Projection, RunFigure};
use super::{report_html, report_markdown, AnalysisError, ReportRun, RunRecord};
use crate::data::DataSplit;
use crate::device::Compute;
use crate::train::{write_atomic, RunDir};

/// Load every run of `dirs` and draw the test-feature figure of each one that has a model
/// into `out` (created). A folder that exists but is not a run is passed to `skipped` and
/// left out; a missing one is an error.
pub fn load_report_runs(
    dirs: &[PathBuf],
    out: &Path,
    compute: &Compute,
    skipped: &mut dyn FnMut(&Path, &AnalysisError),
) -> Result<Vec<ReportRun>, AnalysisError> {
    std::fs::create_dir_all(out).map_err(|e| AnalysisError::io(out, e))?;
    let mut runs = Vec::new();
    for dir in dirs {
        let mut run = match ReportRun::load(dir, compute) {
            Ok(r) => r,
            Err(e) if dir.exists() => {
                skipped(dir, &e);
                continue;
            }
            Err(e) => return Err(e),
        };
        if dir.join(RunDir::MODEL).exists() {
            // More than 10 dimensions make too many panels: their first 4 principal axes.
            let projection = if run.record.config.dim > 10 {
                Projection::Pca(4)
            } else {
                Projection::All
            };
            let png = plot_run(
                dir,
                DataSplit::Test,
                None,
                compute,
                RunFigure {
                    normalize: false,
                    projection,
                    max_points: 20_000,
                    format: ImageFormat::Png,
                },
            )?;
            let name = format!("{}.png", run.record.name);
            write_atomic(&out.join(&name), &png)?;
            run.figure = Some(PathBuf::from(name));
        }
        runs.push(run);
    }
    Ok(runs)
}

/// Write `report.md` and `report.html` into `out`, `preface` under the title, with the
/// per-epoch charts (accuracy; class-mean drift where runs recorded it). Returns the two
/// files' paths.
pub fn write_report(
    runs: &[ReportRun],
    out: &Path,
    preface: &str,
) -> Result<[PathBuf; 2], AnalysisError> {
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
    Ok([md, html])
}
