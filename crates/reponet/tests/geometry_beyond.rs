//! The fixed classifiers beyond the paper (Hadamard, polygon, spread) and the angle bound,
//! against closed forms and known optimal configurations. Tolerances: closed-form angles
//! 1e-12 rad; optimised spreads 0.01 deg of the known optimum.

use std::f64::consts::{FRAC_PI_2, PI, TAU};

use reponet::geometry::{
    angle_bound, cap_fraction, dot, min_pairwise_angle, norm, spread, GeometryError, Polytope,
    PolytopeKind,
};

#[test]
fn hadamard_rows_are_orthogonal_sign_vectors() {
    for (k, d) in [(2, 2), (3, 4), (10, 16), (16, 16), (100, 128), (10, 512)] {
        let p = Polytope::with_dim(PolytopeKind::Hadamard, k, Some(d)).unwrap();
        assert_eq!((p.dim(), p.num_vertices(), p.num_unused()), (d, k, 0));
        let entry = 1.0 / (d as f64).sqrt();
        for (i, a) in p.vertices().iter().enumerate() {
            assert!(a.iter().all(|x| (x.abs() - entry).abs() < 1e-15));
            for b in &p.vertices()[i + 1..] {
                assert!(dot(a, b).abs() < 1e-12, "K={k} d={d}");
            }
        }
        assert_eq!(p.phi(), FRAC_PI_2);
    }
}

#[test]
fn hadamard_default_dim_rounds_k_up_to_a_power_of_two() {
    for (k, d) in [(2, 2), (3, 4), (10, 16), (47, 64), (1000, 1024)] {
        assert_eq!(Polytope::new(PolytopeKind::Hadamard, k).unwrap().dim(), d);
    }
}

#[test]
fn hadamard_with_more_classes_than_dims_is_measured_or_refused() {
    // d = 6 is not a power of two: rows are no longer orthogonal; phi is measured.
    let p = Polytope::with_dim(PolytopeKind::Hadamard, 6, Some(6)).unwrap();
    let measured = min_pairwise_angle(p.vertices());
    assert_eq!(p.phi(), measured);
    assert!(p.phi() < FRAC_PI_2);
    // K > d with d a power of two: Sylvester rows k and k + d agree on their first d
    // entries, so two classes would share a vector.
    let err = Polytope::with_dim(PolytopeKind::Hadamard, 10, Some(8)).unwrap_err();
    assert_eq!(
        err,
        GeometryError::Degenerate {
            kind: PolytopeKind::Hadamard,
            classes: 10,
            dim: 8,
            first: 0,
            second: 8
        }
    );
    assert!(err.to_string().contains("phi = 0"));
}

#[test]
fn polygon_is_evenly_spaced_on_the_circle() {
    for k in [2, 3, 4, 5, 10, 47] {
        let p = Polytope::new(PolytopeKind::Polygon, k).unwrap();
        assert_eq!((p.dim(), p.num_vertices()), (2, k));
        let step = TAU / k as f64;
        assert!((p.phi() - step.min(PI)).abs() < 1e-12);
        for (i, v) in p.vertices().iter().enumerate() {
            assert!((norm(v) - 1.0).abs() < 1e-15);
            let next = &p.vertices()[(i + 1) % k];
            assert!((dot(v, next) - step.cos()).abs() < 1e-12, "K={k}");
        }
        assert!((min_pairwise_angle(p.vertices()) - p.phi()).abs() < 1e-12);
    }
    assert!(matches!(
        Polytope::with_dim(PolytopeKind::Polygon, 10, Some(3)),
        Err(GeometryError::DimFixed { fixed: 2, .. })
    ));
}

#[test]
fn spread_energy_decreases_at_every_accepted_step() {
    let run = spread::optimise(20, 5, 7, 300);
    assert!(run.log_energy.len() > 10);
    for w in run.log_energy.windows(2) {
        assert!(w[1] < w[0], "energy rose: {} -> {}", w[0], w[1]);
    }
    assert_eq!(run.exponent, 5.0);
}

