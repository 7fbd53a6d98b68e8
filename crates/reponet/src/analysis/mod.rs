//! What trained runs are worth: accuracy overall and per class, the angles of
//! the features (compactness, separation), and tables across runs.

mod evaluation;
mod feature_geometry;
mod runs_table;

pub use evaluation::{evaluate_run, ClassAccuracy, Evaluation};
pub use feature_geometry::{feature_geometry, FeatureGeometry};
pub use runs_table::{runs_markdown_table, RunRecord};
