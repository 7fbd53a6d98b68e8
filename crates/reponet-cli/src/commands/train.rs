use std::path::PathBuf;

use anyhow::Result;
use reponet::data::{FolderOptions, FOLDER_PREFIX};
use reponet::geometry::PolytopeKind;
use reponet::nn::{HeadKind, LossKind, ModelKind, Stem};
use reponet::train::{
    self, Augment, CheckpointEvery, Freeze, HoldoutSetting, InputNorm, LrSchedule, MarginSetting,
    OptimizerKind, PreparedRun, TrainConfig, TrainError, TrainObserver, WarmupSetting,
};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::commands::folder_args::FolderArgs;
use crate::context::Ctx;
use crate::progress::{stop_on_signals, ProgressObserver};

/// Train a network with a polytope classifier, on registry datasets or your images.
///
/// LeNet++ (the paper's) or a ResNet (--model), on a dataset of the registry or on your
/// own images (--dataset folder:PATH).
///
/// Defaults are the paper's recipe: LeNet++, fixed d-Simplex head, additive angular margin
/// m = phi, s = 30, Adam lr 0.0005, batch 512. The ResNets (--model resnet20 ... resnet50)
/// default to the recipe they are trained with on CIFAR: SGD lr 0.1, momentum 0.9, weight
/// decay 5e-4, cosine schedule, batch 128, 4-pixel padded crops and horizontal flips
/// (crops only on digits and letters). The paper states no margin warm-up;
/// `--margin-warmup auto` (the default) ramps m from 0 over 1 epoch when m > 90 deg
/// (the simplex), without which it collapses or starts slowly, and uses none otherwise.
///
/// The run folder gets config.json, metrics.jsonl (one line per epoch), model.bpk and
/// summary.json. Quick look, no download needed (a minute or two on 2 cores):
///   reponet train --dataset mnist-sample --epochs 1 --batch-size 64 --out runs/quick
/// The paper's MNIST run, once `reponet data fetch mnist` has run:
///   reponet train --out runs/simplex
/// A ResNet-20 on Fashion-MNIST with the CIFAR recipe:
///   reponet train --model resnet20 --dataset fashion-mnist --epochs 30 --out runs/r20
#[derive(clap::Args)]
#[command(verbatim_doc_comment, allow_negative_numbers = true)]
pub struct Args {
    /// Dataset: mnist, mnist-sample (built in), fashion-mnist, kmnist, emnist-balanced, ...
    /// (`reponet data list` shows them all), or folder:PATH, your own PNG or JPEG images in
    /// PATH/train/CLASS/ and PATH/test/CLASS/, or in PATH/CLASS/ split by --test-fraction
    /// (`reponet data check folder:PATH` first), or features:FILE.safetensors, precomputed
    /// features (`reponet embed --model ... --weights ... --dataset folder:PATH` writes them).
    #[arg(long, default_value = "mnist")]
    dataset: String,
    /// --dataset cifar100: label by the 100 classes (fine) or the 20 superclasses (coarse,
    /// the same as --dataset cifar100-coarse).
    #[arg(long, value_name = "fine|coarse", value_parser = ["fine", "coarse"])]
    cifar100_labels: Option<String>,
    #[command(flatten)]
    folder: FolderArgs,
    /// Folder datasets: leave out images that do not decode (counted in config.json) instead
    /// of stopping at the first.
    #[arg(long)]
    skip_bad_images: bool,
    /// Folder holding the dataset's IDX files, or the data root holding NAME/ folders
    /// [default: $REPONET_DATA, else the cache directory, e.g. ~/.cache/reponet].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Where to write the run.
    #[arg(long, required_unless_present = "resume")]
    out: Option<PathBuf>,
    /// Continue the unfinished run in RUN_DIR from its last checkpoint, with its saved
    /// configuration (no other training option may be given).
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = [
        "out", "force", "dataset", "cifar100_labels", "image_size", "channels", "test_fraction", "split_seed", "skip_bad_images", "data_dir", "polytope", "dim", "head", "loss", "scale", "margin",
        "margin_warmup", "epochs", "batch_size", "lr", "seed", "limit_train", "limit_test", "holdout_classes", "checkpoint_every",
        "model", "stem", "optimizer", "nesterov", "weight_decay", "lr_schedule", "lr_warmup", "augment",
        "weights", "freeze", "input_norm", "hidden", "hidden_layers",
    ])]
    resume: Option<PathBuf>,
    /// Overwrite --out if it exists and is not empty.
    #[arg(long)]
    force: bool,
    /// The backbone: lenet++ (the paper's), the CIFAR ResNets resnet20/32/44/56/110,
    /// torchvision's resnet18/34/50, or on precomputed features (--dataset features:FILE)
    /// linear or mlp (Adam 0.001, cosine, batch 256). Each brings its own recipe (above).
    #[arg(long, default_value = "lenet++")]
    model: ModelKind,
    /// resnet18/34/50's first layers: cifar (3x3 conv, stride 1, no pooling), imagenet
    /// (7x7 conv stride 2, max-pool), or auto: cifar up to 64 pixels a side.
    #[arg(long, default_value = "auto")]
    stem: Stem,
    /// The paper's simplex (d = 9 for MNIST), orthoplex (d = 5) or cube (d = 4); beyond it,
    /// hadamard (d = 16 unless --dim), polygon (d = 2) or spread (needs --dim).
    #[arg(long, default_value = "simplex")]
    polytope: PolytopeKind,
    /// Feature dimension d for hadamard and spread (the others fix d from the classes).
    #[arg(long)]
    dim: Option<usize>,
    /// fixed: the polytope's vertices, never trained; learnable: the paper's baseline.
    #[arg(long, default_value = "fixed")]
    head: HeadKind,
    /// softmax (Eq. 6), cosine (Eq. 8, normalised, scaled by s) or margin (Eq. 9).
    #[arg(long, default_value = "margin")]
    loss: LossKind,
    /// Scale s of the normalised logits.
    #[arg(long, default_value_t = 30.0)]
    scale: f64,
    /// Additive angular margin: auto (= phi of the polytope) or degrees in (0, 180).
    #[arg(long, default_value = "auto")]
    margin: MarginSetting,
    /// Epochs over which the margin rises linearly from 0, step by step: auto or a number.
    #[arg(long, default_value = "auto")]
    margin_warmup: WarmupSetting,
    /// Passes over the training set (6: where the fixed simplex levels off, RESULTS.md).
    #[arg(long, default_value_t = reponet::train::DEFAULT_EPOCHS)]
    epochs: usize,
    /// Images per step [default: 512 for lenet++, 128 for the ResNets].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Base learning rate [default: 0.0005 (Adam) for lenet++, 0.1 (SGD) for the ResNets].
    #[arg(long)]
    lr: Option<f64>,
    /// adam (betas 0.9 / 0.999, eps 1e-8) or sgd (momentum 0.9)
    /// [default: adam for lenet++, sgd for the ResNets].
    #[arg(long)]
    optimizer: Option<OptimizerKind>,
    /// Nesterov momentum, with --optimizer sgd.
    #[arg(long)]
    nesterov: bool,
    /// L2 weight decay [default: 0 for lenet++, 5e-4 for the ResNets].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// How the rate changes over the run: constant, cosine (down to 0 at the last step) or
    /// step:E1,E2 (divided by 10 from each of those epochs on)
    /// [default: constant for lenet++, cosine for the ResNets].
    #[arg(long, value_name = "constant|cosine|step:E1,E2")]
    lr_schedule: Option<LrSchedule>,
    /// Epochs over which the rate rises linearly from 0, step by step, before the schedule.
    #[arg(long, default_value_t = 0.0)]
    lr_warmup: f64,
    /// Training images: none, crop (a random crop of the image padded by 4 black pixels) or
    /// crop-flip (and mirrored half the time) [default: none for lenet++; for the ResNets
    /// crop-flip, or crop on digits and letters, which are never mirrored].
    #[arg(long)]
    augment: Option<Augment>,
    /// Start resnet18/34/50 from pretrained weights: a PyTorch state dict (.pth / .pt,
    /// also nested under state_dict or model) or .safetensors, under torchvision's or timm's
    /// names (docs/pretrained.md). Read without running any code; the imagenet stem, RGB
    /// images, 224 x 224 for folder datasets unless --image-size, ImageNet's normalisation
    /// unless --input-norm.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// none: everything trains (fine-tuning); backbone: only the projection to d and its
    /// batch norm train, the ResNet's stem and stages and their batch-norm statistics stay as
    /// they started (a linear probe onto the polytope).
    #[arg(long, default_value = "none")]
    freeze: Freeze,
    /// Input normalisation: dataset (the registry's, or measured on the training images) or
    /// imagenet (what pretrained ResNets expect) [default: imagenet with --weights, else
    /// dataset].
    #[arg(long)]
    input_norm: Option<InputNorm>,
    /// --model mlp: the width of its hidden layers [default: 512].
    #[arg(long, value_name = "N")]
    hidden: Option<usize>,
    /// --model mlp: how many hidden layers of --hidden values [default: 1].
    #[arg(long, value_name = "K")]
    hidden_layers: Option<usize>,
    /// Seeds initialisation and shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Train on the first N training images only.
    #[arg(long)]
    limit_train: Option<usize>,
    /// Test on the first N test images only.
    #[arg(long)]
    limit_test: Option<usize>,
    /// Leave classes out of training, to measure recognition of unseen classes: N (drawn
    /// from --seed) or a list of class indices such as 1,4,7 (one class: 7,). Training,
    /// accuracy and the polytope use the other classes; `reponet eval` adds retrieval and
    /// verification among the held-out classes' test images.
    #[arg(long, value_name = "N|LIST")]
    holdout_classes: Option<HoldoutSetting>,
    /// Also checkpoint within an epoch: after a time (90s, 10m, 1h), every N steps
    /// (500steps), or only at the end of each epoch (epoch). A SIGKILL, power cut or OOM kill
    /// then loses at most that much work; --resume continues bit for bit.
    #[arg(long, value_name = "TIME|Nsteps|epoch", default_value_t = CheckpointEvery::DEFAULT)]
    checkpoint_every: CheckpointEvery,
}

