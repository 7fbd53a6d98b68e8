use std::path::Path;

use rand::{Rng, SeedableRng};

use super::{write_idx, DataError};

/// Write a small, easily learnable 10-class dataset in MNIST's layout and file names into
/// `dir`: class c is a bright 8x8 block at cell c of a 4x3 grid, jittered by up to 2 pixels,
/// over faint noise. For smoke tests and demos without downloading anything; it is not MNIST.
pub fn write_synthetic_mnist(
    dir: &Path,
    train: usize,
    test: usize,
    seed: u64,
) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for (stem, n) in [("train", train), ("t10k", test)] {
        let mut pixels = vec![0u8; n * 28 * 28];
        let mut labels = vec![0u8; n];
        for i in 0..n {
            let class = (i % 10) as u8;
            labels[i] = class;
            let image = &mut pixels[i * 784..(i + 1) * 784];
            image.iter_mut().for_each(|p| *p = rng.random_range(0..40));
            let (row0, col0) = (2 + 6 * (class as usize / 3), 2 + 8 * (class as usize % 3));
            let (dr, dc) = (rng.random_range(0..=2), rng.random_range(0..=2));
            for r in row0 + dr..row0 + dr + 8 {
                for c in col0 + dc..(col0 + dc + 8).min(28) {
                    image[r.min(27) * 28 + c] = rng.random_range(200..=255);
                }
            }
        }
        write_idx(
            &dir.join(format!("{stem}-images-idx3-ubyte.gz")),
            &[n, 28, 28],
            &pixels,
        )?;
        write_idx(
            &dir.join(format!("{stem}-labels-idx1-ubyte.gz")),
            &[n],
            &labels,
        )?;
    }
    Ok(())
}
