//! Time the exact retrieval and verification metrics on random clustered embeddings.
//!
//!   cargo run --release -p reponet --example retrieval_speed -- 20000 9 10
//!
//! Arguments: embeddings (default 20,000), dimension (9), classes (10).

use rand::{Rng, SeedableRng};
use reponet::analysis::retrieval_metrics;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let (n, dim, classes) = (
        *args.first().unwrap_or(&20_000),
        *args.get(1).unwrap_or(&9),
        *args.get(2).unwrap_or(&10),
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let centres: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % classes) as u8).collect();
    let features: Vec<f32> = labels
        .iter()
        .flat_map(|&l| {
            let c = centres[l as usize].clone();
            c.into_iter()
                .map(|x| x + rng.random_range(-0.4..0.4))
                .collect::<Vec<_>>()
        })
        .collect();
    let m = retrieval_metrics(&features, dim, &labels, 0);
    println!(
        "{n} embeddings, d = {dim}, {classes} classes: {:.2} s (precision@1 {:.4}, MAP@R {:.4}, {} positive and {} negative pairs, {} threads)",
        m.seconds,
        m.precision_at_1,
        m.map_at_r,
        m.positive_pairs,
        m.negative_pairs,
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
}
