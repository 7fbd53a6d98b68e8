use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::{embed_run, write_embeddings};
use reponet::data::DataSplit;

use crate::context::Ctx;

/// Write a run's d-dimensional features of a split, with labels, for other tools.
///
/// The format follows the extension of --out:
///   .npy          one structured array: a = np.load(f); a["features"] (n, d), a["label"]
///   .csv          label,class,f0,f1,... one row per image
///   .safetensors  tensors "features" (F32 [n, d]) and "labels" (U8 [n])
/// Example: reponet embed runs/simplex --split test --normalize --out simplex-test.npy
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A folder written by `reponet train`.
    run_dir: PathBuf,
    /// train or test.
    #[arg(long, default_value = "test")]
    split: DataSplit,
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
    let mut emb = embed_run(
        &args.run_dir,
        args.split,
        args.data_dir.as_deref(),
        &ctx.compute,
    )?;
    if args.normalize {
        emb = emb.normalized();
    }
    write_embeddings(&args.out, &emb)?;
    ctx.out.json(&serde_json::json!({
        "file": args.out,
        "features": emb.len(),
        "dim": emb.dim,
        "split": args.split,
        "normalized": args.normalize,
    }))?;
    ctx.out.text(format_args!(
        "{} {} features of dimension {}{} -> {}",
        emb.len(),
        args.split.name(),
        emb.dim,
        if args.normalize { ", unit length" } else { "" },
        args.out.display()
    ));
    Ok(())
}
