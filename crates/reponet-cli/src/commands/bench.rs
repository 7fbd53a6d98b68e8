use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use reponet::bench::{head_phase, model_phase, HeadResult, Phase, PhaseResult};
use reponet::data::ImageShape;
use reponet::device::{Compute, ConvKernels};
use reponet::nn::{Architecture, HeadKind, ModelKind, Stem};
use reponet::train::{self, SilentObserver, TrainConfig};
use serde_json::json;

use crate::context::{Ctx, Output};

/// Measure speed and memory: train and inference throughput, or the head alone.
///
/// LeNet++ (or --model) train-step and inference throughput, a full-MNIST epoch end to
/// end, or the classifier head alone for many classes.
///
/// The model phases match the PyTorch peer's --bench (benches/pytorch): LeNet++, fixed
/// 9-simplex head, margin loss, Adam, random 28x28 inputs, median of --steps timed steps
/// after --warmup untimed ones; scripts/bench.sh runs both side by side and writes
/// BENCHMARKS.md. Threads: the CPU backend uses every core (RAYON_NUM_THREADS caps it).
/// On the CPU, convolutions run on reponet's kernels (Winograd, fused PReLU and pooling);
/// --conv burn measures Burn's own instead, for comparison.
///   reponet bench                                   train and infer at batch 512 and 128
///   reponet bench --conv burn                       the same on Burn's CPU convolutions
///   reponet bench --epoch                           one full-MNIST epoch, end to end, too
///   reponet bench --heads --out heads.json          K = 1,000..100,000, d = 128 and 512
///   reponet bench --model resnet20 --image-size 32 --channels 3 --phases train:128,infer:128
#[derive(clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Model phases, comma-separated PHASE:BATCH (PHASE: train or infer).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "train:512,train:128,infer:512,infer:128"
    )]
    phases: Vec<String>,
    /// The backbone of the model phases (ResNets: SGD with momentum and weight decay).
    #[arg(long, default_value = "lenet++")]
    model: ModelKind,
    /// Side of the random square inputs of the model phases.
    #[arg(long, default_value_t = 28)]
    image_size: usize,
    /// Channels of the random inputs: 1 or 3.
    #[arg(long, default_value_t = 1)]
    channels: usize,
    /// Timed steps per phase (the median is reported).
    #[arg(long, default_value_t = 7)]
    steps: usize,
    /// Untimed steps before each phase.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Also train one epoch on full MNIST (load, train, evaluate) and time it.
    #[arg(long)]
    epoch: bool,
    /// Where MNIST is, for --epoch [default: $REPONET_DATA, then the cache].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Benchmark the classifier head and margin loss alone instead, fixed vs learnable.
    #[arg(long)]
    heads: bool,
    /// Class counts K for --heads.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    classes: Vec<usize>,
    /// Feature dimensions d for --heads.
    #[arg(long, value_delimiter = ',', default_value = "128,512")]
    dims: Vec<usize>,
    /// Batch size for --heads.
    #[arg(long, default_value_t = 512)]
    head_batch: usize,
    /// Whose CPU convolution kernels to time: reponet (the default) or burn (Burn's own,
    /// as `REPONET_CONV=burn` does for every command).
    #[arg(long)]
    conv: Option<ConvKernels>,
    /// Also write the results as JSON to this file (--json prints them instead).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

fn parse_phase(spec: &str) -> Result<(Phase, usize)> {
    let (phase, batch) = spec
        .split_once(':')
        .with_context(|| format!("phase '{spec}': expected PHASE:BATCH, e.g. train:512"))?;
    let batch: usize = batch
        .parse()
        .ok()
        .filter(|&b| b > 0)
        .with_context(|| format!("phase '{spec}': the batch must be a positive integer"))?;
    let phase = phase
        .parse()
        .ok()
        .with_context(|| format!("phase '{spec}': expected train or infer before the colon"))?;
    Ok((phase, batch))
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("-".into(), |b| {
        format!("{:.0}", b as f64 / (1 << 20) as f64)
    })
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    if args.steps == 0 {
        bail!("--steps 0: time at least 1 step");
    }
    if !matches!(args.channels, 1 | 3) {
        bail!(
            "--channels {}: images are grey (1) or RGB (3)",
            args.channels
        );
    }
    let input = ImageShape {
        channels: args.channels,
        rows: args.image_size,
        cols: args.image_size,
    };
    let min = args.model.min_side(Stem::Auto, input);
    if args.image_size < min {
        bail!(
            "--image-size {}: {} takes images of at least {min} x {min} pixels",
            args.image_size,
            args.model
        );
    }
    let compute = Compute {
        conv: args.conv.unwrap_or(ctx.compute.conv),
        ..ctx.compute
    };
    let mut report = json!({
        "reponet_version": env!("CARGO_PKG_VERSION"),
        "backend": compute.device.describe(),
        "conv_kernels": compute.conv_kernels(),
        "threads": reponet::machine::compute_threads(),
    });
    let bench = Bench {
        args: &args,
        compute,
        out: &ctx.out,
    };
    if args.heads {
        report["heads"] = json!(bench.heads()?);
    } else {
        let phases: Vec<(Phase, usize)> = args
            .phases
            .iter()
            .map(|p| parse_phase(p))
            .collect::<Result<_>>()?;
        report["phases"] = json!(bench.phases(&phases));
        if args.epoch {
            report["epoch"] = bench.epoch()?;
        }
    }
    ctx.out.json(&report)?;
    if let Some(path) = &args.out {
        let text = serde_json::to_string_pretty(&report)?;
        train::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display()))?;
        ctx.out.log(format_args!("wrote {}", path.display()));
    }
    Ok(())
}

