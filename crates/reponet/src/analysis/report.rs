//! A report comparing runs side by side, as Markdown and as one self-contained HTML page:
//! settings, parameters, accuracy (beside the paper's where the setting is the paper's),
//! feature geometry, retrieval, training time, and each run's scatter-plot matrix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::AnalysisError;
use super::{evaluate_run, Evaluation, RetrievalMetrics, RunRecord};
use crate::nn::{HeadKind, LossKind};
use crate::train::{class_list, RunDir, TrainSummary};

/// One run as the report shows it.
#[derive(Debug, Clone)]
pub struct ReportRun {
    /// The run's configuration and per-epoch metrics.
    pub record: RunRecord,
    /// Its `summary.json`, when training finished.
    pub summary: Option<TrainSummary>,
    /// Its `eval.json`, when it has a model.
    pub evaluation: Option<Evaluation>,
    /// The scatter-plot matrix of the test features, relative to the report's folder.
    pub figure: Option<PathBuf>,
    /// More figures of the run (caption, path relative to the report's folder).
    pub extra_figures: Vec<(String, PathBuf)>,
}

impl ReportRun {
    /// Read a run; evaluate it first (writing its `eval.json`) when it has a model but no
    /// evaluation, or an evaluation from before retrieval metrics existed (on `compute`).
    pub fn load(dir: &Path, compute: &crate::device::Compute) -> Result<Self, AnalysisError> {
        let record = RunRecord::load(dir)?;
        let run = RunDir::open(dir)?;
        let summary = run.read_json(RunDir::SUMMARY).ok();
        // eval.json is the run's own test split (other datasets' go to eval-NAME.json; one
        // written before that, naming another dataset, is not the run's).
        let own = &record.config.request.dataset;
        let mut evaluation: Option<Evaluation> = run
            .read_json(RunDir::EVAL)
            .ok()
            .filter(|e: &Evaluation| e.dataset.is_empty() || e.dataset == *own);
        let stale = evaluation.as_ref().is_none_or(|e| e.retrieval.is_none());
        if stale && run.path(RunDir::MODEL).exists() {
            evaluation = Some(evaluate_run(dir, None, None, compute)?);
        }
        Ok(Self {
            record,
            summary,
            evaluation,
            figure: None,
            extra_figures: Vec::new(),
        })
    }

    /// The paper's test accuracy for this run's setting, if it reports one: LeNet++ on all
    /// of MNIST with the margin loss (Fig. 4), on all of EMNIST balanced with the d-cube and
    /// the margin loss (Fig. 5); no held-out classes, no limits on the data.
    pub fn paper_accuracy(&self) -> Option<f64> {
        let config = &self.record.config;
        let req = &config.request;
        let papers = req.model == crate::nn::ModelKind::LenetPlusPlus
            && config.held_out.is_empty()
            && req.limit_train.is_none()
            && req.limit_test.is_none();
        if !papers {
            return None;
        }
        let fixed = req.head == HeadKind::Fixed;
        match (req.dataset.as_str(), req.loss, req.polytope) {
            ("mnist", LossKind::Margin, _) => Some(if fixed { 99.45 } else { 99.47 }),
            ("emnist-balanced", LossKind::Margin, crate::geometry::PolytopeKind::Cube) => {
                Some(if fixed { 88.31 } else { 88.39 })
            }
            _ => None,
        }
    }
}

/// A table: header and rows of cells.
struct Table {
    title: &'static str,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn f(x: f64, digits: usize) -> String {
    format!("{x:.digits$}")
}

