//! `mnist-sample`: the 10,000 MNIST test digits, compiled in, split 8,000 / 2,000.

use std::path::Path;

use super::idx::parse_idx_bytes;
use super::{DataError, DataSplit, ImageSet};

const IMAGES: &[u8] = include_bytes!("../../assets/mnist-sample/t10k-images-idx3-ubyte.gz");
const LABELS: &[u8] = include_bytes!("../../assets/mnist-sample/t10k-labels-idx1-ubyte.gz");

/// Every fifth image (index % 5 == 4) is a test image: both splits then mix the easier first
/// half of MNIST's test set (NIST SD-3) with the harder second half (SD-1).
fn is_test(index: usize) -> bool {
    index % 5 == 4
}

/// One split of the built-in sample.
pub fn load_sample(split: DataSplit) -> Result<ImageSet, DataError> {
    let images = parse_idx_bytes(Path::new("<built-in mnist-sample images>"), IMAGES)?;
    let labels = parse_idx_bytes(Path::new("<built-in mnist-sample labels>"), LABELS)?;
    let all = ImageSet {
        pixels: images.data,
        labels: labels.data,
        channels: 1,
        rows: images.dims[1],
        cols: images.dims[2],
        classes: 10,
        features: Vec::new(),
    };
    Ok(match split {
        DataSplit::Train => all.select(|i| !is_test(i)),
        DataSplit::Test => all.select(is_test),
    })
}
