//! The three losses against an independent float64 computation.
//!
//! The reference below works from angles (`acos`, then `cos(theta + m)`), not from the
//! implementation's `cos m cos theta - sin m sin theta`; the network computes in f32, so
//! losses agree to 1e-4 relative.

use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use reponet::geometry::{dot, norm, Polytope, PolytopeKind};
use reponet::nn::{arc_margin_logits, ClassifierHead, HeadKind, LossKind, PolytopeLoss};

const REL_TOL: f64 = 1e-4;

fn reference_logits(
    kind: LossKind,
    w: &[Vec<f64>],
    f: &[f64],
    y: usize,
    s: f64,
    m: f64,
) -> Vec<f64> {
    w.iter()
        .enumerate()
        .map(|(j, wj)| {
            let cos = dot(wj, f) / (norm(wj) * norm(f));
            match kind {
                LossKind::Softmax => dot(wj, f) / norm(wj),
                LossKind::Cosine => s * cos,
                LossKind::Margin if j == y => {
                    let theta = cos.clamp(-1.0, 1.0).acos();
                    if theta + m <= std::f64::consts::PI {
                        s * (theta + m).cos()
                    } else {
                        // ArcFace's monotonic extension beyond the seam.
                        s * (cos - m * (std::f64::consts::PI - m).sin())
                    }
                }
                LossKind::Margin => s * cos,
            }
        })
        .collect()
}

fn reference_loss(
    kind: LossKind,
    w: &[Vec<f64>],
    feats: &[Vec<f64>],
    labels: &[usize],
    s: f64,
    m: f64,
) -> f64 {
    let total: f64 = feats
        .iter()
        .zip(labels)
        .map(|(f, &y)| {
            let z = reference_logits(kind, w, f, y, s, m);
            let max = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let lse = max + z.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
            lse - z[y]
        })
        .sum();
    total / feats.len() as f64
}

fn tensors(feats: &[Vec<f64>], labels: &[usize], device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
    let d = feats[0].len();
    let flat: Vec<f32> = feats.iter().flatten().map(|&x| x as f32).collect();
    let f = Tensor::from_data(TensorData::new(flat, [feats.len(), d]), device);
    let l: Vec<i64> = labels.iter().map(|&y| y as i64).collect();
    let y = Tensor::from_data(TensorData::new(l, [labels.len()]), device);
    (f, y)
}

fn burn_loss(
    kind: LossKind,
    p: &Polytope,
    feats: &[Vec<f64>],
    labels: &[usize],
    s: f64,
    m: f64,
) -> f64 {
    let device = Device::flex();
    let head = ClassifierHead::new(HeadKind::Fixed, p, &device);
    let (f, y) = tensors(feats, labels, &device);
    let loss = PolytopeLoss {
        kind,
        scale: s,
        margin: m,
    }
    .forward(&head, f, y);
    loss.into_scalar::<f32>() as f64
}

fn assert_close(got: f64, want: f64, what: &str) {
    let err = (got - want).abs() / want.abs().max(1e-3);
    assert!(
        err < REL_TOL,
        "{what}: got {got}, want {want} (relative error {err:.2e})"
    );
}

#[test]
fn cosine_loss_by_hand() {
    // Orthoplex d = 2: vertices +e1, +e2, -e1, -e2. f = (3, 0), y = 0, s = 1:
    // cosines (1, 0, -1, 0), loss = ln(e + 2 + 1/e) - 1 = 0.626523...
    let p = Polytope::new(PolytopeKind::Orthoplex, 4).unwrap();
    let by_hand = (std::f64::consts::E + 2.0 + (-1f64).exp()).ln() - 1.0;
    assert!((by_hand - 0.626_523).abs() < 1e-6);
    let got = burn_loss(LossKind::Cosine, &p, &[vec![3.0, 0.0]], &[0], 1.0, 0.0);
    assert_close(got, by_hand, "cosine by hand");
}

#[test]
fn margin_loss_by_hand() {
    // Same square, f at 30 deg from e1, y = 0, s = 2, m = 45 deg: the true logit is
    // 2 cos(75 deg); the others 2 cos(60), 2 cos(150), 2 cos(120).
    let p = Polytope::new(PolytopeKind::Orthoplex, 4).unwrap();
    let t = 30f64.to_radians();
    let z = [75f64, 60.0, 150.0, 120.0].map(|a| 2.0 * a.to_radians().cos());
    let by_hand = z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[0];
    let got = burn_loss(
        LossKind::Margin,
        &p,
        &[vec![t.cos(), t.sin()]],
        &[0],
        2.0,
        45f64.to_radians(),
    );
    assert_close(got, by_hand, "margin by hand");
}

