//! What a trained run is worth: accuracy overall and per class.

mod evaluation;

pub use evaluation::{evaluate_run, ClassAccuracy, Evaluation};
