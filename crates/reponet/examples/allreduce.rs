//! What data-parallel training sends: the all-reduce of one step's gradient, timed for
//! LeNet++ with a fixed or a learnable head, and for many-class heads (K up to 100,000, d =
//! 128 and 512) where a learnable head adds K x d gradients that a fixed head never sends.
//!
//!   mpirun -np 2 target/release/examples/allreduce            (build: --features mpi)
//!
//! Prints one JSON line per case from rank 0: values, bytes, median and min seconds of 20
//! all-reduces after 3 warm-up ones.

use std::time::Instant;

use reponet::distributed::{Collective, Mpi};

/// LeNet++'s trainable parameters without its last linear layer (1152 -> d).
const BACKBONE_WITHOUT_LINEAR: usize = 805_231 - (1152 * 9 + 9);

fn main() {
    let comm = Mpi::from_launcher().expect("start with mpirun");
    let mut cases: Vec<(String, usize)> = Vec::new();
    let lenet = |d: usize| BACKBONE_WITHOUT_LINEAR + 1152 * d + d;
    cases.push(("lenet++ d=9 fixed".into(), lenet(9)));
    cases.push(("lenet++ d=9 learnable".into(), lenet(9) + 10 * 9));
    for d in [128, 512] {
        for k in [1_000, 10_000, 100_000] {
            cases.push((format!("lenet++ d={d} K={k} fixed"), lenet(d)));
            cases.push((format!("lenet++ d={d} K={k} learnable"), lenet(d) + k * d));
        }
    }
    for (name, values) in cases {
        let mut buffer = vec![1.0f32; values];
        let mut times = Vec::new();
        for round in 0..23 {
            let start = Instant::now();
            comm.sum_f32(&mut buffer);
            if round >= 3 {
                times.push(start.elapsed().as_secs_f64());
            }
        }
        times.sort_by(f64::total_cmp);
        if comm.rank() == 0 {
            println!(
                "{{\"case\": \"{name}\", \"ranks\": {}, \"values\": {values}, \"bytes\": {}, \"median_s\": {:.6}, \"min_s\": {:.6}}}",
                comm.size(),
                values * 4,
                times[times.len() / 2],
                times[0]
            );
        }
    }
}