#[test]
fn spread_finds_the_known_optimal_configurations() {
    // (K, d, optimal minimum angle): simplex, orthoplex, icosahedron, polygon.
    let cases = [
        (4, 3, (-1.0f64 / 3.0).acos()),
        (5, 4, (-0.25f64).acos()),
        (6, 3, FRAC_PI_2),
        (8, 4, FRAC_PI_2),
        (12, 3, (1.0f64 / 5f64.sqrt()).acos()),
        (7, 2, TAU / 7.0),
    ];
    for (k, d, optimum) in cases {
        let p = Polytope::spread(k, d, 0, None).unwrap();
        // phi is the truth about these vertices, not a target.
        assert_eq!(p.phi(), min_pairwise_angle(p.vertices()));
        assert!(
            (p.phi() - optimum).abs().to_degrees() < 0.01,
            "K={k} d={d}: {} deg vs optimum {} deg",
            p.phi_degrees(),
            optimum.to_degrees()
        );
        // Where the bound is the optimum it equals the known one; elsewhere it is above.
        let bound = angle_bound(k, d);
        if bound.tight {
            assert!((bound.angle - optimum).abs() < 1e-12, "K={k} d={d}");
        } else {
            assert!(bound.angle > optimum, "K={k} d={d}");
        }
    }
}

#[test]
fn spread_is_deterministic_per_seed_and_cached() {
    let a = spread::optimise(12, 4, 3, 50).vertices;
    let b = spread::optimise(12, 4, 3, 50).vertices;
    let c = spread::optimise(12, 4, 4, 50).vertices;
    assert_eq!(a, b);
    assert_ne!(a, c);

    let dir = tempfile::tempdir().unwrap();
    let first = Polytope::spread(9, 3, 1, Some(dir.path())).unwrap();
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
    let path = files[0].as_ref().unwrap().path();
    assert_eq!(Polytope::spread(9, 3, 1, Some(dir.path())).unwrap(), first);
    // A corrupt cache file is recomputed, not trusted.
    std::fs::write(&path, b"RPSPRD01 not a vertex matrix").unwrap();
    assert_eq!(Polytope::spread(9, 3, 1, Some(dir.path())).unwrap(), first);
}

#[test]
fn spread_refuses_what_it_cannot_build() {
    assert_eq!(
        Polytope::new(PolytopeKind::Spread, 10).unwrap_err(),
        GeometryError::DimNeeded
    );
    assert!(matches!(
        Polytope::spread(10, 1, 0, None),
        Err(GeometryError::DimTooSmall { min: 2, .. })
    ));
    assert!(matches!(
        Polytope::spread(100_000, 128, 0, None),
        Err(GeometryError::SpreadTooLarge { .. })
    ));
}

#[test]
fn regular_polytopes_refuse_a_different_dim() {
    assert!(Polytope::with_dim(PolytopeKind::Cube, 10, Some(4)).is_ok());
    assert_eq!(
        Polytope::with_dim(PolytopeKind::Simplex, 10, Some(5)).unwrap_err(),
        GeometryError::DimFixed {
            kind: PolytopeKind::Simplex,
            classes: 10,
            fixed: 9,
            asked: 5
        }
    );
}

#[test]
fn cap_fraction_matches_closed_forms() {
    // S^2: cap of angular radius a has area fraction (1 - cos a) / 2 (Archimedes).
    for a in [0.1, 0.5, 1.0, FRAC_PI_2, 2.5] {
        let want = (1.0 - f64::cos(a)) / 2.0;
        assert!((cap_fraction(a, 3) - want).abs() < 1e-10, "a={a}");
    }
    // S^1: an arc of half-angle a is a / pi of the circle.
    assert!((cap_fraction(0.7, 2) - 0.7 / PI).abs() < 1e-10);
    // A hemisphere is half the sphere in every dimension.
    for d in [3, 10, 128, 512] {
        assert!((cap_fraction(FRAC_PI_2, d) - 0.5).abs() < 1e-9, "d={d}");
    }
}

#[test]
fn angle_bound_cases() {
    let deg = |k, d| angle_bound(k, d).angle.to_degrees();
    assert!((deg(10, 9) - (-1.0f64 / 9.0).acos().to_degrees()).abs() < 1e-9);
    assert_eq!(deg(10, 5), 90.0);
    assert!((deg(10, 2) - 36.0).abs() < 1e-9);
    // K = 12 on S^2: the volume bound (cap area 1/12) is above the icosahedron's 63.43 deg
    // (an upper bound) and, in closed form, 2 arccos(5/6) = 67.11 deg.
    let b = angle_bound(12, 3);
    assert!(!b.tight);
    assert!((b.angle - 2.0 * (5.0f64 / 6.0).acos()).abs() < 1e-6);
    // The cube's 60 deg for K = 16, d = 4 is below its bound.
    assert!(deg(16, 4) > 60.0);
    // In high dimensions the volume bound exceeds 90 deg; Rankin's 90 deg is the bound.
    assert_eq!(deg(100, 16), 90.0);
}
