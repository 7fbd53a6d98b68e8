//! Batch norm over a training batch, with the residual add and ReLU that follow it in a
//! ResNet fused in: `y = relu(x̂ γ + β + residual)`, x̂ normalised by the batch's own
//! per-channel mean and (biased) variance.
//!
//! Why not Burn's: flex computes the statistics through `swap_dims` + `reshape` (a copy of
//! the whole activation each), then subtracts, divides, scales and shifts in separate
//! passes, and its backward makes as many again; the add and the ReLU are further passes
//! with graphs of their own. Here the forward reads x twice (statistics) and writes y once;
//! the backward reads it twice and writes the input's gradient once. Statistics and
//! gradient sums are float64 sums taken per channel in a fixed order, so results do not
//! depend on the number of threads.

use std::mem::MaybeUninit;

use rayon::prelude::*;

use super::scratch::filled_vec;

/// The shape of a batch-norm input `[n, c, plane]` (plane: h * w).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormShape {
    /// Batch size.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Values per channel per image.
    pub plane: usize,
}

impl NormShape {
    fn len(&self) -> usize {
        self.n * self.c * self.plane
    }

    /// Image `j`'s plane of channel `ch` in `data`.
    fn plane<'a>(&self, data: &'a [f32], j: usize, ch: usize) -> &'a [f32] {
        &data[(j * self.c + ch) * self.plane..][..self.plane]
    }

    fn count(&self) -> f64 {
        (self.n * self.plane) as f64
    }
}

/// A training forward's output and the batch statistics it normalised with.
#[derive(Debug)]
pub struct NormForward {
    /// `[n, c, plane]`: `relu(x̂ γ + β + residual)` (each part as asked).
    pub out: Vec<f32>,
    /// `[c]`: the batch mean.
    pub mean: Vec<f32>,
    /// `[c]`: the batch variance (biased: divided by n * plane, as Burn's and PyTorch's
    /// normalisation uses it).
    pub var: Vec<f32>,
}

/// Gradients of [`batch_norm_forward`].
#[derive(Debug)]
pub struct NormGrads {
    /// W.r.t. x.
    pub x: Vec<f32>,
    /// W.r.t. γ.
    pub gamma: Vec<f32>,
    /// W.r.t. β.
    pub beta: Vec<f32>,
    /// W.r.t. the residual (the output gradient through the ReLU), when there was one.
    pub residual: Option<Vec<f32>>,
}

fn check(s: &NormShape, x: &[f32], gamma: &[f32]) {
    assert_eq!(x.len(), s.len(), "batch norm: input length for {s:?}");
    assert_eq!(gamma.len(), s.c, "batch norm: one scale per channel");
    assert!(
        s.n * s.plane > 0,
        "batch norm: an empty batch has no statistics"
    );
}

/// Per-channel mean and biased variance of `x` (two passes: the mean, then the squares of
/// the deviations from it).
pub fn batch_statistics(s: &NormShape, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
    (0..s.c)
        .into_par_iter()
        .map(|ch| channel_statistics(s, x, ch))
        .unzip()
}

fn channel_statistics(s: &NormShape, x: &[f32], ch: usize) -> (f32, f32) {
    let sum: f64 = (0..s.n).map(|j| lanes::sum(s.plane(x, j, ch), None)).sum();
    let mean = (sum / s.count()) as f32;
    let squares: f64 = (0..s.n)
        .map(|j| lanes::sum(s.plane(x, j, ch), Some(mean)))
        .sum();
    (mean, (squares / s.count()) as f32)
}

/// The gradient `g` where the ReLU passed it (its output `o` > 0), else 0: a bit mask
/// rather than a branch, which the compiler kept per value.
#[inline(always)]
fn passed(g: f32, o: f32) -> f32 {
    f32::from_bits(g.to_bits() & 0u32.wrapping_sub((o > 0.0) as u32))
}

