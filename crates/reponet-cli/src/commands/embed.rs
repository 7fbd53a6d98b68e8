use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::{embed_images, embed_run, write_embeddings};
use reponet::data::{image_files, DataSplit};

use crate::context::Ctx;

/// Write a run's features of a split, or of your own image files, for other tools.
///
/// A split's d-dimensional features with their labels; or image files of your own
/// (--images), labelled with their nearest class.
///
/// The format follows the extension of --out:
///   .npy          one structured array: a = np.load(f); a["features"] (n, d), a["label"]
///   .csv          label,class,f0,f1,... one row per image (file,label,... with --images)
///   .safetensors  tensors "features" (F32 [n, d]) and "labels" (U8 [n])
/// Examples:
///   reponet embed runs/simplex --split test --normalize --out simplex-test.npy
///   reponet embed runs/mine --images photos/ extra.jpg --out photos.csv
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A folder written by `reponet train`.
    run_dir: PathBuf,
    /// train or test.
    #[arg(long, default_value = "test")]
    split: DataSplit,
    /// Embed these PNG or JPEG files (folders: their images and their subfolders', sorted)
    /// instead of a split.
    #[arg(long, num_args = 1.., value_name = "FILE|FOLDER", conflicts_with_all = ["split", "data_dir"])]
    images: Vec<PathBuf>,
    /// Folder holding the run's dataset, when it has moved since training [default: the
    /// folder the run was trained from].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Scale every feature to unit length (the paper's Fig. 6).
    #[arg(long)]
    normalize: bool,
    /// The file to write: .npy, .csv or .safetensors.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let mut emb = if args.images.is_empty() {
        embed_run(
            &args.run_dir,
            args.split,
            args.data_dir.as_deref(),
            &ctx.compute,
        )?
    } else {
        let files = image_files(&args.images)?;
        if files.is_empty() {
            anyhow::bail!("no PNG or JPEG files among the --images given");
        }
        embed_images(&args.run_dir, &files, &ctx.compute)?
    };
    let what = if args.images.is_empty() {
        args.split.name()
    } else {
        "image"
    };
    if args.normalize {
        emb = emb.normalized();
    }
    write_embeddings(&args.out, &emb)?;
    ctx.out.json(&serde_json::json!({
        "file": args.out,
        "features": emb.len(),
        "dim": emb.dim,
        "split": (args.images.is_empty()).then_some(args.split),
        "images": emb.files,
        "normalized": args.normalize,
    }))?;
    ctx.out.text(format_args!(
        "{} {} features of dimension {}{} -> {}",
        emb.len(),
        what,
        emb.dim,
        if args.normalize { ", unit length" } else { "" },
        args.out.display()
    ));
    Ok(())
}
