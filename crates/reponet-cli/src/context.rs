//! What every command is handed: where to compute, the job it belongs to, and how to print.
//!
//! Results go to standard output (as text, or as JSON with `--json`); progress, notes and
//! logs go to standard error, quieted by `-q` and widened by `-v`.

use std::io::IsTerminal;

use reponet::device::Compute;
use serde::Serialize;

use crate::world::World;

/// The command's surroundings, built once in `main` from the global options.
pub struct Ctx<'a> {
    /// The device, GPU index and convolution kernels the library computes with.
    pub compute: Compute,
    /// Alone, or one rank of an MPI job.
    pub world: &'a World,
    /// How to print.
    pub out: Output,
}

/// How much to say on standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Progress and notes.
    Normal,
    /// `-v`: also what was chosen and why (devices, kernels, files read).
    Verbose,
}

/// Where and how results and logs are printed.
pub struct Output {
    /// Results as JSON on standard output instead of text.
    pub json: bool,
    /// How much goes to standard error.
    pub verbosity: Verbosity,
    /// Whether standard error is a terminal and NO_COLOR is unset: progress bars then.
    pub interactive: bool,
}

impl Output {
    pub fn new(json: bool, quiet: bool, verbose: u8) -> Self {
        let verbosity = match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, _) => Verbosity::Verbose,
        };
        // NO_COLOR (no-color.org): any non-empty value turns colour and animation off.
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Self {
            json,
            verbosity,
            interactive: std::io::stderr().is_terminal() && !no_color,
        }
    }

    /// A progress line or note, on standard error (not with `-q`).
    pub fn log(&self, line: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{line}");
        }
    }

    /// A detail for `-v`, on standard error.
    pub fn detail(&self, line: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{line}");
        }
    }

    /// A result line on standard output, unless results are JSON.
    pub fn text(&self, line: impl std::fmt::Display) {
        if !self.json {
            println!("{line}");
        }
    }

    /// The command's result as JSON on standard output, if `--json` asked for it.
    pub fn json<T: Serialize>(&self, value: &T) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        }
        Ok(())
    }
}
