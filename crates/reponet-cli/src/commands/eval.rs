use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::evaluate_run;

/// Test accuracy of a trained run, overall and per class; also written to RUN_DIR/eval.json.
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
    /// Print the evaluation as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let eval = evaluate_run(
        &args.run_dir,
        args.dataset.as_deref(),
        args.data_dir.as_deref(),
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&eval)?);
        return Ok(());
    }
    println!(
        "test accuracy {:.2} % ({} of {} images, {})",
        eval.accuracy, eval.correct, eval.images, eval.data_dir
    );
    let g = &eval.geometry;
    println!(
        "feature angles (deg): to the class weight {:.1} mean, to the class mean {:.1} mean; smallest between class means {:.1}",
        g.mean_angle_to_class_weight, g.mean_angle_to_class_mean, g.min_angle_between_class_means
    );
    println!("  class  images  accuracy");
    for c in &eval.per_class {
        println!("  {:>5}  {:>6}  {:>7.2} %", c.class, c.images, c.accuracy);
    }
    println!("written to {}", args.run_dir.join("eval.json").display());
    Ok(())
}