/// The per-plane sums of the statistics and of the gradient: float32 in 8 lanes (lane l
/// takes values l, l + 8, ...), the lanes then added in float64. A plane is at most a few
/// thousand values, so each lane sums a few hundred: rounding stays near float32's own,
/// and planes are added in float64 in a fixed order. With AVX2 each lane is a lane of a
/// vector register, written with intrinsics because the compiler did not vectorise the
/// lane arrays (scalar loops, 10 % of a resnet20 step); both orders of addition are the
/// same (no fused multiply-add), so results do not depend on the CPU.
mod lanes {
    type Lanes = [f32; 8];

    /// Σ of each lane in float64, plus the tail's values.
    fn total(lanes: Lanes, tail: impl Iterator<Item = f32>) -> f64 {
        lanes.iter().map(|l| *l as f64).sum::<f64>() + tail.map(|v| v as f64).sum::<f64>()
    }

    /// Values up to the last whole 8.
    fn whole(len: usize) -> usize {
        len / 8 * 8
    }

    /// Σ v, or Σ (v - mean)² when `mean` is given.
    pub(super) fn sum(values: &[f32], mean: Option<f32>) -> f64 {
        let n = whole(values.len());
        let f = |v: f32| mean.map_or(v, |m| (v - m) * (v - m));
        total(
            sum_lanes(&values[..n], mean),
            values[n..].iter().map(|v| f(*v)),
        )
    }

    fn sum_lanes(values: &[f32], mean: Option<f32>) -> Lanes {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2::sum(values, mean) };
        }
        let mut lanes = [0.0f32; 8];
        for chunk in values.chunks_exact(8) {
            for (l, v) in lanes.iter_mut().zip(chunk) {
                *l += mean.map_or(*v, |m| (v - m) * (v - m));
            }
        }
        lanes
    }

    /// (Σ g', Σ g' (x - mean)) over one plane, g' the gradient where the ReLU passed it
    /// (`out` > 0). Centred before multiplying, so no large sums cancel.
    pub(super) fn gradient(g: &[f32], x: &[f32], mean: f32, out: Option<&[f32]>) -> (f64, f64) {
        let n = whole(g.len());
        let out_n = out.map(|o| &o[..n]);
        let [gs, gx] = gradient_lanes(&g[..n], &x[..n], mean, out_n);
        let tail = (n..g.len()).map(|k| out.map_or(g[k], |o| super::passed(g[k], o[k])));
        let tail_x = tail.clone().zip(&x[n..]).map(|(g, x)| g * (x - mean));
        (total(gs, tail), total(gx, tail_x))
    }

    fn gradient_lanes(g: &[f32], x: &[f32], mean: f32, out: Option<&[f32]>) -> [Lanes; 2] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2.
            return unsafe { avx2::gradient(g, x, mean, out) };
        }
        let (mut gs, mut gx) = ([0.0f32; 8], [0.0f32; 8]);
        for (k, (g, x)) in g.chunks_exact(8).zip(x.chunks_exact(8)).enumerate() {
            for l in 0..8 {
                let g = out.map_or(g[l], |o| super::passed(g[l], o[k * 8 + l]));
                gs[l] += g;
                gx[l] += g * (x[l] - mean);
            }
        }
        [gs, gx]
    }

    #[cfg(target_arch = "x86_64")]
    mod avx2 {
        use super::Lanes;
        use std::arch::x86_64::*;

        fn lanes(v: __m256) -> Lanes {
            let mut out = [0.0f32; 8];
            // SAFETY: `out` holds 8 floats.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
            out
        }

        /// [`super::sum_lanes`] of a multiple of 8 values.
        #[target_feature(enable = "avx2")]
        pub(super) fn sum(values: &[f32], mean: Option<f32>) -> Lanes {
            let mut acc = _mm256_setzero_ps();
            let m = _mm256_set1_ps(mean.unwrap_or(0.0));
            for chunk in values.chunks_exact(8) {
                // SAFETY: 8 floats.
                let v = unsafe { _mm256_loadu_ps(chunk.as_ptr()) };
                let v = match mean {
                    Some(_) => {
                        let d = _mm256_sub_ps(v, m);
                        _mm256_mul_ps(d, d)
                    }
                    None => v,
                };
                acc = _mm256_add_ps(acc, v);
            }
            lanes(acc)
        }

        /// [`super::gradient_lanes`] of a multiple of 8 values.
        #[target_feature(enable = "avx2")]
        pub(super) fn gradient(g: &[f32], x: &[f32], mean: f32, out: Option<&[f32]>) -> [Lanes; 2] {
            let (mut gs, mut gx) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let (m, zero) = (_mm256_set1_ps(mean), _mm256_setzero_ps());
            for k in (0..g.len()).step_by(8) {
                // SAFETY: g, x (and out) hold a multiple of 8 floats, k + 8 <= len.
                let (gv, xv) = unsafe { (_mm256_loadu_ps(&g[k]), _mm256_loadu_ps(&x[k])) };
                let gv = match out {
                    // SAFETY: as above.
                    Some(o) => {
                        let o = unsafe { _mm256_loadu_ps(&o[k]) };
                        _mm256_and_ps(gv, _mm256_cmp_ps::<_CMP_GT_OQ>(o, zero))
                    }
                    None => gv,
                };
                gs = _mm256_add_ps(gs, gv);
                gx = _mm256_add_ps(gx, _mm256_mul_ps(gv, _mm256_sub_ps(xv, m)));
            }
            [lanes(gs), lanes(gx)]
        }
    }
}

