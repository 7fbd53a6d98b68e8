//! # reponet
//!
//! Maximally compact and separated features with fixed regular-polytope classifiers
//! ("Margin RePoNet", Pernici et al., arXiv 2301.06116), on Burn.
//!
//! [`atomic_file`], [`resources`] (memory checked before work starts), [`machine`] (what
//! reports say of the computer) and [`device`] (where and how to compute: a value passed to
//! training, evaluation and benchmarks) sit under every layer. The CPU convolution kernels
//! are their own crate, `reponet-conv`. Layers, lowest first; a layer only uses the ones above it in this list:
//! - [`geometry`]: the d-Simplex, d-Orthoplex and d-Cube in plain `f64`.
//! - [`nn`]: fixed and learnable cosine heads, the three losses, the margin warm-up, LeNet++.
//! - [`data`]: the dataset registry, IDX files, where data lives, fetching and verifying.
//! - [`train`]: configuration, run directories, the training loop, inference.
//! - [`analysis`]: evaluation of a trained run: accuracy, feature angles, retrieval,
//!   embeddings, figures, reports.
//! - [`reproduce`]: the paper's experiment grid as runs, and its report.
//! - [`distributed`]: data-parallel training over MPI (one process: no communication).
//! - [`bench`]: throughput and memory of LeNet++ and of many-class heads.

// Every public item is documented; CI's clippy -D warnings keeps it so.
#![warn(missing_docs)]

pub mod analysis;
pub mod atomic_file;
pub mod bench;
pub mod data;
pub mod device;
pub mod distributed;
pub mod geometry;
pub mod machine;
pub mod nn;
pub mod reproduce;
pub mod resources;
pub mod train;
