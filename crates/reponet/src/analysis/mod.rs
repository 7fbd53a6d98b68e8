//! What trained runs are worth: accuracy overall and per class, the angles of
//! the features (compactness, separation), retrieval and verification, and tables across
//! runs; a trained model exported for use elsewhere.

mod backbone_features;
mod embeddings;
mod error;
mod evaluation;
mod export;
mod feature_geometry;
#[cfg(feature = "plot")]
pub mod plot;
pub mod predict;
mod report;
#[cfg(feature = "plot")]
mod report_files;
mod retrieval;
mod runs_table;
mod safetensors;

pub use backbone_features::PretrainedBackbone;
pub use embeddings::{embed_images, embed_run, write_embeddings, Embeddings};
pub use error::AnalysisError;
pub use evaluation::{evaluate_run, ClassAccuracy, Evaluation};
pub use export::export_run;
pub use feature_geometry::{feature_geometry, AngleStats, ClassGeometry, FeatureGeometry};
pub use report::{report_html, report_markdown, ReportRun};
#[cfg(feature = "plot")]
pub use report_files::{load_report_runs, write_report};
pub use retrieval::{retrieval_metrics, RetrievalMetrics, TarAtFar, FARS, MAX_NEGATIVE_PAIRS};
pub use runs_table::{runs_markdown_table, RunRecord};