/// Train, or under `mpirun` train as one rank of a data-parallel job: rank 0 prints and
/// writes the run; every rank reports its weights' SHA-256 at the end (they must agree).
pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let stop = stop_on_signals()?;
    let world = ctx.world;
    let root = world.is_root();
    let comm = world.comm();
    let mut progress = ProgressObserver::new(stop.clone(), &ctx.out);
    let mut stop_only = StopOnly(stop);
    let observer: &mut dyn TrainObserver = if root { &mut progress } else { &mut stop_only };
    let log = |line: String| {
        if root {
            ctx.out.log(line)
        }
    };
    let (out, result) = match &args.resume {
        Some(dir) => {
            // Refuse a run another process trains before saying what resuming would do.
            if root && dir.is_dir() {
                drop(train::RunLock::acquire(dir).map_err(crate::errors::in_flag_words)?);
            }
            let fresh = dir.join(train::RunDir::CONFIG).exists()
                && !dir.join(train::RunDir::CHECKPOINT).exists()
                && !dir.join(train::RunDir::SUMMARY).exists();
            log(if fresh {
                format!(
                    "{}: no checkpoint yet: starting the run from the beginning with its saved configuration",
                    dir.display()
                )
            } else {
                format!("resuming {}", dir.display())
            });
            let result = train::resume_data_parallel(dir, &ctx.compute, observer, comm);
            (dir.clone(), result)
        }
        None => {
            let out = args
                .out
                .clone()
                .expect("clap requires --out without --resume");
            let force = args.force;
            let prepared = prepared_run(args, &log)?;
            if comm.size() > 1 {
                log(format!(
                    "data-parallel over {} processes: each takes its share of every batch of {}",
                    comm.size(),
                    prepared.resolved.request.batch_size
                ));
            }
            let result = train::train_prepared(prepared, &out, force, &ctx.compute, observer, comm);
            (out, result)
        }
    };
    let summary = match result {
        Err(TrainError::Interrupted { epoch, step, .. }) => {
            if root {
                eprintln!(
                    "interrupted at epoch {epoch} after step {step}: checkpoint saved in {}.\nresume with: reponet train --resume {}",
                    out.display(),
                    out.display()
                );
            }
            std::process::exit(130);
        }
        other => other.map_err(crate::errors::in_flag_words)?,
    };
    if comm.size() > 1 {
        eprintln!(
            "{}weights sha256 {}",
            world.label(),
            summary.weights_sha256.as_deref().unwrap_or("-")
        );
    }
    if !root {
        return Ok(());
    }
    ctx.out.json(&summary)?;
    ctx.out.text(format_args!(
        "done in {:.0} s: test accuracy {:.2} % (best {:.2} %). Run folder: {}",
        summary.total_seconds,
        summary.final_test_accuracy,
        summary.best_test_accuracy,
        out.display()
    ));
    log(format!("next: reponet eval {}", out.display()));
    Ok(())
}

