use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::export_run;
use serde_json::json;

use crate::context::Ctx;

/// Write a trained run's model as one safetensors file, for use outside reponet.
///
/// The network's weights under PyTorch's LeNet++ names (convs.I.weight, convs.I.bias,
/// acts.I.weight, fc.weight [d, 1152], fc.bias), the head as head.W [outputs, d] (a fixed
/// head's vertices, or a learnable head's matrix), and as metadata the input normalisation,
/// class names, polytope, head, loss, scale, margin and the weights' SHA-256. docs/export.md
/// shows the PyTorch that loads it.
///   reponet export runs/simplex --out simplex.safetensors
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A folder written by `reponet train`.
    run_dir: PathBuf,
    /// The file to write (.safetensors).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let tensors = export_run(&args.run_dir, &args.out, &ctx.compute)?;
    let listing: Vec<_> = tensors
        .iter()
        .map(|t| json!({ "name": t.name, "shape": t.shape }))
        .collect();
    ctx.out
        .json(&json!({ "file": args.out, "tensors": listing }))?;
    for t in &tensors {
        ctx.out.text(format_args!("{:<16} {:?}", t.name, t.shape));
    }
    ctx.out.log(format_args!("wrote {}", args.out.display()));
    Ok(())
}
