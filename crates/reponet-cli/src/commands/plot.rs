use std::path::PathBuf;

use anyhow::{bail, Result};
use reponet::analysis::plot::{plot_run, ImageFormat, Projection, RunFigure};
use reponet::data::DataSplit;
use reponet::train::write_atomic;

use crate::context::Ctx;

/// Draw a run's features as a scatter-plot matrix (the paper's Fig. 2, 4, 5, 6).
///
/// Panel (row i, column j) plots coordinate j across and coordinate i up; points are
/// coloured by class, the diagonal holds each class's histogram of coordinate i, and for a
/// fixed head the polytope's class vertices are circled at the features' typical length.
/// Every panel has the same symmetric scale, so the simplex's Y, the orthoplex's + and the
/// cube's x show as they are.
///   reponet plot runs/simplex --out simplex.png
///   reponet plot runs/simplex --normalize --split train --out simplex-train.svg
///   reponet plot runs/emnist --project pca:4 --out emnist.png
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
    /// Scale every feature to unit length first (the paper's Fig. 6).
    #[arg(long)]
    normalize: bool,
    /// Coordinates to show, e.g. 0,1,2,3 (at most 10) [default: all, if d <= 10].
    #[arg(long, value_delimiter = ',', conflicts_with = "project")]
    dims: Option<Vec<usize>>,
    /// pca:K shows the top K principal directions instead of the coordinates.
    #[arg(long)]
    project: Option<Projection>,
    /// Points drawn at most, taken evenly across classes [default: 20000 for PNG, 3000 for
    /// SVG, whose every point is an element].
    #[arg(long)]
    max_points: Option<usize>,
    /// The figure: .png or .svg.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let format = match args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => ImageFormat::Png,
        Some("svg") => ImageFormat::Svg,
        _ => bail!("{}: name the figure .png or .svg", args.out.display()),
    };
    let projection = match (args.dims, args.project) {
        (Some(dims), _) => Projection::Dims(dims),
        (None, Some(p)) => p,
        (None, None) => Projection::All,
    };
    let max_points = args.max_points.unwrap_or(match format {
        ImageFormat::Png => 20_000,
        ImageFormat::Svg => 3_000,
    });
    if max_points == 0 {
        bail!("--max-points 0: draw at least 1 point");
    }
    let bytes = plot_run(
        &args.run_dir,
        args.split,
        args.data_dir.as_deref(),
        &ctx.compute,
        RunFigure {
            normalize: args.normalize,
            projection,
            max_points,
            format,
        },
    )?;
    write_atomic(&args.out, &bytes)?;
    ctx.out.log(format_args!("wrote {}", args.out.display()));
    Ok(())
}
