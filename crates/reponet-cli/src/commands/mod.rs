pub mod data;
pub mod demo;
pub mod embed;
pub mod eval;
pub mod plot;
pub mod polytope;
pub mod report;
pub mod train;
