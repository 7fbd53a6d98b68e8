//! `reponet`: train and inspect networks with fixed regular-polytope classifiers.
//!
//! The CLI parses options, calls the `reponet` library and prints; nothing else lives here.

mod commands;
mod context;
mod errors;
mod progress;
mod world;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reponet::device::{Compute, ComputeDevice, ConvKernels};

use context::{Ctx, Output};

/// Maximally compact and separated features with fixed regular-polytope classifiers.
///
/// reponet trains networks whose last layer is not learned: its weights are the vertices
/// of a regular polytope (d-Simplex, d-Orthoplex or d-Cube), and an additive angular
/// margin equal to the angle between neighbouring vertices pulls every feature onto its
/// class vertex (Pernici et al., "Maximally Compact and Separated Features with Regular
/// Polytope Networks", arXiv 2301.06116).
///
/// Start here (mnist-sample is built in: no download needed):
///   reponet demo                      a fixed and a learnable head compared, in a minute or two
///   reponet polytope --kind simplex --classes 10
///   reponet train --dataset mnist-sample --epochs 1 --batch-size 64 --out runs/sample
///   reponet data fetch mnist
///   reponet train --out runs/simplex
///   reponet eval runs/simplex
///   reponet report runs/*
#[derive(Parser)]
#[command(name = "reponet", version, about, long_about, verbatim_doc_comment)]
pub struct Cli {
    /// Where to compute: cpu (the default), wgpu, cuda, libtorch, libtorch-cuda (GPU and
    /// LibTorch builds: docs/gpu.md). REPONET_CONV=burn runs Burn's CPU convolutions instead
    /// of reponet's kernels
    #[arg(
        long,
        global = true,
        default_value = "cpu",
        hide_possible_values = true,
        help_heading = "Global options"
    )]
    device: ComputeDevice,
    /// Print the command's results as JSON on standard output (progress stays on stderr)
    #[arg(long, global = true, help_heading = "Global options")]
    json: bool,
    /// Print only results and errors: no progress or notes on standard error
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    quiet: bool,
    /// Also say what was chosen and why (device, kernels, files)
    #[arg(
        short,
        long,
        global = true,
        action = clap::ArgAction::Count,
        help_heading = "Global options"
    )]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(commands::demo::Args),
    Polytope(commands::polytope::Args),
    Data(commands::data::Args),
    Train(Box<commands::train::Args>),
    Eval(commands::eval::Args),
    Embed(commands::embed::Args),
    Export(commands::export::Args),
    Predict(commands::predict::Args),
    Plot(commands::plot::Args),
    Report(commands::report::Args),
    Reproduce(commands::reproduce::Args),
    Bench(commands::bench::Args),
    Completions(commands::completions::Args),
}

fn main() -> ExitCode {
    // Output piped into `head` and the like: end quietly when the reader goes, as other
    // command-line tools do, instead of panicking on a broken pipe.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    keep_freed_memory();
    let cli = Cli::parse();
    let world = world::World::join();
    let compute = match compute_of(&cli, &world) {
        Ok(compute) => compute,
        Err(err) => {
            eprintln!("{}error: {err}", world.label());
            world.exit(1);
        }
    };
    let ctx = Ctx {
        compute,
        world: &world,
        out: Output::new(cli.json, cli.quiet, cli.verbose),
    };
    ctx.out
        .detail(format_args!("computing on {}", compute.describe()));
    let result = match cli.command {
        Command::Polytope(args) => commands::polytope::run(args, &ctx),
        Command::Train(args) => commands::train::run(*args, &ctx),
        Command::Eval(args) => commands::eval::run(args, &ctx),
        Command::Report(args) => commands::report::run(args, &ctx),
        Command::Reproduce(args) => commands::reproduce::run(args, &ctx),
        Command::Data(args) => commands::data::run(args, &ctx),
        Command::Embed(args) => commands::embed::run(args, &ctx),
        Command::Export(args) => commands::export::run(args, &ctx),
        Command::Predict(args) => commands::predict::run(args, &ctx),
        Command::Plot(args) => commands::plot::run(args, &ctx),
        Command::Demo(args) => commands::demo::run(args, &ctx),
        Command::Bench(args) => commands::bench::run(args, &ctx),
        Command::Completions(args) => commands::completions::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}error: {}", world.label(), error_text(&err));
            world.exit(1)
        }
    }
}

/// `err` and its causes, each cause once: library errors often quote their source already
/// (`/missing: No such file or directory`), and anyhow's `{:#}` would repeat it.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// The `--device` of this build, on the local rank's GPU in an MPI job, with the
/// convolution kernels `REPONET_CONV` names (reponet's by default): the only place the
/// environment chooses how the library computes.
fn compute_of(cli: &Cli, world: &world::World) -> anyhow::Result<Compute> {
    let conv = match std::env::var("REPONET_CONV") {
        Ok(name) if !name.is_empty() => name
            .parse::<ConvKernels>()
            .map_err(|_| anyhow::anyhow!("REPONET_CONV={name}: expected reponet or burn"))?,
        _ => ConvKernels::default(),
    };
    let compute = Compute {
        device: cli.device,
        gpu: world.local_rank(),
        conv,
    };
    compute.burn_device().map_err(anyhow::Error::msg)?;
    Ok(compute)
}

// mimalloc reuses freed tensor buffers instead of returning them to the OS: half the
// system time (page faults) of glibc malloc here, +7 % training img/s.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tell mimalloc never to purge (decommit) freed memory: a training step frees and
/// reallocates the same large activation buffers every step, and each purge made the
/// kernel zero those pages again on the next step (`clear_page_erms`, 10 % of a step).
/// Costs nothing in peak memory, which the same buffers set. `MIMALLOC_PURGE_DELAY` in the
/// environment does the same but is read before `main`, so users would have to know it.
fn keep_freed_memory() {
    extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    // `mi_option_purge_delay` in mimalloc's v2 and v3 headers (libmimalloc-sys 0.1.49
    // exports the function but not this option's name).
    const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;
    // SAFETY: mimalloc is linked (the global allocator above); options may be set at any time.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}
