pub mod eval;
pub mod polytope;
pub mod train;