/// [`lanes::gradient`] over the `n` planes of channel `ch`, added in image order.
fn channel_gradient_sums(
    s: &NormShape,
    ch: usize,
    grad: &[f32],
    x: &[f32],
    mean: f32,
    relu_out: Option<&[f32]>,
) -> (f64, f64) {
    let (mut db, mut dgx) = (0.0f64, 0.0f64);
    for j in 0..s.n {
        let out = relu_out.map(|o| s.plane(o, j, ch));
        let sums = lanes::gradient(s.plane(grad, j, ch), s.plane(x, j, ch), mean, out);
        db += sums.0;
        dgx += sums.1;
    }
    (db, dgx)
}

simd_fn! {
    /// Image `j` of the input's gradient `a g' + b x + c` (per channel coefficients), and of
    /// the residual's, g', when `gr` is given.
    fn input_gradient_image(
        s: &NormShape,
        j: usize,
        x_grad: [&[f32]; 2],
        relu_out: Option<&[f32]>,
        coefficients: &[[f32; 3]],
        gx: &mut [MaybeUninit<f32>],
        gr: Option<&mut [MaybeUninit<f32>]>,
    ) {
        let [x, grad] = x_grad;
        let mut gr = gr;
        for (ch, gx) in gx.chunks_exact_mut(s.plane).enumerate() {
            let [a, b, c] = coefficients[ch];
            let (x, g) = (s.plane(x, j, ch), s.plane(grad, j, ch));
            let out = relu_out.map(|o| s.plane(o, j, ch));
            let gr = gr.as_deref_mut().map(|gr| &mut gr[ch * s.plane..][..s.plane]);
            match (out, gr) {
                (Some(out), Some(gr)) => {
                    for ((((d, r), x), g), o) in gx.iter_mut().zip(gr).zip(x).zip(g).zip(out) {
                        let g = passed(*g, *o);
                        d.write(a * g + b * x + c);
                        r.write(g);
                    }
                }
                (Some(out), None) => {
                    for (((d, x), g), o) in gx.iter_mut().zip(x).zip(g).zip(out) {
                        let g = passed(*g, *o);
                        d.write(a * g + b * x + c);
                    }
                }
                (None, Some(gr)) => {
                    for (((d, r), x), g) in gx.iter_mut().zip(gr).zip(x).zip(g) {
                        d.write(a * g + b * x + c);
                        r.write(*g);
                    }
                }
                (None, None) => {
                    for ((d, x), g) in gx.iter_mut().zip(x).zip(g) {
                        d.write(a * g + b * x + c);
                    }
                }
            }
        }
    }
}

