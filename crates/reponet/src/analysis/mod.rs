//! What trained runs are worth: accuracy overall and per class, the angles of
//! the features (compactness, separation), retrieval and verification, and tables across
//! runs.

mod embeddings;
mod evaluation;
mod feature_geometry;
#[cfg(feature = "plot")]
pub mod plot;
mod report;
mod retrieval;
mod runs_table;

pub use embeddings::{embed_run, write_embeddings, Embeddings};
pub use evaluation::{evaluate_run, ClassAccuracy, Evaluation};
pub use feature_geometry::{feature_geometry, AngleStats, ClassGeometry, FeatureGeometry};
pub use report::{report_html, report_markdown, ReportRun};
pub use retrieval::{retrieval_metrics, RetrievalMetrics, TarAtFar, FARS, MAX_NEGATIVE_PAIRS};
pub use runs_table::{runs_markdown_table, RunRecord};
