//! Every kernel against a direct float64 convolution written from the definition, on
//! random shapes (padding from none to more than the kernel, 1x1 to 5x5 kernels, odd
//! sizes, batches that do not divide into the tasks) and LeNet++'s own layers.
use super::plan::images_per_gemm;
use super::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Float64 reference, straight from the sums: the convolution plus bias `z`, then
/// PReLU with `alpha` if given and 2x2 max pooling if `pool` (`out`); from the
/// gradient `g` of `out`, the gradients of the input, weight, bias and slopes, and per
/// slope the largest sum of its terms' sizes (the scale of that sum's rounding).
///
/// Which side of PReLU's kink an entry is on, and which entry wins a pooling window,
/// is read from `routing` (the tested kernel's own float32 pre-activation) when given:
/// an entry within rounding of zero (or of its neighbour) may fall either way, and the
/// gradient of the other piece differs by (1 - slope) · grad there, far above any
/// tolerance, though both are right to float32 precision.
fn reference(
    s: &ConvShape,
    [x, w, b, g]: [&[f32]; 4],
    alpha: Option<&[f32]>,
    pool: bool,
    routing: Option<&[f32]>,
) -> [Vec<f64>; 7] {
    let (oh, ow) = (s.oh(), s.ow());
    let xi = |n, c, i, j| ((n * s.c + c) * s.h + i) * s.w + j;
    let wi = |o, c, ki, kj| ((o * s.c + c) * s.kh + ki) * s.kw + kj;
    let oi = |n, o, y, x| ((n * s.o + o) * oh + y) * ow + x;
    // The kernel's tap (ki, kj) at output (y, xo): the input pixel, if inside.
    let tap = |y: usize, xo: usize, ki: usize, kj: usize| {
        let (i, j) = (y * s.sh + ki, xo * s.sw + kj);
        (i >= s.ph && j >= s.pw && i - s.ph < s.h && j - s.pw < s.w).then(|| (i - s.ph, j - s.pw))
    };
    let mut z = vec![0.0f64; s.n * s.o * oh * ow];
    for (n, o, y, xo) in every(s.n, s.o, oh, ow) {
        let mut acc = b[o] as f64;
        for c in 0..s.c {
            for ki in 0..s.kh {
                for kj in 0..s.kw {
                    if let Some((i, j)) = tap(y, xo, ki, kj) {
                        acc += x[xi(n, c, i, j)] as f64 * w[wi(o, c, ki, kj)] as f64;
                    }
                }
            }
        }
        z[oi(n, o, y, xo)] = acc;
    }
    let slope = |o: usize| alpha.map_or(1.0, |a| a[o % a.len()] as f64);
    let positive = |k: usize| routing.map_or(z[k], |r| r[k] as f64) > 0.0;
    let act_of = |k: usize, v: f64| {
        if positive(k) {
            v
        } else {
            slope(k / (oh * ow) % s.o) * v
        }
    };
    let act: Vec<f64> = z.iter().enumerate().map(|(k, v)| act_of(k, *v)).collect();
    // What decides a pooling window: the same activation of the routing values.
    let decide: Vec<f64> = match routing {
        Some(r) => r
            .iter()
            .enumerate()
            .map(|(k, v)| act_of(k, *v as f64))
            .collect(),
        None => act.clone(),
    };
    // Pooling: each window's first largest activation (row-major) takes its gradient.
    let (out, mut gy) = if pool {
        let (ph, pw) = (oh / 2, ow / 2);
        let mut out = vec![0.0f64; s.n * s.o * ph * pw];
        let mut gy = vec![0.0f64; z.len()];
        for (n, o, py, px) in every(s.n, s.o, ph, pw) {
            let window =
                [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(dy, dx)| oi(n, o, 2 * py + dy, 2 * px + dx));
            let best =
                window
                    .into_iter()
                    .fold(window[0], |m, k| if decide[k] > decide[m] { k } else { m });
            let k = ((n * s.o + o) * ph + py) * pw + px;
            out[k] = act[best];
            gy[best] = g[k] as f64;
        }
        (out, gy)
    } else {
        (act.clone(), g.iter().map(|v| *v as f64).collect())
    };
    let mut ga = vec![0.0f64; alpha.map_or(0, |a| a.len())];
    let mut ga_terms = ga.clone();
    if let Some(a) = alpha {
        for (k, zk) in z.iter().enumerate() {
            let o = k / (oh * ow) % s.o;
            if !positive(k) {
                ga[o % a.len()] += gy[k] * zk;
                ga_terms[o % a.len()] += (gy[k] * zk).abs();
                gy[k] *= slope(o);
            }
        }
    }
    let (mut gx, mut gw, mut gb) = (
        vec![0.0f64; x.len()],
        vec![0.0f64; w.len()],
        vec![0.0f64; s.o],
    );
    for (n, o, y, xo) in every(s.n, s.o, oh, ow) {
        let go = gy[oi(n, o, y, xo)];
        gb[o] += go;
        for c in 0..s.c {
            for ki in 0..s.kh {
                for kj in 0..s.kw {
                    if let Some((i, j)) = tap(y, xo, ki, kj) {
                        gx[xi(n, c, i, j)] += go * w[wi(o, c, ki, kj)] as f64;
                        gw[wi(o, c, ki, kj)] += go * x[xi(n, c, i, j)] as f64;
                    }
                }
            }
        }
    }
    [z, out, gx, gw, gb, ga, ga_terms]
}

