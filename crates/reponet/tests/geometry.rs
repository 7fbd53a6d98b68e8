//! Polytope geometry against closed forms. Tolerances: unit norms 1e-12, angles 1e-9 rad.

use std::f64::consts::PI;

use reponet::geometry::{dot, min_pairwise_angle, norm, Polytope, PolytopeKind};

fn check(kind: PolytopeKind, k: usize) -> Polytope {
    let p = Polytope::new(kind, k).unwrap();
    let d = p.dim();
    let expected_dim = match kind {
        PolytopeKind::Simplex => k - 1,
        PolytopeKind::Orthoplex => (k as f64 / 2.0).ceil() as usize,
        PolytopeKind::Cube => (k as f64).log2().ceil() as usize,
        other => unreachable!("{other} is not a regular polytope"),
    };
    assert_eq!(d, expected_dim, "{kind} K={k}");
    let expected_vertices = match kind {
        PolytopeKind::Simplex => d + 1,
        PolytopeKind::Orthoplex => 2 * d,
        PolytopeKind::Cube => 1 << d,
        other => unreachable!("{other} is not a regular polytope"),
    };
    assert_eq!(p.num_vertices(), expected_vertices, "{kind} K={k}");
    assert!(p.num_vertices() >= k);
    assert_eq!(p.num_unused(), expected_vertices - k);
    assert_eq!(p.class_vertices().len(), k);
    for v in p.vertices() {
        assert_eq!(v.len(), d);
        assert!(
            (norm(v) - 1.0).abs() < 1e-12,
            "{kind} K={k}: norm {}",
            norm(v)
        );
    }
    let min = min_pairwise_angle(p.vertices());
    assert!(
        (min - p.phi()).abs() < 1e-9,
        "{kind} K={k}: min angle {min} vs phi {}",
        p.phi()
    );
    p
}

#[test]
fn simplex_every_k_up_to_200() {
    for k in 2..=200 {
        let p = check(PolytopeKind::Simplex, k);
        let d = p.dim() as f64;
        assert!((p.phi() - (-1.0 / d).acos()).abs() < 1e-15);
        // Centred: the vertices sum to the origin.
        for i in 0..p.dim() {
            let s: f64 = p.vertices().iter().map(|v| v[i]).sum();
            assert!(s.abs() < 1e-12, "K={k}: centroid coordinate {i} = {s}");
        }
        // Every pair, not only the closest, is at arccos(-1/d).
        if k <= 30 {
            for (i, a) in p.vertices().iter().enumerate() {
                for b in &p.vertices()[i + 1..] {
                    assert!((dot(a, b) + 1.0 / d).abs() < 1e-12);
                }
            }
        }
    }
}

#[test]
fn orthoplex_every_k_up_to_200() {
    for k in 2..=200 {
        let p = check(PolytopeKind::Orthoplex, k);
        let expected = if p.dim() == 1 { PI } else { PI / 2.0 };
        assert!((p.phi() - expected).abs() < 1e-15);
        // Order: +e_1 .. +e_d then -e_1 .. -e_d.
        let d = p.dim();
        for i in 0..d {
            assert_eq!(p.vertices()[i][i], 1.0);
            assert_eq!(p.vertices()[d + i][i], -1.0);
        }
    }
}

#[test]
fn cube_every_k_up_to_4096() {
    // K sharing a dimension share the polytope; check each K's dimension and each d fully once.
    let mut checked = std::collections::HashSet::new();
    for k in 2..=4096usize {
        let d = PolytopeKind::Cube.default_dim(k).unwrap();
        assert_eq!(d, (k as f64).log2().ceil() as usize, "K={k}");
        assert!(1 << d >= k && (d == 1 || 1 << (d - 1) < k), "K={k}");
        if checked.insert(d) {
            let p = check(PolytopeKind::Cube, k);
            let df = d as f64;
            assert!((p.phi() - ((df - 2.0) / df).acos()).abs() < 1e-15);
            // Vertex t: coordinate i is +1 when bit i of t is 0.
            let s = 1.0 / df.sqrt();
            for (t, v) in p.vertices().iter().enumerate() {
                for (i, &x) in v.iter().enumerate() {
                    let expected = if (t >> i) & 1 == 0 { s } else { -s };
                    assert!((x - expected).abs() < 1e-15);
                }
            }
        }
    }
    assert_eq!(checked.len(), 12);
}

