use std::fmt::Write;
use std::path::Path;

use super::AnalysisError;
use crate::train::{EpochMetrics, ResolvedConfig, RunDir};

/// One finished (or partly finished) run, as read back from its folder.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunRecord {
    /// The run folder's name.
    pub name: String,
    /// Its `config.json`.
    pub config: ResolvedConfig,
    /// Its `metrics.jsonl`, one entry per finished epoch.
    pub epochs: Vec<EpochMetrics>,
}

impl RunRecord {
    /// Read `config.json` and `metrics.jsonl` of a run folder.
    pub fn load(dir: &Path) -> Result<Self, AnalysisError> {
        let run = RunDir::open(dir)?;
        let epochs = if run.path(RunDir::METRICS).exists() {
            run.read_metrics()?
        } else {
            Vec::new()
        };
        Ok(Self {
            name: dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            config: run.config()?,
            epochs,
        })
    }

    /// The name as tables show it: marked when fewer epochs finished than were asked for
    /// ("runs/x (unfinished: 2 of 6 epochs)"), so a stopped run is never read as a whole.
    pub fn label(&self) -> String {
        let (done, asked) = (self.epochs.len(), self.config.request.epochs);
        if done < asked {
            format!("{} (unfinished: {done} of {asked} epochs)", self.name)
        } else {
            self.name.clone()
        }
    }
}

/// A Markdown table of runs: settings, test accuracy after each epoch, throughput.
///
/// Images/s is the median over the run's epochs of its training throughput.
pub fn runs_markdown_table(runs: &[RunRecord]) -> String {
    let mut out = String::from(
        "| run | polytope (d) | head | loss | m (deg) | warm-up (epochs) | train images | test accuracy after each epoch (%) | train img/s |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        let c = &r.config;
        let req = &c.request;
        let accuracies: Vec<String> = r
            .epochs
            .iter()
            .map(|m| format!("{:.2}", m.test_accuracy))
            .collect();
        let mut speeds: Vec<f64> = r.epochs.iter().map(|m| m.images_per_second).collect();
        speeds.sort_by(f64::total_cmp);
        let speed = speeds
            .get(speeds.len() / 2)
            .map_or("-".into(), |s| format!("{s:.0}"));
        let images = r
            .epochs
            .first()
            .and_then(|m| m.train_images)
            .map_or("-".into(), |n| n.to_string());
        let margin = if req.loss == crate::nn::LossKind::Margin {
            format!("{:.1}", c.margin_degrees)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "| {} | {} ({}) | {} | {} | {} | {} | {} | {} | {} |",
            r.label(),
            req.polytope,
            c.dim,
            req.head,
            req.loss,
            margin,
            c.warmup_epochs,
            images,
            if accuracies.is_empty() {
                "-".into()
            } else {
                accuracies.join(" / ")
            },
            speed
        );
    }
    out
}