fn tables(runs: &[ReportRun]) -> Vec<Table> {
    // An unfinished run says so wherever it is named.
    let name = |r: &ReportRun| r.record.label();
    let settings = runs
        .iter()
        .map(|r| {
            let c = &r.record.config;
            let q = &c.request;
            // Margin and warm-up mean something for the margin loss only.
            let margin_only = |v: f64| {
                if q.loss == LossKind::Margin {
                    f(v, 1)
                } else {
                    "-".into()
                }
            };
            vec![
                name(r),
                q.dataset.clone(),
                format!("{} (d = {})", q.polytope, c.dim),
                q.head.to_string(),
                q.loss.to_string(),
                margin_only(c.margin_degrees),
                margin_only(c.warmup_epochs),
                format!(
                    "{}: {} x {}, {} lr {}",
                    q.model, q.epochs, q.batch_size, q.optimizer, q.lr
                ),
                r.summary.as_ref().map_or("-".into(), |s| {
                    format!(
                        "{} ({} in the head)",
                        s.trainable_parameters, s.head_parameters
                    )
                }),
            ]
        })
        .collect();
    let accuracy = runs
        .iter()
        .map(|r| {
            let per_epoch: Vec<String> = r
                .record
                .epochs
                .iter()
                .map(|m| f(m.test_accuracy, 2))
                .collect();
            let mut speeds: Vec<f64> = r
                .record
                .epochs
                .iter()
                .map(|m| m.images_per_second)
                .collect();
            speeds.sort_by(f64::total_cmp);
            vec![
                name(r),
                r.evaluation
                    .as_ref()
                    .map_or("-".into(), |e| f(e.accuracy, 2)),
                per_epoch.join(" / "),
                r.paper_accuracy().map_or("-".into(), |p| f(p, 2)),
                r.summary
                    .as_ref()
                    .map_or("-".into(), |s| format!("{:.0}", s.total_seconds)),
                speeds
                    .get(speeds.len() / 2)
                    .map_or("-".into(), |s| f(*s, 0)),
            ]
        })
        .collect();
    let geometry = runs
        .iter()
        .filter_map(|r| r.evaluation.as_ref().map(|e| (r, &e.geometry)))
        .map(|(r, g)| {
            let s =
                |a: &super::AngleStats| format!("{:.1} / {:.1} / {:.1}", a.mean, a.median, a.p95);
            vec![
                name(r),
                s(&g.to_class_weight),
                s(&g.to_class_mean),
                f(g.min_angle_between_class_means, 1),
                f(g.mean_angle_between_class_means, 1),
                g.compactness_to_separation.map_or("-".into(), |c| f(c, 3)),
            ]
        })
        .collect();
    let retrieval_rows = |pick: fn(&Evaluation) -> Option<&RetrievalMetrics>| -> Vec<Vec<String>> {
        runs.iter()
            .filter_map(|r| r.evaluation.as_ref().and_then(pick).map(|m| (r, m)))
            .map(|(r, m)| {
                let mut row = vec![
                    name(r),
                    f(100.0 * m.precision_at_1, 2),
                    f(100.0 * m.r_precision, 2),
                    f(100.0 * m.map_at_r, 2),
                ];
                row.extend(m.tar_at_far.iter().map(|t| f(100.0 * t.tar, 2)));
                row
            })
            .collect()
    };
    let retrieval_header = vec![
        "run",
        "precision@1",
        "R-precision",
        "MAP@R",
        "TAR @ FAR 1e-2",
        "TAR @ FAR 1e-3",
        "TAR @ FAR 1e-4",
    ];
    let retrieval = retrieval_rows(|e| e.retrieval.as_ref());
    let unseen = retrieval_rows(|e| e.held_out_retrieval.as_ref());
    let mut tables = vec![
        Table {
            title: "Settings",
            header: vec![
                "run",
                "dataset",
                "polytope",
                "head",
                "loss",
                "m (deg)",
                "warm-up (epochs)",
                "model: epochs x batch, optimizer",
                "trainable parameters",
            ],
            rows: settings,
        },
        Table {
            title: "Accuracy",
            header: vec![
                "run",
                "test accuracy (%)",
                "after each epoch (%)",
                "paper (%)",
                "training time (s)",
                "train img/s",
            ],
            rows: accuracy,
        },
        Table {
            title: "Feature geometry (test set, unit features, degrees)",
            header: vec![
                "run",
                "to class weight: mean / median / p95",
                "to class mean: mean / median / p95",
                "min between class means",
                "mean between class means",
                "compactness / separation",
            ],
            rows: geometry,
        },
        Table {
            title: "Retrieval and verification (test set, cosine similarity, %)",
            header: retrieval_header.clone(),
            rows: retrieval,
        },
    ];
    if !unseen.is_empty() {
        tables.push(Table {
            title: "Unseen classes: retrieval and verification among the held-out classes' test images (%)",
            header: retrieval_header,
            rows: unseen,
        });
    }
    let over_seeds = unseen_over_seeds(runs);
    if !over_seeds.is_empty() {
        tables.push(Table {
            title: "Unseen classes over seeds: mean ± sd of runs that differ only in seed (and so in the classes held out)",
            header: vec![
                "dataset",
                "polytope",
                "head",
                "runs",
                "held-out classes",
                "seen-class test accuracy (%)",
                "unseen precision@1 (%)",
                "unseen MAP@R (%)",
                "unseen TAR @ FAR 1e-3 (%)",
                "class-mean drift in the last epoch (deg)",
            ],
            rows: over_seeds,
        });
    }
    tables
}

