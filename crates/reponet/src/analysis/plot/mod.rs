//! Scatter-plot matrices of features, as in the paper's Fig. 2, 4, 5 and 6: panel (i, j)
//! plots coordinate j (x) against coordinate i (y), points coloured by class; the diagonal
//! holds each class's histogram of coordinate i. Every panel shares one symmetric scale, so
//! angles look as they are and a polytope's Y, + and x shapes show.

mod canvas;
pub mod curves;
mod projection;

pub use canvas::{text_width, Anchor, Canvas, PngCanvas, Rgb, SvgCanvas};
pub use projection::{principal_axes, Projection};

use std::path::Path;

use super::embeddings::embed_run_with_config;
use super::Embeddings;
use crate::analysis::AnalysisError;
use crate::data::DataSplit;
use crate::nn::HeadKind;

/// What to draw.
#[derive(Debug, Clone)]
pub struct ScatterOptions {
    /// How d-dimensional features are brought to the page.
    pub projection: Projection,
    /// Points drawn at most, taken evenly across classes.
    pub max_points: usize,
    /// Title above the figure.
    pub title: String,
    /// Class directions to mark (unit vectors in feature space), e.g. a fixed head's
    /// vertices, drawn at `marker_radius` from the origin.
    pub markers: Option<Vec<Vec<f64>>>,
    /// Marker radius in pixels.
    pub marker_radius: f64,
}

/// The output format.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::Display, strum::EnumString, strum::IntoStaticStr,
)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ImageFormat {
    /// A raster image (PNG).
    Png,
    /// A vector drawing (SVG).
    Svg,
}

