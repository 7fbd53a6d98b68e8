//! How a batch is cut into work: images per parallel task, and images per GEMM.

use super::shape::ConvShape;
use super::winograd;

/// Images per parallel task: enough tasks to keep every thread busy (4 per thread,
/// for balance), but whole images so each task reuses one scratch buffer.
pub(super) fn images_per_task(s: &ConvShape) -> usize {
    let tasks = 4 * rayon::current_num_threads();
    s.n.div_ceil(tasks).max(1)
}

/// Images per GEMM: small feature maps (LeNet++'s 7x7 and 14x14) are grouped side by
/// side so each GEMM has at least `MIN_GEMM_COLUMNS` columns; one 49-column GEMM per
/// image spent more time packing than multiplying.
pub(super) fn images_per_gemm(s: &ConvShape) -> usize {
    const MIN_GEMM_COLUMNS: usize = 512;
    // Winograd's GEMMs have a column per tile: group for at least this many. Small
    // enough that a group's transformed input and products (positions x (c + o) x tiles
    // values) stay near the cores' 512 KiB L2 on ResNets' 16 to 64 channels; measured on
    // resnet20 (train, batch 128, products by `matmul_row_major`): 32 tiles 162 img/s,
    // 64 205, 128 189, 256 190.
    const MIN_WINOGRAD_TILES: usize = 64;
    let per_image = if winograd::applies(s) {
        let (th, tw) = winograd::tiles(s);
        MIN_GEMM_COLUMNS
            .div_ceil(s.pixels())
            .max(MIN_WINOGRAD_TILES.div_ceil(th * tw))
    } else {
        MIN_GEMM_COLUMNS.div_ceil(s.pixels())
    };
    per_image.clamp(1, images_per_task(s))
}