#[test]
fn softmax_loss_uses_raw_features() {
    // Eq. 6: logits are w . f with unit w and f unnormalised: f = (2, 1) gives (2, 1, -2, -1).
    let p = Polytope::new(PolytopeKind::Orthoplex, 4).unwrap();
    let z = [2.0f64, 1.0, -2.0, -1.0];
    let by_hand = z.iter().map(|v| v.exp()).sum::<f64>().ln() - z[1];
    let got = burn_loss(LossKind::Softmax, &p, &[vec![2.0, 1.0]], &[1], 30.0, 1.0);
    assert_close(got, by_hand, "softmax by hand");
}

/// Features at chosen angles from their class vertex, for the simplex (m = phi = 96.4 deg):
/// 10 and 60 deg are on the cos(theta + m) side, 100 and 150 deg beyond the seam at
/// pi - m = 83.6 deg, where theta + m > pi.
fn simplex_batch() -> (Polytope, Vec<Vec<f64>>, Vec<usize>) {
    let p = Polytope::new(PolytopeKind::Simplex, 10).unwrap();
    let (v0, v1) = (&p.vertices()[0], &p.vertices()[3]);
    // A unit direction orthogonal to v0 in the plane of v0 and v1.
    let c = dot(v0, v1);
    let u: Vec<f64> = v1.iter().zip(v0).map(|(a, b)| a - c * b).collect();
    let u: Vec<f64> = u.iter().map(|x| x / norm(&u)).collect();
    let at = |deg: f64, r: f64| -> Vec<f64> {
        let t = deg.to_radians();
        v0.iter()
            .zip(&u)
            .map(|(a, b)| r * (t.cos() * a + t.sin() * b))
            .collect()
    };
    let feats = vec![at(10.0, 1.0), at(60.0, 2.5), at(100.0, 0.7), at(150.0, 4.0)];
    (p, feats, vec![0, 0, 0, 0])
}

#[test]
fn all_losses_match_float64_on_the_simplex_including_the_seam_branch() {
    let (p, feats, labels) = simplex_batch();
    let m = p.phi();
    // The batch really covers both sides of the seam.
    let thetas: Vec<f64> = feats
        .iter()
        .map(|f| reponet::geometry::angle_between(f, &p.vertices()[0]))
        .collect();
    assert!(thetas.iter().any(|t| t + m < std::f64::consts::PI));
    assert!(thetas.iter().any(|t| t + m > std::f64::consts::PI));
    for kind in [LossKind::Softmax, LossKind::Cosine, LossKind::Margin] {
        let want = reference_loss(kind, p.vertices(), &feats, &labels, 30.0, m);
        let got = burn_loss(kind, &p, &feats, &labels, 30.0, m);
        assert_close(got, want, &format!("{kind}"));
    }
    // One sample at a time, so each branch is checked on its own.
    for (f, &y) in feats.iter().zip(&labels) {
        let want = reference_loss(
            LossKind::Margin,
            p.vertices(),
            std::slice::from_ref(f),
            &[y],
            30.0,
            m,
        );
        let got = burn_loss(LossKind::Margin, &p, std::slice::from_ref(f), &[y], 30.0, m);
        assert_close(got, want, "margin, one sample");
    }
}