/// Ten colours that stay apart (Tableau 10), then evenly spaced hues for more classes.
pub fn class_color(class: usize, classes: usize) -> Rgb {
    const TAB10: [Rgb; 10] = [
        Rgb(31, 119, 180),
        Rgb(255, 127, 14),
        Rgb(44, 160, 44),
        Rgb(214, 39, 40),
        Rgb(148, 103, 189),
        Rgb(140, 86, 75),
        Rgb(227, 119, 194),
        Rgb(127, 127, 127),
        Rgb(188, 189, 34),
        Rgb(23, 190, 207),
    ];
    if classes <= 10 {
        return TAB10[class % 10];
    }
    let h = class as f32 / classes as f32 * 6.0;
    let l = if class.is_multiple_of(2) { 0.45 } else { 0.62 };
    let c = (1.0 - (2.0 * l - 1.0f32).abs()) * 0.85;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as usize {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = l - c / 2.0;
    let to = |v: f32| ((v + m) * 255.0).round() as u8;
    Rgb(to(r), to(g), to(b))
}

/// Indices of at most `max` samples, taken evenly from each class (every k-th of a class).
pub fn subsample(labels: &[u8], classes: usize, max: usize) -> Vec<usize> {
    if labels.len() <= max {
        return (0..labels.len()).collect();
    }
    let mut by_class = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let present = by_class.iter().filter(|c| !c.is_empty()).count().max(1);
    let quota = (max / present).max(1);
    let mut chosen: Vec<usize> = by_class
        .iter()
        .flat_map(|members| {
            let take = quota.min(members.len());
            (0..take).map(move |k| members[k * members.len() / take])
        })
        .collect();
    chosen.sort_unstable();
    chosen
}

/// Draw the scatter-plot matrix of `emb` and return the image file's bytes.
pub fn scatter_matrix(
    emb: &Embeddings,
    options: &ScatterOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, String> {
    let classes = emb.class_names.len().max(1);
    let chosen = subsample(&emb.labels, classes, options.max_points);
    let (names, project) = options.projection.resolve(emb)?;
    let k = names.len();
    let points: Vec<(Vec<f64>, usize)> = chosen
        .iter()
        .map(|&i| (project(emb.row(i)), emb.labels[i] as usize))
        .collect();
    let markers: Vec<(Vec<f64>, usize)> = options
        .markers
        .iter()
        .flatten()
        .enumerate()
        .map(|(c, v)| {
            let scaled: Vec<f32> = v
                .iter()
                .map(|&x| (x * options.marker_radius) as f32)
                .collect();
            (project(&scaled), c)
        })
        .collect();
    // One symmetric range for every coordinate.
    let extent = points
        .iter()
        .chain(&markers)
        .flat_map(|(p, _)| p.iter().map(|x| x.abs()))
        .fold(0.0f64, f64::max)
        .max(1e-12)
        * 1.08;

    // Layout, in pixels.
    let panel = (1500.0 / k as f32).clamp(110.0, 280.0);
    let gap = 6.0;
    let (left, top, legend_w, bottom) = (16.0, 58.0, 170.0, 16.0);
    let grid = k as f32 * panel + (k as f32 - 1.0) * gap;
    let width = (left + grid + legend_w) as usize;
    let height = (top + grid.max(classes as f32 * 17.0 + 20.0) + bottom) as usize;
    let mut canvas: Box<dyn Canvas> = match format {
        ImageFormat::Png => Box::new(PngCanvas::new(width, height, Rgb::WHITE)),
        ImageFormat::Svg => Box::new(SvgCanvas::new(width, height, Rgb::WHITE)),
    };
    canvas.text(left, 26.0, 18.0, Rgb::BLACK, Anchor::Start, &options.title);
    let subtitle = format!(
        "{} of {} points, panel (row i, column j): coordinate j across, i up; diagonal: histograms{}",
        points.len(),
        emb.len(),
        if markers.is_empty() { "" } else { "; circles: class vertices" }
    );
    canvas.text(left, 46.0, 12.0, Rgb(80, 80, 80), Anchor::Start, &subtitle);

    // Dots fade as they get many, so dense clusters still show their shape.
    let (radius, alpha) = match points.len() {
        0..=2000 => (2.0, 0.7),
        2001..=8000 => (1.5, 0.45),
        _ => (1.2, 0.3),
    };
    let to_px = |v: f64, origin: f32, flip: bool| {
        let t = ((v / extent + 1.0) / 2.0) as f32 * panel;
        if flip {
            origin + panel - t
        } else {
            origin + t
        }
    };
    for i in 0..k {
        for j in 0..k {
            let x0 = left + j as f32 * (panel + gap);
            let y0 = top + i as f32 * (panel + gap);
            canvas.rect(x0, y0, panel, panel, Rgb(250, 250, 250), 1.0);
            // Axes through the origin.
            canvas.rect(
                x0 + panel / 2.0 - 0.5,
                y0,
                1.0,
                panel,
                Rgb(225, 225, 225),
                1.0,
            );
            canvas.rect(
                x0,
                y0 + panel / 2.0 - 0.5,
                panel,
                1.0,
                Rgb(225, 225, 225),
                1.0,
            );
            if i == j {
                histogram(&mut *canvas, &points, i, classes, extent, (x0, y0, panel));
                canvas.text(
                    x0 + 5.0,
                    y0 + 15.0,
                    12.0,
                    Rgb::BLACK,
                    Anchor::Start,
                    &names[i],
                );
            } else {
                for (p, c) in &points {
                    let (x, y) = (to_px(p[j], x0, false), to_px(p[i], y0, true));
                    canvas.dot(x, y, radius, class_color(*c, classes), alpha);
                }
                // Vertices orthogonal to both coordinates would all pile up at the origin.
                for (m, c) in markers
                    .iter()
                    .filter(|(m, _)| m[i].hypot(m[j]) > 1e-6 * extent)
                {
                    let (x, y) = (to_px(m[j], x0, false), to_px(m[i], y0, true));
                    canvas.dot(x, y, 5.0, Rgb::BLACK, 1.0);
                    canvas.dot(x, y, 3.5, class_color(*c, classes), 1.0);
                }
            }
            canvas.frame(x0, y0, panel, panel, Rgb(170, 170, 170), 1.0);
        }
    }
    // Legend.
    let lx = left + grid + 18.0;
    canvas.text(lx, top + 12.0, 13.0, Rgb::BLACK, Anchor::Start, "class");
    for (c, name) in emb.class_names.iter().enumerate() {
        let y = top + 30.0 + c as f32 * 17.0;
        canvas.dot(lx + 6.0, y - 4.0, 5.0, class_color(c, classes), 1.0);
        canvas.text(lx + 18.0, y, 12.0, Rgb::BLACK, Anchor::Start, name);
    }
    canvas.finish()
}

/// Per-class step histograms of coordinate `i`, scaled to the tallest class.
fn histogram(
    canvas: &mut dyn Canvas,
    points: &[(Vec<f64>, usize)],
    i: usize,
    classes: usize,
    extent: f64,
    (x0, y0, panel): (f32, f32, f32),
) {
    const BINS: usize = 40;
    let mut counts = vec![[0usize; BINS]; classes];
    for (p, c) in points {
        let b = (((p[i] / extent + 1.0) / 2.0) * BINS as f64) as usize;
        counts[*c][b.min(BINS - 1)] += 1;
    }
    let tallest = counts.iter().flatten().copied().max().unwrap_or(1).max(1) as f32;
    let bin_w = panel / BINS as f32;
    let usable = panel - 22.0;
    for (c, bins) in counts.iter().enumerate() {
        let color = class_color(c, classes);
        for (b, &n) in bins.iter().enumerate() {
            if n > 0 {
                let h = n as f32 / tallest * usable;
                let x = x0 + b as f32 * bin_w;
                canvas.rect(x, y0 + panel - h, bin_w, h, color, 0.25);
                canvas.rect(x, y0 + panel - h, bin_w, 1.2, color, 0.9);
            }
        }
    }
}

/// How [`plot_run`] draws a run's features.
#[derive(Debug, Clone)]
pub struct RunFigure {
    /// Scale every feature to unit length first (the paper's Fig. 6).
    pub normalize: bool,
    /// Which coordinates make the panels.
    pub projection: Projection,
    /// At most this many points (an even sample of the rest is left out).
    pub max_points: usize,
    /// PNG or SVG.
    pub format: ImageFormat,
}

/// The scatter-plot matrix of a run's features of `split` (data read from `data_dir`,
/// default the run's own), titled with the run's setting; a fixed head's class vertices are
/// marked at the features' median length (1 when normalised).
pub fn plot_run(
    run_dir: &Path,
    split: DataSplit,
    data_dir: Option<&Path>,
    compute: &crate::device::Compute,
    figure: RunFigure,
) -> Result<Vec<u8>, AnalysisError> {
    let RunFigure {
        normalize,
        projection,
        max_points,
        format,
    } = figure;
    let (config, mut emb) = embed_run_with_config(run_dir, split, data_dir, compute)?;
    let mut norms: Vec<f64> = (0..emb.len())
        .map(|i| {
            emb.row(i)
                .iter()
                .map(|&x| x as f64 * x as f64)
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    norms.sort_by(f64::total_cmp);
    let median_norm = norms.get(norms.len() / 2).copied().unwrap_or(1.0);
    if normalize {
        emb = emb.normalized();
    }
    let request = &config.request;
    let markers = match request.head {
        HeadKind::Fixed => Some(config.polytope()?.class_vertices().to_vec()),
        HeadKind::Learnable => None,
    };
    let options = ScatterOptions {
        projection,
        max_points,
        title: format!(
            "{}: d-{} ({} dims), {} head, {} loss; {} {}{}",
            run_dir
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            request.polytope,
            config.dim,
            request.head,
            request.loss,
            request.dataset,
            split.name(),
            if normalize { ", L2-normalised" } else { "" }
        ),
        markers,
        marker_radius: if normalize { 1.0 } else { median_norm },
    };
    scatter_matrix(&emb, &options, format).map_err(AnalysisError::Figure)
}