/// Every (n, o, y, x) of an output.
fn every(
    n: usize,
    o: usize,
    oh: usize,
    ow: usize,
) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..n).flat_map(move |n| {
        (0..o).flat_map(move |o| (0..oh).flat_map(move |y| (0..ow).map(move |x| (n, o, y, x))))
    })
}

/// Normwise relative error max|got - want| / max|want|.
fn rel_err(got: &[f32], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    let err = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
    err / scale
}

fn random(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Tolerance: float32 sums of up to c*kh*kw (forward, x-gradient) or n*oh*ow
/// (weight gradient) products; measured errors are about 1e-7 to 1e-6.
const TOLERANCE: f64 = 1e-4;

const ALL: Wanted = Wanted {
    x: true,
    weight: true,
    bias: true,
    alpha: true,
};

/// Forward and backward of `s` without an activation, with one PReLU slope and with
/// one per channel, each without and with pooling (where the output is 2x2 or more),
/// against [`reference`].
fn check(s: ConvShape, rng: &mut StdRng) {
    let x = random(rng, s.n * s.c * s.h * s.w);
    let w = random(rng, s.o * s.c * s.kh * s.kw);
    let b = random(rng, s.o);
    let poolable = s.oh() >= 2 && s.ow() >= 2;
    for alpha in [None, Some(random(rng, 1)), Some(random(rng, s.o))] {
        for pool in [false, true].into_iter().filter(|p| !p || poolable) {
            let alpha = alpha.as_deref();
            let (oh, ow) = s.out_size(pool);
            let g = random(rng, s.n * s.o * oh * ow);
            let after = After {
                bias: Some(&b),
                prelu: alpha,
                pool,
                ..After::default()
            };
            let f = conv2d_forward(&s, &x, &w, after, true);
            let routing = f.pre_activation.as_deref();
            let [z, out, gx, gw, gb, ga, ga_terms] =
                reference(&s, [&x, &w, &b, &g], alpha, pool, routing);
            let back = (after, f.pre_activation.as_deref());
            let grads = conv2d_backward(&s, &x, &w, &g, back, ALL);
            let mut errors = vec![
                ("forward", rel_err(&f.out, &out)),
                ("x-gradient", rel_err(grads.x.as_ref().unwrap(), &gx)),
                (
                    "weight gradient",
                    rel_err(grads.weight.as_ref().unwrap(), &gw),
                ),
                ("bias gradient", rel_err(grads.bias.as_ref().unwrap(), &gb)),
            ];
            if after.needs_pre_activation() {
                errors.push((
                    "pre-activation",
                    rel_err(f.pre_activation.as_ref().unwrap(), &z),
                ));
            } else {
                assert!(f.pre_activation.is_none());
            }
            if alpha.is_some() {
                // A sum of thousands of terms of both signs (grad · pre-activation):
                // its error is relative to the sum of their sizes, as for any sum.
                let got = grads.alpha.as_ref().unwrap();
                let err = got.iter().zip(&ga).map(|(g, w)| (*g as f64 - w).abs());
                let scale = ga_terms.iter().fold(1e-30f64, |m, v| m.max(*v));
                errors.push(("slope gradient", err.fold(0.0, f64::max) / scale));
            } else {
                assert!(grads.alpha.is_none());
            }
            for (what, err) in errors {
                assert!(
                    err < TOLERANCE,
                    "{what} of {s:?}, slopes {alpha:?}, pool {pool}: relative error {err:e}"
                );
            }
            // Asking for fewer gradients gives the same ones and leaves the others out.
            let only_weight = Wanted {
                x: false,
                weight: true,
                bias: false,
                alpha: false,
            };
            let some = conv2d_backward(&s, &x, &w, &g, back, only_weight);
            assert!(some.x.is_none() && some.bias.is_none() && some.alpha.is_none());
            assert_eq!(some.weight, grads.weight);
        }
    }
    // Without a bias the forward is the biased one minus the bias.
    let unbiased = conv2d_forward(&s, &x, &w, After::default(), false).out;
    let g = vec![0.0; s.n * s.o * s.oh() * s.ow()];
    let [z, ..] = reference(&s, [&x, &w, &vec![0.0; s.o], &g], None, false, None);
    assert!(
        rel_err(&unbiased, &z) < TOLERANCE,
        "no-bias forward of {s:?}"
    );
    // At inference a ResNet's shortcut and ReLU follow in the epilogue (the batch norm
    // folded into the weights): relu(z + b + r).
    let r = random(rng, s.n * s.out_image());
    let after = After {
        bias: Some(&b),
        residual: Some(&r),
        relu: true,
        ..After::default()
    };
    let fused = conv2d_forward(&s, &x, &w, after, false).out;
    let [z, ..] = reference(&s, [&x, &w, &b, &g], None, false, None);
    let want: Vec<f64> = z
        .iter()
        .zip(&r)
        .map(|(z, r)| (z + *r as f64).max(0.0))
        .collect();
    assert!(
        rel_err(&fused, &want) < TOLERANCE,
        "residual + ReLU forward of {s:?}"
    );
}

#[test]
fn random_shapes_match_float64() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..40 {
        let (kh, kw) = (rng.random_range(1..=5), rng.random_range(1..=5));
        let s = ConvShape {
            n: rng.random_range(1..=9),
            c: rng.random_range(1..=4),
            h: rng.random_range(1..=9),
            w: rng.random_range(1..=9),
            o: rng.random_range(1..=5),
            kh,
            kw,
            ph: rng.random_range(0..=kh + 1),
            pw: rng.random_range(0..=kw + 1),
            sh: rng.random_range(1..=3),
            sw: rng.random_range(1..=3),
        };
        if s.is_valid() {
            check(s, &mut rng);
        }
    }
}