fn tar_at_far_1e3(m: &RetrievalMetrics) -> f64 {
    m.tar_at_far
        .iter()
        .find(|t| t.far == 1e-3)
        .map_or(f64::NAN, |t| t.tar)
}

/// `mean ± sd` (sample standard deviation) of `xs`; `-` when empty.
fn mean_sd(xs: &[f64], digits: usize) -> String {
    match xs.len() {
        0 => "-".into(),
        1 => f(xs[0], digits),
        n => {
            let mean = xs.iter().sum::<f64>() / n as f64;
            let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            format!("{} ± {}", f(mean, digits), f(var.sqrt(), digits))
        }
    }
}

/// The runs with held-out classes grouped by everything but the seed (which also draws the
/// classes held out), one row per group of two or more, in the order groups first appear.
fn unseen_over_seeds(runs: &[ReportRun]) -> Vec<Vec<String>> {
    let mut groups: Vec<(String, Vec<&ReportRun>)> = Vec::new();
    for r in runs {
        let unseen = r
            .evaluation
            .as_ref()
            .and_then(|e| e.held_out_retrieval.as_ref());
        if unseen.is_none() {
            continue;
        }
        let c = &r.record.config;
        let q = &c.request;
        let key = format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}|{:?}|{:?}|{}",
            q.model,
            q.dataset,
            q.polytope,
            c.dim,
            q.head,
            q.loss,
            c.margin_degrees,
            q.epochs,
            q.batch_size,
            q.limit_train,
            q.limit_test,
            c.held_out.len()
        );
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, members)) => members.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups
        .into_iter()
        .filter(|(_, members)| members.len() > 1)
        .map(|(_, members)| {
            let first = &members[0].record.config;
            let evals: Vec<&Evaluation> = members
                .iter()
                .filter_map(|r| r.evaluation.as_ref())
                .collect();
            let unseen: Vec<&RetrievalMetrics> = evals
                .iter()
                .filter_map(|e| e.held_out_retrieval.as_ref())
                .collect();
            let pct = |pick: fn(&RetrievalMetrics) -> f64| -> Vec<f64> {
                unseen.iter().map(|m| 100.0 * pick(m)).collect()
            };
            let drift: Vec<f64> = members
                .iter()
                .filter_map(|r| r.record.epochs.last()?.mean_drift_degrees())
                .collect();
            let held_out: Vec<String> = members
                .iter()
                .map(|r| class_list(&r.record.config.held_out, ","))
                .collect();
            vec![
                first.request.dataset.clone(),
                format!("{} (d = {})", first.request.polytope, first.dim),
                first.request.head.to_string(),
                members.len().to_string(),
                held_out.join("; "),
                mean_sd(&evals.iter().map(|e| e.accuracy).collect::<Vec<_>>(), 2),
                mean_sd(&pct(|m| m.precision_at_1), 2),
                mean_sd(&pct(|m| m.map_at_r), 2),
                mean_sd(&pct(tar_at_far_1e3), 2),
                mean_sd(&drift, 2),
            ]
        })
        .collect()
}

