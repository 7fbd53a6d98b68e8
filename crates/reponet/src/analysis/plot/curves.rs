//! Line charts of per-epoch figures across runs: test accuracy, class-mean drift.

use super::canvas::{text_width, Anchor, Canvas, PngCanvas, Rgb, SvgCanvas};
use super::{class_color, ImageFormat};
use crate::analysis::RunRecord;
use crate::train::EpochMetrics;

/// One line: a name for the legend and its (x, y) points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry: the run's name.
    pub name: String,
    /// (x, y) points, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title above the chart.
    pub title: String,
    /// Label of the horizontal axis.
    pub x_label: String,
    /// Label of the vertical axis.
    pub y_label: String,
    /// The lines, one colour each.
    pub series: Vec<Series>,
}

/// Test accuracy after each epoch, one line per run.
pub fn accuracy_chart(runs: &[RunRecord]) -> LineChart {
    per_epoch_chart(
        runs,
        "Test accuracy after each epoch",
        "test accuracy (%)",
        |m| Some(m.test_accuracy),
    )
}

/// Stationarity: the mean angle the class means of the test features moved in each epoch,
/// one line per run that recorded them (runs of reponet 0.1.0 from before did not).
pub fn drift_chart(runs: &[RunRecord]) -> LineChart {
    per_epoch_chart(
        runs,
        "Class-mean drift: mean angle each class mean moved in the epoch",
        "drift (deg)",
        EpochMetrics::mean_drift_degrees,
    )
}

/// One line per run of `value` against the epoch; runs without any value are left out.
fn per_epoch_chart(
    runs: &[RunRecord],
    title: &str,
    y_label: &str,
    value: impl Fn(&EpochMetrics) -> Option<f64>,
) -> LineChart {
    LineChart {
        title: title.into(),
        x_label: "epoch".into(),
        y_label: y_label.into(),
        series: runs
            .iter()
            .map(|r| Series {
                name: r.name.clone(),
                points: r
                    .epochs
                    .iter()
                    .filter_map(|m| Some((m.epoch as f64, value(m)?)))
                    .collect(),
            })
            .filter(|s| !s.points.is_empty())
            .collect(),
    }
}

/// "Nice" tick positions covering [lo, hi].
fn ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    let span = (hi - lo).max(1e-12);
    let raw = span / count.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).ceil() * step;
    (0..)
        .map(|i| first + i as f64 * step)
        .take_while(|t| *t <= hi + 1e-9 * span)
        .collect()
}

fn label(value: f64) -> String {
    let s = format!("{value:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Draw `chart`; `None` when no series has a point.
pub fn line_chart(chart: &LineChart, format: ImageFormat) -> Option<Vec<u8>> {
    let points: Vec<(f64, f64)> = chart.series.iter().flat_map(|s| s.points.clone()).collect();
    if points.is_empty() {
        return None;
    }
    let fold = |f: fn(f64, f64) -> f64, init: f64, pick: fn(&(f64, f64)) -> f64| {
        points.iter().map(pick).fold(init, f)
    };
    let (x0, x1) = (
        fold(f64::min, f64::INFINITY, |p| p.0),
        fold(f64::max, f64::NEG_INFINITY, |p| p.0),
    );
    let (y0, y1) = (
        fold(f64::min, f64::INFINITY, |p| p.1),
        fold(f64::max, f64::NEG_INFINITY, |p| p.1),
    );
    let pad = ((y1 - y0) * 0.06).max(1e-3);
    let (x0, x1) = if x1 > x0 {
        (x0, x1)
    } else {
        (x0 - 1.0, x1 + 1.0)
    };
    let (y0, y1) = (y0 - pad, y1 + pad);

    let legend_w = chart
        .series
        .iter()
        .map(|s| text_width(&s.name, 12.0))
        .fold(0.0f32, f32::max)
        + 40.0;
    let (left, top, plot_w, plot_h) = (70.0f32, 50.0f32, 620.0f32, 360.0f32);
    let width = (left + plot_w + 20.0 + legend_w) as usize;
    let height = (top + plot_h + 55.0) as usize;
    let mut canvas: Box<dyn Canvas> = match format {
        ImageFormat::Png => Box::new(PngCanvas::new(width, height, Rgb::WHITE)),
        ImageFormat::Svg => Box::new(SvgCanvas::new(width, height, Rgb::WHITE)),
    };
    let grey = Rgb(120, 120, 120);
    let sx = |x: f64| left + ((x - x0) / (x1 - x0)) as f32 * plot_w;
    let sy = |y: f64| top + plot_h - ((y - y0) / (y1 - y0)) as f32 * plot_h;
    canvas.text(left, 28.0, 16.0, Rgb::BLACK, Anchor::Start, &chart.title);
    canvas.rect(left, top, plot_w, plot_h, Rgb(250, 250, 250), 1.0);
    for t in ticks(y0, y1, 6) {
        canvas.rect(left, sy(t), plot_w, 1.0, Rgb(225, 225, 225), 1.0);
        canvas.text(left - 6.0, sy(t) + 4.0, 11.0, grey, Anchor::End, &label(t));
    }
    // Epochs are whole numbers: no ticks between them.
    let integer_x = points.iter().all(|p| p.0.fract() == 0.0);
    for t in ticks(x0, x1, 10)
        .into_iter()
        .filter(|t| !integer_x || t.fract().abs() < 1e-9)
    {
        canvas.rect(sx(t), top + plot_h, 1.0, 5.0, grey, 1.0);
        canvas.text(
            sx(t),
            top + plot_h + 18.0,
            11.0,
            grey,
            Anchor::Middle,
            &label(t),
        );
    }
    canvas.frame(left, top, plot_w, plot_h, Rgb(190, 190, 190), 1.0);
    canvas.text(
        left + plot_w / 2.0,
        top + plot_h + 40.0,
        12.0,
        Rgb::BLACK,
        Anchor::Middle,
        &chart.x_label,
    );
    canvas.text(
        left,
        top - 8.0,
        12.0,
        Rgb::BLACK,
        Anchor::Start,
        &chart.y_label,
    );

    let n = chart.series.len();
    for (i, s) in chart.series.iter().enumerate() {
        let color = class_color(i, n);
        // Segments as dense dots: the canvas draws no lines, and this is enough for ~10s of
        // points.
        for w in s.points.windows(2) {
            let (a, b) = ((sx(w[0].0), sy(w[0].1)), (sx(w[1].0), sy(w[1].1)));
            let steps = ((b.0 - a.0).hypot(b.1 - a.1) / 1.5).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let t = k as f32 / steps as f32;
                canvas.dot(
                    a.0 + t * (b.0 - a.0),
                    a.1 + t * (b.1 - a.1),
                    1.3,
                    color,
                    1.0,
                );
            }
        }
        for &(x, y) in &s.points {
            canvas.dot(sx(x), sy(y), 3.5, color, 1.0);
        }
        let ly = top + 10.0 + 18.0 * i as f32;
        let lx = left + plot_w + 20.0;
        canvas.rect(lx, ly - 5.0, 18.0, 3.0, color, 1.0);
        canvas.text(lx + 24.0, ly, 12.0, Rgb::BLACK, Anchor::Start, &s.name);
    }
    canvas.finish().ok()
}
