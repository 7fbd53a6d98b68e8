/// The 2^d vertices of the d-Cube: vertex t has coordinate i = +1 if bit i of t is 0, else -1.
pub(super) fn vertices(d: usize) -> Vec<Vec<f64>> {
    (0..1usize << d)
        .map(|t| {
            (0..d)
                .map(|i| if (t >> i) & 1 == 0 { 1.0 } else { -1.0 })
                .collect()
        })
        .collect()
}
