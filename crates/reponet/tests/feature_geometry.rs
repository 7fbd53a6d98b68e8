//! Feature angles against hand-computed values (tolerance 1e-9 degrees, f32 inputs exact here).

use reponet::analysis::feature_geometry;
use reponet::geometry::{Polytope, PolytopeKind};

#[test]
fn features_on_their_vertices_are_compact_and_separated_by_phi() {
    let p = Polytope::new(PolytopeKind::Orthoplex, 4).unwrap();
    // Two samples per class, each a positive multiple of its class vertex.
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (k, v) in p.class_vertices().iter().enumerate() {
        for scale in [1.0f32, 3.0] {
            features.extend(v.iter().map(|&x| x as f32 * scale));
            labels.push(k as u8);
        }
    }
    let g = feature_geometry(&features, 2, &labels, p.class_vertices());
    assert!(g.mean_angle_to_class_weight.abs() < 1e-9);
    assert!(g.mean_angle_to_class_mean.abs() < 1e-9);
    assert!((g.min_angle_between_class_means - 90.0).abs() < 1e-9);
}

#[test]
fn collapsed_and_tilted_features_by_hand() {
    let p = Polytope::new(PolytopeKind::Orthoplex, 4).unwrap();
    // Class 0 at +30 and -30 degrees from e1: mean direction e1, 30 deg from it and from w0.
    // Class 1 both at 0 degrees (e1): 90 deg from its vertex e2, 0 from its mean.
    let (c, s) = (30f32.to_radians().cos(), 30f32.to_radians().sin());
    let features = [c, s, c, -s, 1.0, 0.0, 2.0, 0.0];
    let labels = [0, 0, 1, 1];
    let g = feature_geometry(&features, 2, &labels, p.class_vertices());
    let tol = 1e-4; // f32 inputs: cos 30 deg carries ~1e-7 relative error.
    assert!(
        (g.mean_angle_to_class_weight - (30.0 + 30.0 + 90.0 + 90.0) / 4.0).abs() < tol,
        "{g:?}"
    );
    assert!((g.mean_angle_to_class_mean - 15.0).abs() < tol, "{g:?}");
    // Classes 2 and 3 have no samples and are left out: the two means coincide.
    assert!(g.min_angle_between_class_means.abs() < tol, "{g:?}");
}

#[test]
fn angle_statistics_by_nearest_rank() {
    let s = reponet::analysis::AngleStats::of(&[4.0, 1.0, 3.0, 2.0]);
    assert_eq!((s.mean, s.median, s.p95), (2.5, 2.0, 4.0));
    let s = reponet::analysis::AngleStats::of(&(1..=100).map(f64::from).collect::<Vec<_>>());
    assert_eq!((s.median, s.p95), (50.0, 95.0));
}

#[test]
fn on_vertex_features_have_zero_compactness_and_per_class_figures() {
    let p = Polytope::new(PolytopeKind::Orthoplex, 4).unwrap();
    let mut features = Vec::new();
    let mut labels = Vec::new();
    for (k, v) in p.class_vertices().iter().enumerate() {
        for scale in [0.5f32, 2.0, 7.0] {
            features.extend(v.iter().map(|&x| x as f32 * scale));
            labels.push(k as u8);
        }
    }
    let g = feature_geometry(&features, 2, &labels, p.class_vertices());
    assert_eq!(g.compactness_to_separation, Some(0.0));
    assert!(g.to_class_weight.p95.abs() < 1e-9 && g.to_class_mean.p95.abs() < 1e-9);
    // Orthoplex in 2-D: the four class means are at 90, 90, 180, 90, 90, 180 deg from each
    // other (mean 120); the nearest are 90 apart.
    assert!((g.mean_angle_between_class_means - 120.0).abs() < 1e-9);
    assert_eq!(g.per_class.len(), 4);
    // Class 1 relabelled as class 0: half of class 0 sits on w0, half at angle(w0, w1).
    let mut swapped = labels.clone();
    swapped.iter_mut().filter(|l| **l == 1).for_each(|l| *l = 0);
    let g = feature_geometry(&features, 2, &swapped, p.class_vertices());
    let c0 = &g.per_class[0].to_class_weight;
    let expected = (3.0 * 0.0
        + 3.0
            * p.class_vertices()[0]
                .iter()
                .zip(&p.class_vertices()[1])
                .map(|(a, b)| a * b)
                .sum::<f64>()
                .acos()
                .to_degrees())
        / 6.0;
    assert!((c0.mean - expected).abs() < 1e-9, "{c0:?} vs {expected}");
    assert_eq!(
        g.per_class[1].to_class_weight,
        Default::default(),
        "class 1 is empty"
    );
}