/// The observer of ranks other than 0: silent, but it sees Ctrl-C and SIGTERM.
struct StopOnly(Arc<AtomicBool>);

impl TrainObserver for StopOnly {
    fn should_stop(&mut self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The configuration the options ask for, checked, its folder dataset scanned once.
fn prepared_run(mut args: Args, log: &dyn Fn(String)) -> Result<PreparedRun> {
    match (args.cifar100_labels.as_deref(), args.dataset.as_str()) {
        (None | Some("fine"), _) => {}
        (Some("coarse"), "cifar100") => args.dataset = "cifar100-coarse".into(),
        (Some(labels), other) => {
            anyhow::bail!("--cifar100-labels {labels}: applies to --dataset cifar100, not {other}")
        }
    }
    let recipe = TrainConfig::paper_defaults(None).with_model(args.model);
    // The recipe's flips are left out on digits and letters (a mirrored 3 is no 3).
    let augment = match args.augment {
        Some(a) => a,
        None if recipe.augment.flips()
            && reponet::data::dataset(&args.dataset).is_ok_and(|d| !d.mirrorable) =>
        {
            log(format!(
                "augmentation: crop (no flips: {} holds digits or letters)",
                args.dataset
            ));
            Augment::Crop
        }
        None => recipe.augment,
    };
    let mut folder = FolderOptions {
        skip_bad_images: args.skip_bad_images,
        ..args.folder.options()
    };
    if args.weights.is_some() && args.dataset.starts_with(FOLDER_PREFIX) {
        // Pretrained ImageNet ResNets see 224 x 224 RGB images.
        folder.image_size = folder.image_size.or(Some([224, 224]));
        folder.channels = folder.channels.or(Some(3));
    }
    let input_norm = args.input_norm.unwrap_or(if args.weights.is_some() {
        InputNorm::Imagenet
    } else {
        InputNorm::Dataset
    });
    let config = TrainConfig {
        dataset: args.dataset,
        folder,
        data_dir: args.data_dir,
        polytope: args.polytope,
        dim: args.dim,
        head: args.head,
        loss: args.loss,
        scale: args.scale,
        margin: args.margin,
        margin_warmup: args.margin_warmup,
        epochs: args.epochs,
        batch_size: args.batch_size.unwrap_or(recipe.batch_size),
        lr: args.lr.unwrap_or(recipe.lr),
        seed: args.seed,
        limit_train: args.limit_train,
        limit_test: args.limit_test,
        holdout_classes: args.holdout_classes,
        checkpoint_every: args.checkpoint_every,
        model: args.model,
        stem: args.stem,
        optimizer: args.optimizer.unwrap_or(recipe.optimizer),
        nesterov: args.nesterov,
        weight_decay: args.weight_decay.unwrap_or(recipe.weight_decay),
        lr_schedule: args.lr_schedule.unwrap_or(recipe.lr_schedule),
        lr_warmup: args.lr_warmup,
        augment,
        weights: args.weights,
        freeze: args.freeze,
        input_norm,
        hidden: args.hidden,
        hidden_layers: args.hidden_layers,
    };
    let prepared = config.prepare().map_err(crate::errors::in_flag_words)?;
    let resolved = &prepared.resolved;
    if let Some(weights) = &config.weights {
        log(format!(
            "starting from {} (sha256 {}), {} stem, input normalised as {}{}",
            weights.display(),
            resolved.weights_sha256.as_deref().unwrap_or("-"),
            resolved.request.stem,
            config.input_norm,
            if config.freeze == Freeze::Backbone {
                "; backbone frozen: only the projection to d trains"
            } else {
                ""
            }
        ));
    }
    if !resolved.held_out.is_empty() {
        log(format!(
            "held out of training: classes {} (evaluated as unseen classes by `reponet eval`)",
            reponet::train::class_list(&resolved.held_out, ", ")
        ));
    }
    if config.dataset.starts_with(FOLDER_PREFIX) {
        log(format!(
            "{}: {} classes, images read as {} (channels x rows x cols)",
            resolved.request.dataset, resolved.classes, resolved.input
        ));
    }
    log(format!(
        "training {} -> {}-{} ({} head, {} outputs), {} loss, s = {}, m = {:.3} deg, warm-up {} epoch(s)",
        config.model,
        resolved.dim,
        config.polytope,
        config.head,
        resolved.num_outputs,
        config.loss,
        config.scale,
        resolved.margin_degrees,
        resolved.warmup_epochs
    ));
    log(format!(
        "recipe: {} lr {}{}{}, {} schedule{}, batch {}, augmentation {}",
        config.optimizer,
        config.lr,
        if config.nesterov { " (Nesterov)" } else { "" },
        if config.weight_decay > 0.0 {
            format!(", weight decay {}", config.weight_decay)
        } else {
            String::new()
        },
        config.lr_schedule,
        if config.lr_warmup > 0.0 {
            format!(" after a {}-epoch warm-up", config.lr_warmup)
        } else {
            String::new()
        },
        config.batch_size,
        config.augment
    ));
    Ok(prepared)
}