const NOTES: &str = "Paper: Pernici et al., arXiv 2301.06116 (Fig. 4: MNIST, 99.45 % fixed / 99.47 % learnable; Fig. 5: EMNIST balanced, d-cube, 88.31 % / 88.39 %), for LeNet++ trained to convergence with an epoch count the paper does not state, and without a margin warm-up, which reponet adds for margins above 90 degrees (the simplex). Geometry: angles of the L2-normalised test features to their class's weight and mean direction. Retrieval: every test image a query against all others (Musgrave et al. 2020); verification over every same-class pair and every (or 10 million sampled) different-class pairs.";

/// The report as Markdown, `preface` (Markdown) after the title; figures are linked by
/// their relative paths. `charts` are figures of the whole report (caption, path), shown
/// after the tables.
pub fn report_markdown(runs: &[ReportRun], preface: &str, charts: &[(String, PathBuf)]) -> String {
    let mut out = format!("# reponet report\n\n{preface}\n\n");
    for t in tables(runs) {
        let _ = writeln!(out, "## {}\n", t.title);
        let _ = writeln!(out, "| {} |", t.header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(t.header.len()));
        for row in &t.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
    }
    let _ = writeln!(out, "{NOTES}\n");
    for (caption, path) in charts {
        let _ = writeln!(out, "## {caption}\n\n![{caption}]({})\n", path.display());
    }
    let figures: Vec<_> = runs.iter().filter(|r| r.figure.is_some()).collect();
    if !figures.is_empty() {
        out.push_str("## Test features\n\n");
        for r in figures {
            let path = r.figure.as_ref().expect("filtered");
            let _ = writeln!(
                out,
                "### {}\n\n![{}]({})\n",
                r.record.name,
                r.record.name,
                path.display()
            );
        }
    }
    out
}

/// A run's figures with their captions: the test features first.
fn figures(r: &ReportRun) -> Vec<(String, &Path)> {
    let test = r
        .figure
        .as_deref()
        .map(|p| (format!("{}: test features", r.record.name), p));
    test.into_iter()
        .chain(
            r.extra_figures
                .iter()
                .map(|(c, p)| (c.clone(), p.as_path())),
        )
        .collect()
}

/// The report as one HTML page, `preface` (plain text paragraphs) after the title;
/// `image` gives each figure's PNG bytes to embed.
pub fn report_html(
    runs: &[ReportRun],
    preface: &str,
    charts: &[(String, PathBuf)],
    image: impl Fn(&Path) -> Option<Vec<u8>>,
) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>reponet report</title>\n<style>\
         body{font-family:sans-serif;margin:2em;max-width:1700px;color:#222}\
         table{border-collapse:collapse;margin:0 0 1.5em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}\
         th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}img{max-width:100%;border:1px solid #ddd}\
         p.note{color:#555;font-size:90%;max-width:60em}</style></head><body>\n<h1>reponet report</h1>\n",
    );
    for paragraph in preface.split("\n\n").filter(|p| !p.trim().is_empty()) {
        let _ = writeln!(out, "<p>{}</p>", esc(paragraph));
    }
    for t in tables(runs) {
        let _ = writeln!(out, "<h2>{}</h2>\n<table><tr>", esc(t.title));
        for h in &t.header {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr>\n");
        for row in &t.rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{}</td>", esc(cell));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(NOTES));
    for (caption, path) in charts {
        if let Some(bytes) = image(path) {
            let _ = writeln!(
                out,
                "<h2>{}</h2>\n<img alt=\"{}\" src=\"data:image/png;base64,{}\">",
                esc(caption),
                esc(caption),
                base64(&bytes)
            );
        }
    }
    for r in runs {
        for (caption, path) in figures(r) {
            if let Some(bytes) = image(path) {
                let _ = writeln!(
                    out,
                    "<h2>{}</h2>\n<img alt=\"scatter-plot matrix of {}\" src=\"data:image/png;base64,{}\">",
                    esc(&caption),
                    esc(&r.record.name),
                    base64(&bytes)
                );
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::mean_sd;

    #[test]
    fn mean_and_sample_sd() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32 / 7.
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(
            mean_sd(&xs, 3),
            format!("5.000 ± {:.3}", (32.0f64 / 7.0).sqrt())
        );
        assert_eq!(mean_sd(&[1.5], 2), "1.50");
        assert_eq!(mean_sd(&[], 2), "-");
    }

    #[test]
    fn base64_matches_rfc_4648() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
