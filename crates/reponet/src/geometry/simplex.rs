/// The d+1 vertices of the regular d-Simplex, centred on the origin (not yet unit).
///
/// e_1 .. e_d, then alpha * (1, .., 1) with alpha = (1 - sqrt(d + 1)) / d, which makes all
/// d+1 points equidistant; subtracting their centroid centres the simplex.
pub(super) fn vertices(d: usize) -> Vec<Vec<f64>> {
    let alpha = (1.0 - ((d + 1) as f64).sqrt()) / d as f64;
    let mut points: Vec<Vec<f64>> = (0..d)
        .map(|i| {
            let mut e = vec![0.0; d];
            e[i] = 1.0;
            e
        })
        .collect();
    points.push(vec![alpha; d]);
    // Centroid coordinate: every coordinate has one 1 and the same alpha.
    let centroid = (1.0 + alpha) / (d + 1) as f64;
    for p in &mut points {
        p.iter_mut().for_each(|x| *x -= centroid);
    }
    points
}