#[test]
fn margin_logit_decreases_monotonically_in_theta_for_every_polytope_margin() {
    // ArcFace's reason for the extension: past theta = pi - m, cos(theta + m) would rise
    // again. With the extension the true-class logit never increases as theta grows
    // (it drops at the seam: from cos(pi) = -1 to cos(pi - m) - m sin(pi - m)).
    let device = Device::flex();
    for kind in [
        PolytopeKind::Simplex,
        PolytopeKind::Orthoplex,
        PolytopeKind::Cube,
    ] {
        let m = Polytope::new(kind, 10).unwrap().phi();
        let thetas: Vec<f64> = (0..=1800).map(|i| (i as f64 / 10.0).to_radians()).collect();
        // Column 0 is the true class; column 1 a non-target output, left as is.
        let cos: Vec<f32> = thetas.iter().flat_map(|t| [t.cos() as f32, 0.5]).collect();
        let n = thetas.len();
        let cos = Tensor::from_data(TensorData::new(cos, [n, 2]), &device);
        let labels = Tensor::<1, Int>::zeros([n], &device);
        let all: Vec<f32> = arc_margin_logits(cos, labels, 1.0, m)
            .into_data()
            .iter::<f32>()
            .collect();
        assert!(all.iter().skip(1).step_by(2).all(|&z| z == 0.5));
        let logits: Vec<f32> = all.into_iter().step_by(2).collect();
        for (i, w) in logits.windows(2).enumerate() {
            assert!(
                w[1] <= w[0] + 1e-6,
                "{kind}: logit rises at theta {:.1} deg: {} -> {}",
                thetas[i + 1].to_degrees(),
                w[0],
                w[1]
            );
        }
        // Below the seam it is cos(theta + m), above it the extension. Tolerance 5e-4: cosines
        // are clamped to 1 - 1e-7, so at theta = 0 sin(theta) reads sqrt(2e-7) = 4.5e-4.
        let seam = std::f64::consts::PI - m;
        for (t, z) in thetas.iter().zip(&logits) {
            let want = if t.cos() > seam.cos() {
                (t + m).cos()
            } else {
                t.cos() - m * seam.sin()
            };
            assert!(
                (*z as f64 - want).abs() < 5e-4,
                "{kind} theta {t}: {z} vs {want}"
            );
        }
    }
}

#[test]
fn every_loss_matches_on_random_batches_for_every_polytope() {
    let mut seed = 12345u64;
    let mut rand = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    };
    for kind in [
        PolytopeKind::Simplex,
        PolytopeKind::Orthoplex,
        PolytopeKind::Cube,
    ] {
        let p = Polytope::new(kind, 10).unwrap();
        let feats: Vec<Vec<f64>> = (0..16)
            .map(|_| (0..p.dim()).map(|_| rand()).collect())
            .collect();
        let labels: Vec<usize> = (0..16).map(|i| i % 10).collect();
        for loss in [LossKind::Softmax, LossKind::Cosine, LossKind::Margin] {
            let want = reference_loss(loss, p.vertices(), &feats, &labels, 30.0, p.phi());
            let got = burn_loss(loss, &p, &feats, &labels, 30.0, p.phi());
            assert_close(got, want, &format!("{kind} {loss}"));
        }
    }
}

#[test]
fn gradients_are_finite_on_random_inputs_and_at_the_vertices() {
    let device = Device::flex().autodiff();
    for kind in [
        PolytopeKind::Simplex,
        PolytopeKind::Orthoplex,
        PolytopeKind::Cube,
    ] {
        let p = Polytope::new(kind, 10).unwrap();
        for head_kind in [HeadKind::Fixed, HeadKind::Learnable] {
            let head = ClassifierHead::new(head_kind, &p, &device);
            for loss in [LossKind::Softmax, LossKind::Cosine, LossKind::Margin] {
                let random =
                    Tensor::<2>::random([32, p.dim()], Distribution::Normal(0.0, 1.0), &device);
                // Features exactly on a vertex and exactly opposite one: cos = +-1, sin = 0.
                let on_vertex: Vec<f32> = [&p.vertices()[0], &p.vertices()[1]]
                    .iter()
                    .flat_map(|v| v.iter().map(|&x| x as f32))
                    .collect();
                let special = Tensor::from_data(TensorData::new(on_vertex, [2, p.dim()]), &device);
                let special_neg = special.clone().neg();
                let feats = Tensor::cat(vec![random, special, special_neg], 0).require_grad();
                let mut labels: Vec<i64> = (0..32).map(|i| i % 10).collect();
                labels.extend([0, 1, 0, 1]);
                let labels = Tensor::from_data(TensorData::new(labels, [36]), &device);
                let value = PolytopeLoss {
                    kind: loss,
                    scale: 30.0,
                    margin: p.phi(),
                }
                .forward(&head, feats.clone(), labels);
                let grads = value.backward();
                let g = feats.grad(&grads).expect("gradient for the features");
                let g: Vec<f32> = g.into_data().iter::<f32>().collect();
                assert!(
                    g.iter().all(|x| x.is_finite()),
                    "{kind} {head_kind} {loss}: non-finite gradient"
                );
                assert!(
                    g.iter().any(|&x| x != 0.0),
                    "{kind} {head_kind} {loss}: all-zero gradient"
                );
            }
        }
    }
}
