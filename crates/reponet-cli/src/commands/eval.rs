use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::predict::{open_set, DEFAULT_PERCENTILE};
use reponet::analysis::{evaluate_run, AngleStats, RetrievalMetrics};

use crate::context::Ctx;

/// Test a trained run: accuracy, feature angles, retrieval; written to its eval.json.
///
/// On another dataset (--dataset), written to RUN_DIR/eval-DATASET.json instead, so the
/// run's own evaluation (eval.json, what `report` shows) stays its own.
///
/// Example: reponet eval runs/simplex --json
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A folder written by `reponet train --out`.
    run_dir: PathBuf,
    /// Dataset to test on [default: the one the run was trained on]; it must have the same
    /// classes (e.g. a run on mnist-sample tested on mnist).
    #[arg(long)]
    dataset: Option<String>,
    /// Folder (or data root) with the test data [default: the run's own].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// For a run trained with --holdout-classes: the percentile of the training angles that
    /// sets `reponet predict`'s "unknown" threshold, whose rejection of unseen and known
    /// classes is reported.
    #[arg(long, default_value_t = DEFAULT_PERCENTILE)]
    unknown_percentile: f64,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let eval = evaluate_run(
        &args.run_dir,
        args.dataset.as_deref(),
        args.data_dir.as_deref(),
        &ctx.compute,
    )?;
    // A hold-out run: how the "unknown" answer of `reponet predict` separates its unseen
    // classes from the known ones.
    let unknown = open_set(&args.run_dir, args.unknown_percentile, &ctx.compute)?;
    if ctx.out.json {
        let mut value = serde_json::to_value(&eval)?;
        if let Some(u) = &unknown {
            value["unknown_answer"] = serde_json::to_value(u)?;
        }
        return ctx.out.json(&value);
    }
    println!(
        "test accuracy {:.2} % ({} of {} images, {})",
        eval.accuracy, eval.correct, eval.images, eval.data_dir
    );
    let g = &eval.geometry;
    let stats = |a: &AngleStats| format!("{:.1} / {:.1} / {:.1}", a.mean, a.median, a.p95);
    println!("feature angles, degrees (mean / median / 95th percentile):");
    println!("  to the class weight  {}", stats(&g.to_class_weight));
    println!("  to the class mean    {}", stats(&g.to_class_mean));
    println!(
        "  between class means  {:.1} smallest, {:.1} mean; compactness / separation {}",
        g.min_angle_between_class_means,
        g.mean_angle_between_class_means,
        g.compactness_to_separation
            .map_or("undefined (means coincide)".into(), |r| format!("{r:.3}"))
    );
    if let Some(r) = &eval.retrieval {
        print_retrieval("", r);
    }
    if let Some(r) = &eval.held_out_retrieval {
        println!(
            "unseen classes {} (held out of training), among their own test images:",
            reponet::train::class_list(&eval.held_out_classes, ", ")
        );
        print_retrieval("  ", r);
    }
    if let Some(u) = &unknown {
        println!(
            "  \"unknown\" beyond {:.2} deg (percentile {} of the training angles): {:.2} % of the unseen classes' {} images, {:.2} % of the known classes' {}",
            u.threshold_degrees,
            u.percentile,
            u.unseen_rejected_percent,
            u.unseen_images,
            u.known_rejected_percent,
            u.known_images
        );
    }
    println!("  class  name         images  accuracy  angle to class weight (mean / median / p95)");
    for (c, cg) in eval.per_class.iter().zip(&g.per_class) {
        println!(
            "  {:>5}  {:<11}  {:>6}  {:>7.2} %  {}",
            c.class,
            c.name,
            c.images,
            c.accuracy,
            stats(&cg.to_class_weight)
        );
    }
    let own = reponet::train::RunDir::open(&args.run_dir)?.config()?;
    let file = reponet::train::RunDir::eval_file(&own.request.dataset, &eval.dataset);
    ctx.out.log(format_args!(
        "written to {}",
        args.run_dir.join(file).display()
    ));
    Ok(())
}

fn print_retrieval(indent: &str, r: &RetrievalMetrics) {
    let tars: Vec<String> = r
        .tar_at_far
        .iter()
        .map(|t| format!("{:.2} % at FAR {:e}", 100.0 * t.tar, t.far))
        .collect();
    println!(
        "{indent}retrieval (cosine, {} queries): precision@1 {:.2} %, R-precision {:.2} %, MAP@R {:.2} %",
        r.queries,
        100.0 * r.precision_at_1,
        100.0 * r.r_precision,
        100.0 * r.map_at_r
    );
    println!(
        "{indent}verification ({} positive, {} negative pairs): TAR {} ({:.1} s)",
        r.positive_pairs,
        r.negative_pairs,
        tars.join(", "),
        r.seconds
    );
}
