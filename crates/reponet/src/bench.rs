//! Throughput and memory measurements: what `reponet bench` reports.
//!
//! The model phases mirror the PyTorch peer's `--bench` (`benches/pytorch`): a backbone
//! (LeNet++ on 28x28 by default, or a ResNet) with a fixed d-Simplex head for 10 classes
//! (d = 9), margin loss, on uniform random inputs; a train step is forward, backward and the
//! update of the model's recipe (Adam for LeNet++; SGD with momentum 0.9 and weight decay
//! 5e-4 for the ResNets), ending when the loss value is on the host (the peer's
//! `loss.item()`). Each phase runs `warmup` untimed steps,
//! then `steps` timed ones, and reports the median.
//!
//! The head phases time the classifier and loss alone, for many classes: features `[B, d]`
//! are a trainable input, so the backward pass reaches the head exactly as it would from a
//! backbone. A fixed head holds a constant `[K, d]` matrix: no gradient, no Adam state.

use crate::device::Compute;
use std::time::Instant;

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use serde::Serialize;

use crate::geometry::{spread, Polytope, PolytopeKind};
use crate::nn::{
    Architecture, ClassifierHead, FixedHead, HeadKind, LearnableHead, LossKind, Network,
    PolytopeLoss,
};
use crate::train::{adam, optimizer, train_step, Recipe};

/// A model phase: `train` (forward + backward + Adam) or `infer` (forward only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[derive(strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Phase {
    /// Forward, backward and an Adam step.
    Train,
    /// Forward only, without autodiff.
    #[strum(to_string = "infer", serialize = "inference")]
    #[cfg_attr(feature = "clap", value(alias = "inference"))]
    Infer,
}

/// One measured phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    /// What was measured.
    pub phase: Phase,
    /// Images per step.
    pub batch: usize,
    /// Steps timed (after the warm-up steps).
    pub steps: usize,
    /// Median wall time of one step.
    pub median_step_seconds: f64,
    /// `batch / median_step_seconds`.
    pub images_per_second: f64,
    /// Peak resident memory of the process during the phase, bytes (Linux; else `None`).
    pub peak_rss_bytes: Option<u64>,
}

/// Median of `times` (not empty).
fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        0.5 * (times[n / 2 - 1] + times[n / 2])
    }
}

/// Time `warmup + steps` calls of `step`, the last `steps` of them.
fn timed(warmup: usize, steps: usize, mut step: impl FnMut()) -> Vec<f64> {
    let mut times = Vec::with_capacity(steps);
    for i in 0..warmup + steps.max(1) {
        let start = Instant::now();
        step();
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64());
        }
    }
    times
}

/// Throughput of `arch` (fixed simplex head, margin loss) in `phase` at `batch`.
pub fn model_phase(
    compute: &Compute,
    arch: Architecture,
    phase: Phase,
    batch: usize,
    warmup: usize,
    steps: usize,
) -> PhaseResult {
    let polytope = Polytope::new(PolytopeKind::Simplex, 10).expect("the 9-simplex");
    let device = compute.device();
    let train_device = device.clone().autodiff();
    let input = arch.input;
    let images = |device: &Device| {
        Tensor::<4>::random(
            [batch, input.channels, input.rows, input.cols],
            Distribution::Uniform(0.0, 1.0),
            device,
        )
    };
    let labels = |device: &Device| {
        let values: Vec<i64> = (0..batch).map(|i| (i * 7 % 10) as i64).collect();
        Tensor::<1, Int>::from_data(TensorData::new(values, [batch]), device)
    };
    reset_peak_rss();
    let times = match phase {
        Phase::Train => {
            let model = Network::seeded(&polytope, HeadKind::Fixed, arch, &train_device, 0);
            let mut model = Some(model.with_conv_kernels(compute.conv));
            let recipe = Recipe::default_for(arch.model);
            let mut optimizer = optimizer(recipe.optimizer, recipe.weight_decay, false);
            let loss_fn = PolytopeLoss {
                kind: LossKind::Margin,
                scale: 30.0,
                margin: polytope.phi(),
            };
            let (x, y) = (images(&train_device), labels(&train_device));
            timed(warmup, steps, || {
                let m = model.take().expect("model");
                let (m, _) =
                    train_step(m, &mut optimizer, &loss_fn, recipe.lr, x.clone(), y.clone());
                model = Some(m);
            })
        }
        Phase::Infer => {
            let model = Network::seeded(&polytope, HeadKind::Fixed, arch, &device, 0)
                .with_conv_kernels(compute.conv);
            let x = images(&device);
            timed(warmup, steps, || {
                let cosines = model.head.cosines(model.features(x.clone()));
                let _: f32 = cosines.sum().into_scalar();
            })
        }
    };
    let median_step_seconds = median(times);
    PhaseResult {
        phase,
        batch,
        steps,
        median_step_seconds,
        images_per_second: batch as f64 / median_step_seconds,
        peak_rss_bytes: peak_rss_bytes(),
    }
}