/// `relu(x̂ γ + β + residual)` with the batch's statistics (the residual and the ReLU as
/// asked), and those statistics.
pub fn batch_norm_forward(
    s: &NormShape,
    x: &[f32],
    [gamma, beta]: [&[f32]; 2],
    residual: Option<&[f32]>,
    relu: bool,
    epsilon: f64,
) -> NormForward {
    check(s, x, gamma);
    if let Some(r) = residual {
        assert_eq!(r.len(), s.len(), "batch norm: residual length for {s:?}");
    }
    let (mean, var) = batch_statistics(s, x);
    // y = x * scale + shift: one multiply-add a value.
    let scale: Vec<f32> = (0..s.c)
        .map(|ch| (gamma[ch] as f64 / (var[ch] as f64 + epsilon).sqrt()) as f32)
        .collect();
    let shift: Vec<f32> = (0..s.c).map(|ch| beta[ch] - mean[ch] * scale[ch]).collect();
    let scale_shift = [scale.as_slice(), shift.as_slice()];
    // A task per image: planes of 8x8 values made tasks too small to schedule.
    let out = filled_vec(s.len(), |out| {
        out.par_chunks_mut(s.c * s.plane)
            .enumerate()
            .for_each(|(j, out)| normalise_image(s, j, x, residual, scale_shift, relu, out));
    });
    NormForward { out, mean, var }
}

simd_fn! {
    /// Image `j` of the forward's output: `x * scale + shift (+ residual)`, then the ReLU.
    fn normalise_image(
        s: &NormShape,
        j: usize,
        x: &[f32],
        residual: Option<&[f32]>,
        scale_shift: [&[f32]; 2],
        relu: bool,
        out: &mut [MaybeUninit<f32>],
    ) {
        let [scale, shift] = scale_shift;
        // (relu is loop-invariant: the compiler takes the branch out of the loops.)
        let act = |v: f32| if relu { v.max(0.0) } else { v };
        for (ch, out) in out.chunks_exact_mut(s.plane).enumerate() {
            let (k, b) = (scale[ch], shift[ch]);
            let x = s.plane(x, j, ch);
            match residual {
                Some(r) => {
                    let r = s.plane(r, j, ch);
                    for ((o, x), r) in out.iter_mut().zip(x).zip(r) {
                        o.write(act(x * k + b + r));
                    }
                }
                None => {
                    for (o, x) in out.iter_mut().zip(x) {
                        o.write(act(x * k + b));
                    }
                }
            }
        }
    }
}

