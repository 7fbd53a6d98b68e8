//! Hoffer et al., "Fix your classifier" (ICLR 2018): the classifier is a truncated Sylvester
//! Hadamard matrix. With n = the smallest power of two >= max(K, d), class k takes the first
//! d entries of row k of H_n. For d >= K with d a power of two the rows are exactly
//! orthogonal (phi = 90 deg); otherwise truncation breaks orthogonality, and for K > d rows
//! can coincide (Sylvester rows k and k + d agree on the first d entries when d is a power
//! of two) -- the case the paper warns about. `Polytope` measures phi from the rows, so it
//! reports 0 when that happens and refuses to build.

/// Entry (row, col) of the Sylvester Hadamard matrix: (-1)^popcount(row & col).
fn entry(row: usize, col: usize) -> f64 {
    if (row & col).count_ones().is_multiple_of(2) {
        1.0
    } else {
        -1.0
    }
}

/// `classes` rows of H_n cut to `dim` columns (not yet normalised).
pub(super) fn vertices(classes: usize, dim: usize) -> Vec<Vec<f64>> {
    (0..classes)
        .map(|k| (0..dim).map(|c| entry(k, c)).collect())
        .collect()
}

/// The dimension Hoffer et al. round to when none is given: the smallest power of two >= K.
pub(super) fn default_dim(classes: usize) -> usize {
    classes.next_power_of_two()
}
