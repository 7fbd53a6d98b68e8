//! Memory for the kernels: per-thread scratch kept between calls, and outputs written
//! without being zeroed first.

use std::cell::RefCell;
use std::mem::MaybeUninit;

thread_local! {
    /// Each thread's im2col and GEMM buffers, kept between calls: a training step runs
    /// a dozen convolutions, and fresh buffers cost a memset or page faults each time.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with this thread's scratch buffer split into slices of `lens` floats. The
/// contents are whatever the last user left (never uninitialised); callers write before
/// they read. `f` must not call back into this module (it never does: GEMMs run on
/// the calling thread).
pub(super) fn with_scratch<const K: usize, R>(
    lens: [usize; K],
    f: impl FnOnce([&mut [f32]; K]) -> R,
) -> R {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        let total = lens.iter().sum();
        if buf.len() < total {
            buf.resize(total, 0.0);
        }
        let mut rest = &mut buf[..total];
        f(lens.map(|len| {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            head
        }))
    })
}

/// A vector of `len` floats that `fill` writes completely before anyone reads it,
/// without zeroing it first (a memset of every activation, 6-8 % of a step, before).
pub(super) fn filled_vec(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut v = Vec::with_capacity(len);
    fill(&mut v.spare_capacity_mut()[..len]);
    // SAFETY: every caller's `fill` writes each of the `len` elements (the chunks it
    // hands out cover the slice, and each chunk is written in full).
    unsafe { v.set_len(len) };
    v
}

/// The slice once every element has been written.
///
/// # Safety
/// Every element of `s` must have been initialised.
pub(super) unsafe fn assume_init(s: &mut [MaybeUninit<f32>]) -> &mut [f32] {
    // SAFETY: MaybeUninit<f32> has f32's layout; the caller guarantees initialisation.
    unsafe { &mut *(s as *mut [MaybeUninit<f32>] as *mut [f32]) }
}
