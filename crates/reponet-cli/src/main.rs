//! `reponet`: train and inspect networks with fixed regular-polytope classifiers.
//!
//! The CLI parses options, calls the `reponet` library and prints; nothing else lives here.

mod commands;
mod progress;
mod world;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Maximally compact and separated features with fixed regular-polytope classifiers.
///
/// reponet trains networks whose last layer is not learned: its weights are the vertices
/// of a regular polytope (d-Simplex, d-Orthoplex or d-Cube), and an additive angular
/// margin equal to the angle between neighbouring vertices pulls every feature onto its
/// class vertex (Pernici et al., "Maximally Compact and Separated Features with Regular
/// Polytope Networks", arXiv 2301.06116).
///
/// Start here (mnist-sample is built in: no download needed):
///   reponet demo                      a fixed and a learnable head compared, in about a minute
///   reponet polytope --kind simplex --classes 10
///   reponet train --dataset mnist-sample --epochs 1 --out runs/sample
///   reponet data fetch mnist
///   reponet train --out runs/simplex
///   reponet eval runs/simplex
///   reponet report runs/*
#[derive(Parser)]
#[command(name = "reponet", version, about, long_about, verbatim_doc_comment)]
pub struct Cli {
    /// Where to compute: cpu (Burn's flex backend, every build), wgpu (a GPU through Vulkan,
    /// Metal or DirectX; builds with `--features wgpu`), cuda (an NVIDIA GPU; `--features
    /// cuda`, whose build downloads LLVM), libtorch or libtorch-cuda (PyTorch's own library
    /// on the CPU or a CUDA GPU; `--features tch`). README.md, "GPU", tells how to build each
    #[arg(
        long,
        global = true,
        default_value = "cpu",
        value_name = "cpu|wgpu|cuda|libtorch|libtorch-cuda"
    )]
    device: reponet::device::ComputeDevice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Demo(commands::demo::Args),
    Polytope(commands::polytope::Args),
    Data(commands::data::Args),
    Train(commands::train::Args),
    Eval(commands::eval::Args),
    Embed(commands::embed::Args),
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
    if let Err(err) = reponet::device::select(cli.device) {
        eprintln!("{}error: {err}", world.label());
        world.exit(1);
    }
    let result = match cli.command {
        Command::Polytope(args) => commands::polytope::run(args),
        Command::Train(args) => commands::train::run(args, &world),
        Command::Eval(args) => commands::eval::run(args),
        Command::Report(args) => commands::report::run(args),
        Command::Reproduce(args) => commands::reproduce::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Embed(args) => commands::embed::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Completions(args) => commands::completions::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{}error: {err:#}", world.label());
            world.exit(1)
        }
    }
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