#[test]
fn worked_values_of_the_spec() {
    let deg = |kind, k| {
        let p = Polytope::new(kind, k).unwrap();
        (p.dim(), p.phi_degrees())
    };
    let (d, phi) = deg(PolytopeKind::Simplex, 10);
    assert_eq!(d, 9);
    assert!((phi - 96.379).abs() < 5e-4, "{phi}");
    let (d, phi) = deg(PolytopeKind::Orthoplex, 10);
    assert_eq!(d, 5);
    assert!((phi - 90.0).abs() < 1e-12);
    let (d, phi) = deg(PolytopeKind::Cube, 10);
    assert_eq!(d, 4);
    assert!((phi - 60.0).abs() < 1e-9, "{phi}");
    let (d, phi) = deg(PolytopeKind::Cube, 47);
    assert_eq!(d, 6);
    assert!((phi - 48.190).abs() < 5e-4, "{phi}");
    let p = Polytope::new(PolytopeKind::Cube, 47).unwrap();
    assert_eq!((p.num_vertices(), p.num_unused()), (64, 17));
}

#[test]
fn simplex_k3_matches_hand_computation() {
    // d = 2: e1, e2, alpha(1,1) with alpha = (1 - sqrt 3) / 2; centroid c = (1 + alpha) / 3.
    let p = Polytope::new(PolytopeKind::Simplex, 3).unwrap();
    let alpha = (1.0 - 3f64.sqrt()) / 2.0;
    let c = (1.0 + alpha) / 3.0;
    let raw = [[1.0 - c, -c], [-c, 1.0 - c], [alpha - c, alpha - c]];
    for (v, r) in p.vertices().iter().zip(raw) {
        let n = (r[0] * r[0] + r[1] * r[1]).sqrt();
        assert!((v[0] - r[0] / n).abs() < 1e-12 && (v[1] - r[1] / n).abs() < 1e-12);
    }
    assert!((p.phi_degrees() - 120.0).abs() < 1e-9);
}

#[test]
fn too_few_or_too_many_classes_is_an_error() {
    for kind in PolytopeKind::ALL {
        assert!(Polytope::new(kind, 1).is_err());
        assert!(Polytope::new(kind, 0).is_err());
    }
    // 2^26 coordinates at most: a 10,000-class simplex (10^8) is refused, a 5,000-class one built.
    let err = Polytope::new(PolytopeKind::Simplex, 10_000)
        .unwrap_err()
        .to_string();
    assert!(err.contains("9999-simplex for 10000 classes"), "{err}");
    assert!(Polytope::new(PolytopeKind::Simplex, 5_000).is_ok());
    // The cube stays small for any K: d = 64 for the largest usize.
    assert_eq!(PolytopeKind::Cube.default_dim(usize::MAX), Some(64));
    assert!(Polytope::new(PolytopeKind::Cube, usize::MAX).is_err());
    assert_eq!(
        Polytope::new(PolytopeKind::Cube, 1 << 20)
            .unwrap()
            .num_vertices(),
        1 << 20
    );
}

#[test]
fn polytope_names_parse() {
    for kind in PolytopeKind::ALL {
        assert_eq!(kind.name().parse::<PolytopeKind>().unwrap(), kind);
    }
    // The paper's and the literature's other names, in any case.
    for (alias, kind) in [
        ("d-Simplex", PolytopeKind::Simplex),
        ("hypercube", PolytopeKind::Cube),
        ("THOMSON", PolytopeKind::Spread),
    ] {
        assert_eq!(alias.parse::<PolytopeKind>().unwrap(), kind);
    }
    assert!("dodecahedron".parse::<PolytopeKind>().is_err());
}
