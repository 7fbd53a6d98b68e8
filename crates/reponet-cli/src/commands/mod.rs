pub mod data;
pub mod eval;
pub mod polytope;
pub mod report;
pub mod train;
