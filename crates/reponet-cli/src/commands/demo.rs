use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use reponet::analysis::{load_report_runs, write_report};
use reponet::geometry::PolytopeKind;
use reponet::nn::HeadKind;
use reponet::train::{self, TrainConfig};

use crate::context::Ctx;
use crate::progress::ProgressObserver;

/// The first thing to run: a fixed and a learnable head, trained and compared.
///
/// On the built-in MNIST sample (8,000 training and 2,000 test digits, no download), trains
/// LeNet++ with a fixed d-Orthoplex head and with a learnable head of the same d, both with
/// the margin loss, then writes a report with both scatter-plot matrices, the accuracy, the
/// feature angles and the retrieval figures. One to two minutes on 2 CPU cores.
///   reponet demo
///   reponet demo --polytope cube --epochs 2 --out runs/demo-cube
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Where the two runs and the report go (an earlier demo there is replaced).
    #[arg(long, default_value = "runs/demo")]
    out: PathBuf,
    #[arg(long, default_value = "orthoplex")]
    polytope: PolytopeKind,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let started = Instant::now();
    let mut dirs = Vec::new();
    for head in [HeadKind::Fixed, HeadKind::Learnable] {
        let config = TrainConfig {
            dataset: "mnist-sample".into(),
            polytope: args.polytope,
            head,
            epochs: args.epochs,
            // 125 steps an epoch: enough for the margin loss to settle on 8,000 images.
            batch_size: 64,
            ..TrainConfig::paper_defaults(None)
        };
        let dir = args.out.join(head.to_string());
        ctx.out
            .log(format_args!("== {} head, d-{} ==", head, args.polytope));
        let mut observer = ProgressObserver::new(Default::default(), &ctx.out);
        let summary = train::train(&config, &dir, true, &ctx.compute, &mut observer)
            .map_err(crate::errors::in_flag_words)?;
        ctx.out.log(format_args!(
            "{} head: test accuracy {:.2} %",
            head, summary.final_test_accuracy
        ));
        dirs.push(dir);
    }
    let report = args.out.join("report");
    let runs = load_report_runs(&dirs, &report, &ctx.compute, &mut |dir, e| {
        ctx.out.log(format_args!("skipped {}: {e}", dir.display()))
    })?;
    let preface = format!(
        "reponet demo: the built-in MNIST sample (8,000 training and 2,000 test digits), LeNet++ with a fixed d-{} head and with a learnable head of the same d, margin loss, {} epoch(s) of batch 64. A first look, not the paper's setting (full MNIST, batch 512): see `reponet reproduce`.",
        args.polytope, args.epochs
    );
    let [md, html] = write_report(&runs, &report, &preface)?;
    ctx.out.json(&serde_json::json!({ "report": [md, html] }))?;
    ctx.out.text(format_args!(
        "demo done in {:.0} s. Open {} in a browser (or read {} beside it).",
        started.elapsed().as_secs_f64(),
        html.display(),
        md.display()
    ));
    Ok(())
}
