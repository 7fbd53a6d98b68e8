use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{ImageSet, Normalization};

/// The images at `indices` as a standardised `[N, channels, rows, cols]` tensor.
pub fn images_to_tensor(
    set: &ImageSet,
    indices: &[usize],
    norm: Normalization,
    device: &Device,
) -> Tensor<4> {
    let scale = 1.0 / (255.0 * norm.std);
    let shift = norm.mean / norm.std;
    let mut values = Vec::with_capacity(indices.len() * set.image_size());
    for &i in indices {
        values.extend(
            set.image(i)
                .iter()
                .map(|&p| (p as f64 * scale - shift) as f32),
        );
    }
    let data = TensorData::new(values, [indices.len(), set.channels, set.rows, set.cols]);
    Tensor::from_data(data, device)
}

/// The labels at `indices` as an integer tensor `[N]`.
pub fn labels_to_tensor(set: &ImageSet, indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| set.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}