/// The gradients of [`batch_norm_forward`] from the gradient `grad` of its output, with
/// its `mean` and `var`, and its output `out` when it had a ReLU (whose gradient passes
/// where the output is positive). With g' the gradient through the ReLU and N = n * plane:
/// dβ = Σ g', dγ = Σ g' x̂, dx = γ / σ (g' - dβ / N - x̂ dγ / N), d residual = g'.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    s: &NormShape,
    x: &[f32],
    gamma: &[f32],
    [mean, var]: [&[f32]; 2],
    epsilon: f64,
    relu_out: Option<&[f32]>,
    grad: &[f32],
    residual: bool,
) -> NormGrads {
    check(s, x, gamma);
    assert_eq!(grad.len(), s.len(), "batch norm: gradient length for {s:?}");
    if let Some(out) = relu_out {
        assert_eq!(out.len(), s.len(), "batch norm: output length for {s:?}");
    }
    let inv_std: Vec<f64> = var
        .iter()
        .map(|v| 1.0 / (*v as f64 + epsilon).sqrt())
        .collect();
    // Per channel dβ = Σ g' and dγ = Σ g' (x - μ) / σ.
    let (beta_grad, gamma_grad): (Vec<f64>, Vec<f64>) = (0..s.c)
        .into_par_iter()
        .map(|ch| {
            let (db, dgx) = channel_gradient_sums(s, ch, grad, x, mean[ch], relu_out);
            (db, dgx * inv_std[ch])
        })
        .unzip();
    // dx = a g' + b x + c per channel (the formula above, expanded).
    let n = s.count();
    let coefficients: Vec<[f32; 3]> = (0..s.c)
        .map(|ch| {
            let a = gamma[ch] as f64 * inv_std[ch];
            let b = -a * inv_std[ch] * gamma_grad[ch] / n;
            let c = -a * beta_grad[ch] / n - b * mean[ch] as f64;
            [a as f32, b as f32, c as f32]
        })
        .collect();
    // dx and the residual's gradient (g') in one pass, a task per image.
    let image = s.c * s.plane;
    let mut residual_grad = residual.then(|| Vec::<f32>::with_capacity(s.len()));
    let x_grad = filled_vec(s.len(), |gx| {
        let gr: Vec<Option<&mut [MaybeUninit<f32>]>> = match residual_grad.as_mut() {
            Some(gr) => gr.spare_capacity_mut()[..s.len()]
                .chunks_mut(image)
                .map(Some)
                .collect(),
            None => (0..s.n).map(|_| None).collect(),
        };
        gx.par_chunks_mut(image)
            .zip(gr)
            .enumerate()
            .for_each(|(j, (gx, gr))| {
                input_gradient_image(s, j, [x, grad], relu_out, &coefficients, gx, gr)
            });
    });
    let residual = residual_grad.map(|mut gr| {
        // SAFETY: every image's task wrote its chunk in full.
        unsafe { gr.set_len(s.len()) };
        gr
    });
    NormGrads {
        x: x_grad,
        gamma: gamma_grad.into_iter().map(|v| v as f32).collect(),
        beta: beta_grad.into_iter().map(|v| v as f32).collect(),
        residual,
    }
}

#[cfg(test)]
mod tests {
    //! Against float64 straight from the definitions: the statistics and the normalisation,
    //! and the gradients as derivatives of Σ y ⊙ w by central differences in float64 (the
    //! forward written again in float64, so the differences have no float32 noise).
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    const EPS: f64 = 1e-5;

    /// The forward in float64: y for inputs x (and γ, β, residual).
    fn reference(
        s: &NormShape,
        x: &[f64],
        gamma: &[f64],
        beta: &[f64],
        residual: Option<&[f64]>,
        relu: bool,
    ) -> Vec<f64> {
        let mut y = vec![0.0; s.len()];
        for ch in 0..s.c {
            let idx: Vec<usize> = (0..s.n)
                .flat_map(|j| (0..s.plane).map(move |k| (j * s.c + ch) * s.plane + k))
                .collect();
            let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
            let var = idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / idx.len() as f64;
            for &i in &idx {
                let mut v = (x[i] - mean) / (var + EPS).sqrt() * gamma[ch] + beta[ch];
                if let Some(r) = residual {
                    v += r[i];
                }
                y[i] = if relu { v.max(0.0) } else { v };
            }
        }
        y
    }

    fn random(rng: &mut StdRng, len: usize, offset: f32) -> Vec<f32> {
        (0..len)
            .map(|_| rng.random_range(-1.0f32..1.0) * 2.0 + offset)
            .collect()
    }

    fn wide(v: &[f32]) -> Vec<f64> {
        v.iter().map(|v| *v as f64).collect()
    }

    fn max_rel(got: &[f32], want: &[f64]) -> f64 {
        let scale = want.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
        let err = got
            .iter()
            .zip(want)
            .fold(0.0f64, |m, (g, w)| m.max((*g as f64 - w).abs()));
        err / scale
    }

