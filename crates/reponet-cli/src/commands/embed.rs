use std::path::PathBuf;

use anyhow::Result;
use reponet::analysis::{embed_images, embed_run, write_embeddings, PretrainedBackbone};
use reponet::data::{image_files, DataSplit, FOLDER_PREFIX};
use reponet::nn::ModelKind;
use reponet::train::InputNorm;

use crate::context::Ctx;

/// Write features of a run's split, of your image files, or of a pretrained backbone.
///
/// A run's d-dimensional features of a split, with their labels; or of image files of your
/// own (--images), labelled with their nearest class. Without a run, a pretrained ResNet's
/// pooled features (--model and --weights: 512 values for resnet18/34, 2048 for resnet50)
/// of --images (unlabelled, file names beside them), or of both splits of a folder dataset
/// (--dataset folder:PATH) as one .safetensors file, which `train --dataset
/// features:FILE` reads.
///
/// The format follows the extension of --out:
///   .npy          one structured array: a = np.load(f); a["features"] (n, d), a["label"]
///   .csv          label,class,f0,f1,... one row per image (file,label,... with --images)
///   .safetensors  tensors "features" (F32 [n, d]) and "labels" (U8 [n])
/// Examples:
///   reponet embed runs/simplex --split test --normalize --out simplex-test.npy
///   reponet embed runs/mine --images photos/ extra.jpg --out photos.csv
///   reponet embed --model resnet18 --weights resnet18.pth --images photos/ --out f.npy
///   reponet embed --model resnet18 --weights resnet18.pth --dataset folder:photos --out f.safetensors
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A folder written by `reponet train` (or --model and --weights instead).
    #[arg(required_unless_present = "weights", conflicts_with_all = ["model", "weights"])]
    run_dir: Option<PathBuf>,
    /// Without a run: the pretrained backbone, resnet18, resnet34 or resnet50.
    #[arg(long, requires = "weights")]
    model: Option<ModelKind>,
    /// Without a run: its weights, a PyTorch state dict (.pth / .pt) or .safetensors under
    /// torchvision's or timm's names (read without running any code).
    #[arg(long, value_name = "FILE", requires = "model")]
    weights: Option<PathBuf>,
    /// With --weights: the size images are read at, ROWSxCOLS or N (an image already that
    /// size is not resampled) [default: 224].
    #[arg(long, value_name = "ROWSxCOLS", value_parser = crate::commands::folder_args::parse_image_size, requires = "weights")]
    image_size: Option<[usize; 2]>,
    /// With --weights: imagenet (what the weights were trained with) or dataset (the
    /// images' own per-channel statistics; a folder dataset's training split's).
    #[arg(long, default_value = "imagenet", requires = "weights")]
    input_norm: InputNorm,
    /// With --weights: a folder dataset (folder:PATH) whose train and test splits to embed
    /// into one .safetensors file, instead of --images.
    #[arg(
        long,
        value_name = "folder:PATH",
        requires = "weights",
        conflicts_with = "images"
    )]
    dataset: Option<String>,
    #[command(flatten)]
    folder: crate::commands::folder_args::SplitArgs,
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
    let Some(run_dir) = &args.run_dir else {
        return pretrained(args, ctx);
    };
    if args.dataset.is_some() {
        anyhow::bail!("--dataset applies with --weights; a run embeds its own dataset (--split)");
    }
    let mut emb = if args.images.is_empty() {
        embed_run(run_dir, args.split, args.data_dir.as_deref(), &ctx.compute)?
    } else {
        let files = image_files(&args.images)?;
        if files.is_empty() {
            anyhow::bail!("no PNG or JPEG files among the --images given");
        }
        embed_images(run_dir, &files, &ctx.compute)?
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

/// A pretrained backbone's features of --images, or of both splits of --dataset.
fn pretrained(args: Args, ctx: &Ctx) -> Result<()> {
    let (Some(model), Some(weights)) = (args.model, &args.weights) else {
        anyhow::bail!("give a run folder, or --model and --weights");
    };
    let started = std::time::Instant::now();
    let image_size = args.image_size.unwrap_or([224, 224]);
    let backbone =
        PretrainedBackbone::load(model, weights, image_size, args.input_norm, &ctx.compute)
            .map_err(crate::errors::in_flag_words)?;
    if let Some(dataset) = &args.dataset {
        if !dataset.starts_with(FOLDER_PREFIX) {
            anyhow::bail!("--dataset {dataset}: give a folder dataset, folder:PATH");
        }
        if args.out.extension().is_none_or(|e| e != "safetensors") {
            anyhow::bail!(
                "{}: a dataset's features are written as .safetensors (train.features, train.labels, test.features, test.labels)",
                args.out.display()
            );
        }
        let (train, test) =
            backbone.write_feature_dataset(dataset, &args.folder.options(), &args.out)?;
        ctx.out.json(&serde_json::json!({
            "file": args.out, "model": model, "weights_sha256": backbone.weights_sha256,
            "dim": backbone.dim(), "train": train, "test": test,
            "seconds": started.elapsed().as_secs_f64(),
        }))?;
        ctx.out.text(format_args!(
            "{train} train and {test} test features of dimension {} ({model}, {}) in {:.0} s -> {}",
            backbone.dim(),
            weights.display(),
            started.elapsed().as_secs_f64(),
            args.out.display()
        ));
        return Ok(());
    }
    if args.images.is_empty() {
        anyhow::bail!("give --images FILES-OR-FOLDERS or --dataset folder:PATH to embed");
    }
    let files = image_files(&args.images)?;
    if files.is_empty() {
        anyhow::bail!("no PNG or JPEG files among the --images given");
    }
    let mut emb = backbone.embed_files(&files)?;
    if args.normalize {
        emb = emb.normalized();
    }
    write_embeddings(&args.out, &emb)?;
    ctx.out.json(&serde_json::json!({
        "file": args.out, "model": model, "weights_sha256": backbone.weights_sha256,
        "features": emb.len(), "dim": emb.dim, "images": emb.files, "normalized": args.normalize,
        "seconds": started.elapsed().as_secs_f64(),
    }))?;
    ctx.out.text(format_args!(
        "{} image features of dimension {} ({model}) in {:.0} s -> {}",
        emb.len(),
        emb.dim,
        started.elapsed().as_secs_f64(),
        args.out.display()
    ));
    Ok(())
}
