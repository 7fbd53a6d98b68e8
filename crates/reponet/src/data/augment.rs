//! Training-time augmentation: a random crop of the image padded with black, and a
//! horizontal flip, drawn per image from a generator seeded by the run's seed, the epoch
//! and the step, so a resumed run draws exactly what an uninterrupted one did.

use rand::{Rng, SeedableRng};

use super::ImageShape;
use crate::train::Augment;

/// What is done to one image: where the crop window starts in the padded image, and
/// whether it is mirrored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    /// Rows of padding above the window's top edge (0 to 2 x pad; pad: the image unmoved).
    pub dy: usize,
    /// Columns likewise.
    pub dx: usize,
    /// Mirror left to right.
    pub flip: bool,
}

/// The draws of step `step` (0-based) of `epoch` for a batch of `n` images; `None` without
/// augmentation.
pub fn batch_draws(
    augment: Augment,
    seed: u64,
    epoch: usize,
    step: usize,
    n: usize,
) -> Option<Vec<Draw>> {
    if augment == Augment::None {
        return None;
    }
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(
        seed ^ 0x4175_676D_656E_7421
            ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (step as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    let span = 2 * Augment::PAD + 1;
    Some(
        (0..n)
            .map(|_| Draw {
                dy: rng.random_range(0..span),
                dx: rng.random_range(0..span),
                flip: augment.flips() && rng.random_bool(0.5),
            })
            .collect(),
    )
}

/// `image` (channel planes, each row-major) padded by [`Augment::PAD`] black pixels, cropped
/// back to its size at `draw`'s offset and mirrored if drawn, written to `out`.
pub fn augment_image(image: &[u8], shape: ImageShape, draw: Draw, out: &mut [u8]) {
    let (rows, cols) = (shape.rows as isize, shape.cols as isize);
    let pad = Augment::PAD as isize;
    let plane = shape.rows * shape.cols;
    for c in 0..shape.channels {
        let src = &image[c * plane..(c + 1) * plane];
        let dst = &mut out[c * plane..(c + 1) * plane];
        for r in 0..rows {
            let sr = r + draw.dy as isize - pad;
            for col in 0..cols {
                // The output column `col` shows the cropped image's column `col`, or its
                // mirror image's.
                let cc = if draw.flip { cols - 1 - col } else { col };
                let sc = cc + draw.dx as isize - pad;
                let inside = (0..rows).contains(&sr) && (0..cols).contains(&sc);
                dst[(r * cols + col) as usize] = if inside {
                    src[(sr * cols + sc) as usize]
                } else {
                    0
                };
            }
        }
    }
}