    /// Forward within 1e-5 of the largest value; gradients within 1e-4 of the largest (the
    /// central differences' own error, step 1e-4 in float64, is far below that).
    #[test]
    fn forward_and_gradients_match_float64() {
        let mut rng = StdRng::seed_from_u64(3);
        for (n, c, plane, residual, relu) in [
            (4, 3, 5, false, false),
            (3, 2, 7, true, true),
            (2, 4, 9, false, true),
            (5, 1, 1, true, false),
        ] {
            let s = NormShape { n, c, plane };
            // An offset mean, as activations after a ReLU have.
            let x = random(&mut rng, s.len(), 3.0);
            let gamma = random(&mut rng, c, 0.0);
            let beta = random(&mut rng, c, 0.0);
            let r = residual.then(|| random(&mut rng, s.len(), 0.0));
            let w = random(&mut rng, s.len(), 0.0);
            let f = batch_norm_forward(&s, &x, [&gamma, &beta], r.as_deref(), relu, EPS);
            let (xd, gd, bd) = (wide(&x), wide(&gamma), wide(&beta));
            let rd = r.as_deref().map(wide);
            let want = reference(&s, &xd, &gd, &bd, rd.as_deref(), relu);
            let err = max_rel(&f.out, &want);
            assert!(err < 1e-5, "forward of {s:?}: {err:e}");
            // Σ y ⊙ w as a function of one of the inputs, in float64.
            let loss = |x: &[f64], g: &[f64], b: &[f64], r: Option<&[f64]>| -> f64 {
                reference(&s, x, g, b, r, relu)
                    .iter()
                    .zip(&w)
                    .map(|(y, w)| y * *w as f64)
                    .sum()
            };
            let h = 1e-4;
            let derivative = |v: &[f64], i: usize, f: &dyn Fn(&[f64]) -> f64| {
                let (mut up, mut down) = (v.to_vec(), v.to_vec());
                up[i] += h;
                down[i] -= h;
                (f(&up) - f(&down)) / (2.0 * h)
            };
            let dx: Vec<f64> = (0..s.len())
                .map(|i| derivative(&xd, i, &|x| loss(x, &gd, &bd, rd.as_deref())))
                .collect();
            let dg: Vec<f64> = (0..c)
                .map(|i| derivative(&gd, i, &|g| loss(&xd, g, &bd, rd.as_deref())))
                .collect();
            let db: Vec<f64> = (0..c)
                .map(|i| derivative(&bd, i, &|b| loss(&xd, &gd, b, rd.as_deref())))
                .collect();
            let out = relu.then_some(f.out.as_slice());
            let stats = [f.mean.as_slice(), f.var.as_slice()];
            let g = batch_norm_backward(&s, &x, &gamma, stats, EPS, out, &w, residual);
            for (what, got, want) in [
                ("x", &g.x, &dx),
                ("gamma", &g.gamma, &dg),
                ("beta", &g.beta, &db),
            ] {
                let err = max_rel(got, want);
                assert!(err < 1e-4, "{what} gradient of {s:?}: {err:e}");
            }
            if let Some(rd) = &rd {
                let dr: Vec<f64> = (0..s.len())
                    .map(|i| derivative(rd, i, &|r| loss(&xd, &gd, &bd, Some(r))))
                    .collect();
                let err = max_rel(g.residual.as_ref().unwrap(), &dr);
                assert!(err < 1e-4, "residual gradient of {s:?}: {err:e}");
            } else {
                assert!(g.residual.is_none());
            }
        }
    }

    #[test]
    fn statistics_by_hand() {
        // Two images, one channel of two values: 1, 3 and 5, 7: mean 4, variance
        // (9 + 1 + 1 + 9) / 4 = 5.
        let s = NormShape {
            n: 2,
            c: 1,
            plane: 2,
        };
        let (mean, var) = batch_statistics(&s, &[1.0, 3.0, 5.0, 7.0]);
        assert_eq!((mean, var), (vec![4.0], vec![5.0]));
    }
}
