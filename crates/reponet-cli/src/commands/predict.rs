use std::path::PathBuf;

use anyhow::{bail, Result};
use reponet::analysis::predict::{
    predict_features, predict_files, Predictions, Threshold, DEFAULT_PERCENTILE,
};
use reponet::data::image_files;

use crate::context::Ctx;

/// Recognise image files with a trained run: a class, or "unknown" far from all.
///
/// PNG or JPEG files, or folders of them (subfolders included); any size and colour (converted and resized to the
/// run's input: grey 28 x 28 for the MNIST family, digits light on dark). Per image: the
/// class, the cosine and angle between its feature and the nearest class's vertex, and
/// "unknown" when that angle exceeds the threshold: by default the 95th percentile of the
/// training images' angles to their own class (computed once, kept in
/// RUN_DIR/unknown-threshold.json).
/// A run trained on precomputed features (--model linear or mlp) recognises the rows of a
/// features file from the same backbone instead (--features).
///   reponet predict runs/simplex digits/ --csv
///   reponet predict runs/simplex a.png b.png --threshold 20
///   reponet predict runs/probe --features new-photos.safetensors
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A folder written by `reponet train`.
    run_dir: PathBuf,
    /// Image files or folders of them.
    #[arg(required_unless_present = "features")]
    images: Vec<PathBuf>,
    /// A run on precomputed features: the rows of this file (tensor "features", as `reponet
    /// embed --model ... --weights ... --images ... --out FILE.safetensors` writes it).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["images", "skip_bad_images"])]
    features: Option<PathBuf>,
    /// Unknown beyond this angle to the nearest class, degrees.
    #[arg(long, conflicts_with = "percentile")]
    threshold: Option<f64>,
    /// Unknown beyond this percentile of the training images' angles to their class.
    #[arg(long, default_value_t = DEFAULT_PERCENTILE)]
    percentile: f64,
    /// Comma-separated values instead of a table.
    #[arg(long)]
    csv: bool,
    /// Leave out images that do not decode, naming each on standard error, instead of
    /// stopping at the first.
    #[arg(long)]
    skip_bad_images: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let threshold = match args.threshold {
        Some(d) if !(0.0..=180.0).contains(&d) => bail!("--threshold {d}: degrees from 0 to 180"),
        Some(d) => Threshold::Degrees(d),
        None => Threshold::Percentile(args.percentile),
    };
    if let Some(file) = &args.features {
        let result = predict_features(&args.run_dir, file, threshold, &ctx.compute)?;
        return show(&result, args.csv, ctx);
    }
    let files = image_files(&args.images)?;
    if files.is_empty() {
        let given: Vec<String> = args
            .images
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        bail!("no .png, .jpg or .jpeg files in {}", given.join(", "));
    }
    let result = predict_files(
        &args.run_dir,
        &files,
        threshold,
        args.skip_bad_images,
        &ctx.compute,
    )?;
    for skipped in &result.skipped {
        ctx.out.log(format_args!("left out: {}", skipped.problem));
    }
    show(&result, args.csv, ctx)
}

/// The predictions as JSON, CSV or a table.
fn show(result: &Predictions, csv: bool, ctx: &Ctx) -> Result<()> {
    if ctx.out.json {
        return ctx.out.json(result);
    }
    ctx.out.log(format_args!(
        "unknown beyond {:.2} deg ({})",
        result.threshold_degrees, result.threshold_from
    ));
    if csv {
        println!("file,class,nearest,cosine,angle_degrees");
    }
    for p in &result.predictions {
        let class = p.class.as_deref().unwrap_or("unknown");
        if csv {
            println!(
                "{},{class},{},{:.6},{:.4}",
                p.file.display(),
                p.nearest,
                p.cosine,
                p.angle_degrees
            );
        } else {
            println!(
                "{}  {class:<10} nearest {:<10} cos {:.4}  {:.2} deg",
                p.file.display(),
                p.nearest,
                p.cosine,
                p.angle_degrees
            );
        }
    }
    Ok(())
}