/// One many-class head measurement.
#[derive(Debug, Clone, Serialize)]
pub struct HeadResult {
    /// Number of classes K.
    pub classes: usize,
    /// Feature dimension d.
    pub dim: usize,
    /// Fixed or learnable head.
    pub head: HeadKind,
    /// What the fixed head's rows are (see [`head_phase`]); empty for a learnable head.
    pub vertices: String,
    /// Features per step.
    pub batch: usize,
    /// Trainable parameters of the head.
    pub trainable_parameters: usize,
    /// Adam's state for the head: two floats per trainable parameter, bytes.
    pub optimizer_state_bytes: usize,
    /// The head's weight matrix, bytes (a fixed head holds it too, as a constant).
    pub weight_bytes: usize,
    /// Median wall time of one forward + backward (+ Adam for a learnable head) step.
    pub median_step_seconds: f64,
    /// Peak resident memory of the process during the measurement, bytes (Linux).
    pub peak_rss_bytes: Option<u64>,
}

/// Margin-loss train step of the head alone for `classes` classes in `dim` dimensions:
/// trainable features `[batch, dim]`, then cosines, margin, cross-entropy, backward, Adam.
///
/// Fixed rows: the Riesz spread where it can be optimised here (K^2 d <= 2^31), else its
/// seeded random start (unit Gaussian directions): a fixed head's cost does not depend on
/// its rows' values. A Hadamard head needs d >= K (else rows repeat), which none of the
/// many-class settings has.
pub fn head_phase(
    compute: &Compute,
    classes: usize,
    dim: usize,
    head: HeadKind,
    batch: usize,
    warmup: usize,
    steps: usize,
) -> HeadResult {
    let device = compute.device().autodiff();
    reset_peak_rss();
    let (classifier, vertices) = match head {
        HeadKind::Learnable => (
            ClassifierHead::Learnable(LearnableHead::new(classes, dim, classes, &device)),
            String::new(),
        ),
        HeadKind::Fixed => {
            match Polytope::spread(classes, dim, 0, spread::default_cache_dir().as_deref()) {
                Ok(p) => (
                    ClassifierHead::Fixed(FixedHead::new(&p, &device)),
                    format!("spread, phi {:.1} deg", p.phi_degrees()),
                ),
                Err(_) => (
                    ClassifierHead::Fixed(FixedHead::from_unit_vectors(
                        &spread::initial_points(classes, dim, 0),
                        classes,
                        &device,
                    )),
                    "random unit vectors (spread start)".into(),
                ),
            }
        }
    };
    let mut model = Some(HeadBench {
        features: Param::from_tensor(Tensor::random(
            [batch, dim],
            Distribution::Normal(0.0, 1.0),
            &device,
        )),
        head: classifier,
    });
    let trainable_parameters = model.as_ref().expect("model").head.num_params();
    let values: Vec<i64> = (0..batch).map(|i| (i * 7919 % classes) as i64).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(values, [batch]), &device);
    let loss_fn = PolytopeLoss {
        kind: LossKind::Margin,
        scale: 30.0,
        margin: 0.5,
    };
    let mut optimizer = adam();
    let times = timed(warmup, steps, || {
        let m = model.take().expect("model");
        let loss = loss_fn.forward(&m.head, m.features.val(), labels.clone());
        let _: f32 = loss.clone().into_scalar();
        let grads = GradientsParams::from_grads(loss.backward(), &m);
        model = Some(optimizer.step(5e-4, m, grads));
    });
    HeadResult {
        classes,
        dim,
        head,
        vertices,
        batch,
        trainable_parameters,
        optimizer_state_bytes: 2 * 4 * trainable_parameters,
        weight_bytes: 4 * classes * dim,
        median_step_seconds: median(times),
        peak_rss_bytes: peak_rss_bytes(),
    }
}

/// Trainable features and a head: the head benchmark's whole model.
#[derive(Module, Debug)]
struct HeadBench {
    features: Param<Tensor<2>>,
    head: ClassifierHead,
}

/// Reset the kernel's peak-RSS mark of this process (Linux 4.0+: "5" > clear_refs).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory of this process since start or the last [`reset_peak_rss`] (VmHWM).
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
