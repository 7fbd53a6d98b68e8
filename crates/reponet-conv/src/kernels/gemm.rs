//! Matrix products on one thread through the `gemm` crate, on strided views of slices.

use std::mem::MaybeUninit;

/// A matrix view for [`matmul`] on a slice: element (i, j) at `i * row + j * col`.
#[derive(Clone, Copy)]
pub(super) struct View<'a> {
    data: &'a [f32],
    row: usize,
    col: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    pub(super) fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row: cols,
            col: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub(super) fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row: 1,
            col: cols,
        }
    }
    /// Checks that a `[rows, cols]` matrix fits in the slice (so `matmul` is safe).
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.row + (cols - 1) * self.col < self.data.len()
    }
}

/// `dst [m, n] (row-major) = (accumulate ? dst : 0) + a [m, k] · b [k, n]`, on this
/// thread (the caller parallelises over images).
pub(super) fn matmul(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    accumulate: bool,
) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    // SAFETY: `dst` holds m*n initialised elements.
    unsafe { gemm_into(dst.as_mut_ptr(), m, n, k, a, b, accumulate) }
}

/// [`matmul`] without `accumulate`, into a destination not yet written (never read).
pub(super) fn matmul_overwrite(
    dst: &mut [MaybeUninit<f32>],
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
) {
    assert!(dst.len() >= m * n, "matmul: destination too small");
    // SAFETY: `dst` holds m*n elements, which the GEMM writes without reading them.
    unsafe { gemm_into(dst.as_mut_ptr().cast(), m, n, k, a, b, false) }
}

/// The GEMM of [`matmul`] into `dst`.
///
/// # Safety
/// `dst` must be valid for m*n writes, and for reads (initialised) if `accumulate`.
unsafe fn gemm_into(
    dst: *mut f32,
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
    accumulate: bool,
) {
    assert!(
        a.fits(m, k) && b.fits(k, n),
        "matmul: operand outside its slice"
    );
    // SAFETY: `dst` as the caller promises, and every element of the [m, k] and [k, n]
    // operands lies inside its slice (checked above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col as isize,
            a.row as isize,
            b.data.as_ptr(),
            b.col as isize,
            b.row as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// `gw[at..at + m n]` = a · b while `gw` is still empty (a task's first group, which
/// writes all of it), += a · b after: the partial sums are never zeroed first (a memset
/// of up to 8 MiB per task and step, 3-5 % of a step at batch 128).
pub(super) fn matmul_partial(
    gw: &mut Vec<f32>,
    at: usize,
    m: usize,
    n: usize,
    k: usize,
    a: View,
    b: View,
) {
    if gw.is_empty() {
        matmul_overwrite(&mut gw.spare_capacity_mut()[at..], m, n, k, a, b);
    } else {
        matmul(&mut gw[at..], m, n, k, a, b, true);
    }
}
