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

/// `dst [m, n] = a [m, k] · b [k, n]`, all row-major and contiguous: the Winograd
/// products (m output channels, k input channels, n tiles). With AVX2 and FMA (and no
/// AVX-512, where the `gemm` crate's wider kernels win) a register-blocked kernel that
/// reads `b` where it is, without the `gemm` crate's packing and per-call set-up (64
/// calls per group of tiles): with plan's groups of 64 tiles, resnet20 inference 701 ->
/// 730 img/s and LeNet++ training 260 -> 274 (batch 512) against the `gemm` crate.
pub(super) fn matmul_row_major(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    b: &[f32],
) {
    assert!(
        dst.len() >= m * n && a.len() >= m * k && b.len() >= k * n,
        "matmul_row_major: operand too small for [{m}, {k}] x [{k}, {n}]"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && !std::arch::is_x86_feature_detected!("avx512f")
    {
        // SAFETY: the CPU has AVX2 and FMA; the lengths were checked above.
        unsafe { row_major::product(dst, m, n, k, a, b) };
        return;
    }
    matmul(dst, m, n, k, View::rows(a, k), View::rows(b, n), false);
}

#[cfg(target_arch = "x86_64")]
mod row_major {
    use std::arch::x86_64::*;

    /// Lanes of a vector.
    const L: usize = 8;

    /// [`super::matmul_row_major`] by blocks of up to 6 rows of `dst` and 2 vectors (16
    /// columns): 12 accumulators, each step of k two loads of `b` and one broadcast of `a`
    /// per row for 12 FMAs, 15 of the 16 vector registers (4 x 3 blocks spilled). Narrower
    /// blocks at the bottom and right edges, a scalar loop for the last n % 8 columns.
    ///
    /// # Safety
    /// AVX2 and FMA; `dst`, `a`, `b` at least m n, m k, k n long.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn product(
        dst: &mut [f32],
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
    ) {
        let mut col = 0;
        while col + 2 * L <= n {
            unsafe { rows::<2>(dst, m, n, k, a, b, col) };
            col += 2 * L;
        }
        if col + L <= n {
            unsafe { rows::<1>(dst, m, n, k, a, b, col) };
            col += L;
        }
        for i in 0..m {
            for j in col..n {
                let mut sum = 0.0f32;
                for p in 0..k {
                    sum = a[i * k + p].mul_add(b[p * n + j], sum);
                }
                dst[i * n + j] = sum;
            }
        }
    }

    /// Columns `col..col + V * 8` of every row of `dst`, 6 rows at a time, then 4, 2, 1.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows<const V: usize>(
        dst: &mut [f32],
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        col: usize,
    ) {
        let mut row = 0;
        while row + 6 <= m {
            unsafe { block::<6, V>(dst, n, k, a, b, row, col) };
            row += 6;
        }
        if row + 4 <= m {
            unsafe { block::<4, V>(dst, n, k, a, b, row, col) };
            row += 4;
        }
        if row + 2 <= m {
            unsafe { block::<2, V>(dst, n, k, a, b, row, col) };
            row += 2;
        }
        if row < m {
            unsafe { block::<1, V>(dst, n, k, a, b, row, col) };
        }
    }

    /// `dst[row..row + R][col..col + V * 8]` in R x V accumulators.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn block<const R: usize, const V: usize>(
        dst: &mut [f32],
        n: usize,
        k: usize,
        a: &[f32],
        b: &[f32],
        row: usize,
        col: usize,
    ) {
        // SAFETY (every pointer): rows row..row + R < m and columns col..col + V L <= n of
        // operands whose lengths the caller checked.
        let mut acc = [[_mm256_setzero_ps(); V]; R];
        let (a, b) = (a.as_ptr(), b.as_ptr());
        for p in 0..k {
            let mut bv = [_mm256_setzero_ps(); V];
            for (v, x) in bv.iter_mut().enumerate() {
                *x = unsafe { _mm256_loadu_ps(b.add(p * n + col + v * L)) };
            }
            for (r, acc_r) in acc.iter_mut().enumerate() {
                let ar = unsafe { _mm256_broadcast_ss(&*a.add((row + r) * k + p)) };
                for (acc, x) in acc_r.iter_mut().zip(&bv) {
                    *acc = _mm256_fmadd_ps(ar, *x, *acc);
                }
            }
        }
        let d = dst.as_mut_ptr();
        for (r, acc_r) in acc.iter().enumerate() {
            for (v, x) in acc_r.iter().enumerate() {
                unsafe { _mm256_storeu_ps(d.add((row + r) * n + col + v * L), *x) };
            }
        }
    }
}