/// A 5x5 convolution padded by 2 (LeNet++'s) on `size` x `size` images.
fn lenet_like(n: usize, c: usize, o: usize, size: usize) -> ConvShape {
    ConvShape {
        n,
        c,
        h: size,
        w: size,
        o,
        kh: 5,
        kw: 5,
        ph: 2,
        pw: 2,
        sh: 1,
        sw: 1,
    }
}

/// A ResNet convolution: `k` x `k` padded by `k / 2`, stride `stride`.
fn resnet_like(n: usize, c: usize, o: usize, size: usize, k: usize, stride: usize) -> ConvShape {
    ConvShape {
        n,
        c,
        h: size,
        w: size,
        o,
        kh: k,
        kw: k,
        ph: k / 2,
        pw: k / 2,
        sh: stride,
        sw: stride,
    }
}

#[test]
fn resnet_layers_match_float64() {
    let mut rng = StdRng::seed_from_u64(13);
    // resnet20's 3x3 (stride 1 and 2; at stride 1 Winograd F(4x4, 3x3) on 8x8, 7x7
    // (partial tiles) and 4x4 maps, F(6x6, 3x3) on 32x32 (partial) and 12x12), resnet18's
    // 1x1 stride-2 shortcut, the 7x7/2 stem.
    for (c, o, size, k, stride) in [
        (16, 16, 8, 3, 1),
        (16, 24, 7, 3, 1),
        (64, 64, 4, 3, 1),
        (64, 64, 32, 3, 1),
        (32, 16, 12, 3, 1),
        (16, 32, 8, 3, 2),
        (16, 32, 9, 1, 2),
        (3, 8, 13, 7, 2),
    ] {
        check(resnet_like(3, c, o, size, k, stride), &mut rng);
    }
}

#[test]
fn lenet_layers_match_float64() {
    let mut rng = StdRng::seed_from_u64(11);
    for (c, o, size) in [(1, 32, 28), (32, 32, 28), (32, 64, 14), (64, 128, 7)] {
        check(lenet_like(2, c, o, size), &mut rng);
    }
}

#[test]
fn grouped_gemms_match_float64() {
    // Small maps put several images side by side in one GEMM; batches that do not
    // divide into tasks or groups leave short last ones. Pinned to 2 threads (CI's)
    // so the grouping is the same on every machine.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    pool.install(|| {
        for (n, c, o, size) in [(37, 8, 16, 7), (64, 3, 4, 5), (29, 2, 3, 14)] {
            let s = lenet_like(n, c, o, size);
            assert!(images_per_gemm(&s) > 1, "{s:?} is grouped");
            check(s, &mut rng);
        }
    });
}

/// The Winograd products' kernel against float64 sums, on every shape of block it
/// uses: rows 1 to 13 (blocks of 6, 4, 2, 1), columns in 16s, an 8 and a scalar tail,
/// 1 to 64 terms. Tolerance: the worst-case rounding of a float32 sum of k products,
/// (k + 1) x 2^-24 of the sum of the terms' sizes.
#[test]
fn row_major_product_matches_float64() {
    let mut rng = StdRng::seed_from_u64(17);
    for m in 1..=13 {
        for n in [1, 7, 8, 15, 16, 17, 24, 37, 72] {
            for k in [1, 3, 16, 64] {
                let (a, b) = (random(&mut rng, m * k), random(&mut rng, k * n));
                let mut dst = vec![f32::NAN; m * n];
                super::gemm::matmul_row_major(&mut dst, m, n, k, &a, &b);
                for i in 0..m {
                    for j in 0..n {
                        let terms = (0..k).map(|p| a[i * k + p] as f64 * b[p * n + j] as f64);
                        let (sum, size) = terms.fold((0.0, 0.0), |(s, z), t| (s + t, z + t.abs()));
                        let got = dst[i * n + j] as f64;
                        assert!(
                            (got - sum).abs() <= (k + 1) as f64 * 2f64.powi(-24) * size,
                            "[{m}, {k}] x [{k}, {n}] at ({i}, {j}): {got} vs {sum}"
                        );
                    }
                }
            }
        }
    }
}
