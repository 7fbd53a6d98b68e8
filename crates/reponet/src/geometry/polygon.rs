/// K points evenly on the unit circle, class k at angle 2 pi k / K.
pub(super) fn vertices(classes: usize) -> Vec<Vec<f64>> {
    (0..classes)
        .map(|k| {
            let a = std::f64::consts::TAU * k as f64 / classes as f64;
            vec![a.cos(), a.sin()]
        })
        .collect()
}
