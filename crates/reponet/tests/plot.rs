//! Scatter-plot matrices: subsampling, projections, and the image itself.

#![cfg(feature = "plot")]

use reponet::analysis::plot::{
    class_color, principal_axes, scatter_matrix, subsample, ImageFormat, Projection, ScatterOptions,
};
use reponet::analysis::Embeddings;

fn embeddings(dim: usize, rows: &[(Vec<f32>, u8)], classes: usize) -> Embeddings {
    Embeddings {
        dim,
        features: rows.iter().flat_map(|(r, _)| r.clone()).collect(),
        labels: rows.iter().map(|(_, l)| *l).collect(),
        class_names: (0..classes).map(|c| format!("c{c}")).collect(),
        files: Vec::new(),
    }
}

#[test]
fn subsampling_takes_evenly_from_every_class() {
    // 900 of class 0, 100 of class 1: a cap of 200 takes 100 and 100, spread over class 0.
    let labels: Vec<u8> = (0..1000).map(|i| u8::from(i >= 900)).collect();
    let chosen = subsample(&labels, 2, 200);
    assert_eq!(chosen.len(), 200);
    assert_eq!(chosen.iter().filter(|&&i| labels[i] == 1).count(), 100);
    assert_eq!(
        chosen[..100]
            .iter()
            .step_by(10)
            .copied()
            .collect::<Vec<_>>(),
        (0..900).step_by(90).collect::<Vec<_>>()
    );
    assert_eq!(subsample(&labels, 2, 5000).len(), 1000);
}

#[test]
fn principal_axes_of_a_stretched_cloud() {
    // Points along (1, 1, 0) / sqrt 2, with a little spread along z uncorrelated with it
    // (alternating signs over a symmetric range): PC1 is that diagonal, PC2 is z.
    let mut features = Vec::new();
    for k in -50i32..=50 {
        let t = k as f32 / 10.0;
        features.extend([t + 3.0, t + 3.0, if k % 2 == 0 { 0.01 } else { -0.01 }]);
    }
    let (mean, axes) = principal_axes(&features, 3, 2);
    assert!((mean[0] - 3.0).abs() < 1e-6 && (mean[1] - 3.0).abs() < 1e-6);
    let s = std::f64::consts::FRAC_1_SQRT_2;
    let pc1 = &axes[0];
    assert!(
        (pc1[0].abs() - s).abs() < 1e-9 && (pc1[1].abs() - s).abs() < 1e-9,
        "{pc1:?}"
    );
    assert!(pc1[0] * pc1[1] > 0.0 && pc1[2].abs() < 1e-9);
}

#[test]
fn projections_check_what_they_are_given() {
    let emb = embeddings(12, &[(vec![0.0; 12], 0), (vec![1.0; 12], 1)], 2);
    let err = |p: Projection| p.resolve(&emb).err().unwrap();
    assert!(err(Projection::All).contains("--dims"));
    assert!(err(Projection::Dims(vec![0, 12])).contains("coordinate 12 does not exist"));
    assert!(err(Projection::Pca(11)).contains("K must be 1 to 10"));
    let (names, project) = Projection::Dims(vec![3, 0]).resolve(&emb).unwrap();
    assert_eq!(names, ["f3", "f0"]);
    assert_eq!(
        project(&[5.0, 0.0, 0.0, 7.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]),
        [7.0, 5.0]
    );
    assert_eq!("pca:3".parse::<Projection>().unwrap(), Projection::Pca(3));
    assert!("pca:x".parse::<Projection>().is_err());
}

#[test]
fn the_png_puts_each_class_where_its_points_are() {
    // Class 0 at +e0, class 1 at +e1 (many points each), d = 2: in panel (row 0, column 1)
    // class 0 (x = f1 = 0, y = f0 = 1) sits top-centre, class 1 (x = 1, y = 0) right-middle.
    let mut rows = Vec::new();
    for _ in 0..50 {
        rows.push((vec![1.0, 0.0], 0));
        rows.push((vec![0.0, 1.0], 1));
    }
    let emb = embeddings(2, &rows, 2);
    let options = ScatterOptions {
        projection: Projection::All,
        max_points: 1000,
        title: "test".into(),
        markers: None,
        marker_radius: 1.0,
    };
    let bytes = scatter_matrix(&emb, &options, ImageFormat::Png).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let (w, h) = (info.width as usize, info.height as usize);
    assert!(w > 400 && h > 400, "{w} x {h}");
    let pixel = |x: f32, y: f32| {
        let i = 3 * (y as usize * w + x as usize);
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    // The layout of `scatter_matrix`: 2 panels of 280 px, 6 px apart, from (16, 58); the
    // common extent is 1.08, so a coordinate of 1 lies at (1 / 1.08 + 1) / 2 of a panel.
    let (panel, x0, y0) = (280.0f32, 16.0 + 280.0 + 6.0, 58.0);
    let at = (1.0 / 1.08 + 1.0) / 2.0 * panel;
    let c0 = class_color(0, 2);
    let c1 = class_color(1, 2);
    let near = |p: [u8; 3], c: reponet::analysis::plot::Rgb| {
        (p[0] as i32 - c.0 as i32).abs() < 30
            && (p[1] as i32 - c.1 as i32).abs() < 30
            && (p[2] as i32 - c.2 as i32).abs() < 30
    };
    assert!(
        near(pixel(x0 + panel / 2.0, y0 + panel - at), c0),
        "{:?}",
        pixel(x0 + panel / 2.0, y0 + panel - at)
    );
    assert!(
        near(pixel(x0 + at, y0 + panel / 2.0), c1),
        "{:?}",
        pixel(x0 + at, y0 + panel / 2.0)
    );
    // And the SVG is well-formed enough to hold one circle per off-diagonal point.
    let svg = String::from_utf8(scatter_matrix(&emb, &options, ImageFormat::Svg).unwrap()).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("<circle").count(),
        2 * 100 + 2,
        "points in 2 panels, legend"
    );
}
