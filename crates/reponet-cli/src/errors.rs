//! The library's errors in the command line's words: its settings become flags, and where
//! the remedy is a flag, the message names it.

use reponet::geometry::GeometryError;
use reponet::train::TrainError;

/// `err` as the user of `reponet train` (or of a command that trains) should read it.
pub fn in_flag_words(err: TrainError) -> anyhow::Error {
    let message = match &err {
        TrainError::Config(setting) => format!(
            "{} {}: {}",
            flag(setting.field),
            setting.value,
            setting.problem
        ),
        TrainError::OutputExists { path } if path.join("summary.json").exists() => format!(
            "output folder {} holds a finished run: choose another --out, or pass --force to train it again from the start (`reponet eval {}` evaluates it)",
            path.display(),
            path.display()
        ),
        TrainError::OutputExists { path } => format!(
            "output folder {} exists and is not empty: choose another --out, pass --force to overwrite it, or continue an interrupted run with --resume {}",
            path.display(),
            path.display()
        ),
        TrainError::Memory { .. } => format!("{err} (--limit-train, --batch-size)"),
        TrainError::Diverged { .. } => format!("{err} (--lr, --margin-warmup)"),
        TrainError::Geometry(GeometryError::DimNeeded) => format!("{err}: give --dim D"),
        TrainError::Geometry(GeometryError::SpreadTooLarge { .. }) => {
            format!("{err} (--polytope hadamard)")
        }
        TrainError::Geometry(GeometryError::Degenerate { .. }) => {
            format!("{err} (--dim, or --polytope spread)")
        }
        _ => return err.into(),
    };
    anyhow::anyhow!(message)
}

/// The flag of a `TrainConfig` field: `batch_size` is `--batch-size`.
fn flag(field: &str) -> String {
    format!("--{}", field.replace('_', "-"))
}
