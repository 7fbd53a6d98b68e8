/// The 2d vertices of the d-Orthoplex: +e_1 .. +e_d, then -e_1 .. -e_d.
pub(super) fn vertices(d: usize) -> Vec<Vec<f64>> {
    [1.0, -1.0]
        .iter()
        .flat_map(|&sign| {
            (0..d).map(move |i| {
                let mut v = vec![0.0; d];
                v[i] = sign;
                v
            })
        })
        .collect()
}