/// One benchmark invocation: its options, where it computes, where the table goes (the
/// table is the result: standard output, unless --json).
struct Bench<'a> {
    args: &'a Args,
    compute: Compute,
    out: &'a Output,
}

impl Bench<'_> {
    fn phases(&self, phases: &[(Phase, usize)]) -> Vec<PhaseResult> {
        let args = self.args;
        let arch = Architecture {
            model: args.model,
            stem: Stem::Auto,
            input: ImageShape {
                channels: args.channels,
                rows: args.image_size,
                cols: args.image_size,
            },
            hidden: None,
        };
        self.out.log(format_args!(
            "{} on {}, fixed 9-simplex, margin loss, {} convolutions; median of {} steps after {} warm-up",
            args.model,
            arch.input,
            self.compute.conv_kernels(),
            args.steps,
            args.warmup
        ));
        self.out.text(format_args!(
            "{:<6} {:>6} {:>12} {:>10} {:>14}",
            "phase", "batch", "step (ms)", "img/s", "peak RSS (MiB)"
        ));
        phases
            .iter()
            .map(|&(phase, batch)| {
                let r = model_phase(&self.compute, arch, phase, batch, args.warmup, args.steps);
                self.out.text(format_args!(
                    "{:<6} {:>6} {:>12.1} {:>10.1} {:>14}",
                    r.phase,
                    r.batch,
                    1e3 * r.median_step_seconds,
                    r.images_per_second,
                    mib(r.peak_rss_bytes)
                ));
                r
            })
            .collect()
    }

    /// One epoch of the paper's recipe on full MNIST, through the same code as `reponet train`.
    fn epoch(&self) -> Result<serde_json::Value> {
        let args = self.args;
        let dir = std::env::temp_dir().join(format!("reponet-bench-epoch-{}", std::process::id()));
        let config = TrainConfig {
            epochs: 1,
            ..TrainConfig::paper_defaults(args.data_dir.clone())
        };
        self.out.log(format_args!(
            "one full-MNIST epoch (load, train, evaluate), batch 512..."
        ));
        let start = Instant::now();
        let result = train::train(&config, &dir, true, &self.compute, &mut SilentObserver);
        let seconds = start.elapsed().as_secs_f64();
        let _ = std::fs::remove_dir_all(&dir);
        let summary = result?;
        self.out.text(format_args!(
        "epoch: {seconds:.1} s end to end ({:.1} img/s over {} training images), test accuracy {:.2} %",
        summary.train_images as f64 / seconds,
        summary.train_images,
        summary.final_test_accuracy
    ));
        Ok(json!({
            "seconds": seconds,
            "train_images": summary.train_images,
            "test_images": summary.test_images,
            "test_accuracy": summary.final_test_accuracy,
        }))
    }

    fn heads(&self) -> Result<Vec<HeadResult>> {
        let args = self.args;
        if args.classes.iter().any(|&k| k < 2) || args.dims.contains(&0) {
            bail!("--classes needs K >= 2 and --dims d >= 1");
        }
        self.out.log(format_args!(
            "head + margin loss alone, batch {}, median of {} steps after {} warm-up",
            args.head_batch, args.steps, args.warmup
        ));
        self.out.text(format_args!(
            "{:>7} {:>4} {:<9} {:>12} {:>12} {:>10} {:>14}  fixed rows",
            "K", "d", "head", "trainable", "Adam (MiB)", "step (ms)", "peak RSS (MiB)"
        ));
        let mut results = Vec::new();
        for &classes in &args.classes {
            for &dim in &args.dims {
                for head in [HeadKind::Fixed, HeadKind::Learnable] {
                    // The fixed head's vertices are spread first: for large K minutes, the
                    // first time (cached after).
                    let what = match head {
                        HeadKind::Fixed => {
                            "fixed head (spreading its vertices first, cached after the first time)"
                        }
                        HeadKind::Learnable => "learnable head",
                    };
                    self.out.log(format_args!(
                        "K = {classes}, d = {dim}: timing the {what}..."
                    ));
                    let r = head_phase(
                        &self.compute,
                        classes,
                        dim,
                        head,
                        args.head_batch,
                        args.warmup,
                        args.steps,
                    );
                    self.out.text(format_args!(
                        "{:>7} {:>4} {:<9} {:>12} {:>12.1} {:>10.1} {:>14}  {}",
                        r.classes,
                        r.dim,
                        r.head,
                        r.trainable_parameters,
                        r.optimizer_state_bytes as f64 / (1 << 20) as f64,
                        1e3 * r.median_step_seconds,
                        mib(r.peak_rss_bytes),
                        r.vertices
                    ));
                    results.push(r);
                }
            }
        }
        Ok(results)
    }
}
