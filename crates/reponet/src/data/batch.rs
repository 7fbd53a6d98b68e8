use burn::tensor::{Device, Int, Tensor, TensorData};

use super::augment::{augment_image, Draw};
use super::{ImageSet, Normalization};

/// The images at `indices` as a standardised `[N, channels, rows, cols]` tensor.
pub fn images_to_tensor(
    set: &ImageSet,
    indices: &[usize],
    norm: Normalization,
    device: &Device,
) -> Tensor<4> {
    augmented_images_to_tensor(set, indices, norm, None, device)
}

/// [`images_to_tensor`], each image first augmented by its draw (one per index) if given.
pub fn augmented_images_to_tensor(
    set: &ImageSet,
    indices: &[usize],
    norm: Normalization,
    draws: Option<&[Draw]>,
    device: &Device,
) -> Tensor<4> {
    let shape = set.shape();
    let plane = shape.rows * shape.cols;
    // Per channel: value = pixel * scale - shift.
    let affine: Vec<(f64, f64)> = (0..shape.channels)
        .map(|c| {
            let (mean, std) = norm.channel(c, shape.channels);
            (1.0 / (255.0 * std), mean / std)
        })
        .collect();
    let mut augmented = vec![0u8; shape.len()];
    let mut values = Vec::with_capacity(indices.len() * shape.len());
    if set.is_features() {
        // Feature rows: standardised only (draws never apply: configurations refuse them).
        for &i in indices {
            for (c, &v) in set.feature_row(i).iter().enumerate() {
                let (mean, std) = norm.channel(c, shape.channels);
                values.push(((v as f64 - mean) / std) as f32);
            }
        }
    }
    for (k, &i) in indices.iter().enumerate().filter(|_| !set.is_features()) {
        let image = match draws {
            Some(draws) => {
                augment_image(set.image(i), shape, draws[k], &mut augmented);
                &augmented[..]
            }
            None => set.image(i),
        };
        for (c, pixels) in image.chunks_exact(plane).enumerate() {
            let (scale, shift) = affine[c];
            values.extend(pixels.iter().map(|&p| (p as f64 * scale - shift) as f32));
        }
    }
    let data = TensorData::new(values, [indices.len(), set.channels, set.rows, set.cols]);
    Tensor::from_data(data, device)
}

/// The labels at `indices` as an integer tensor `[N]`.
pub fn labels_to_tensor(set: &ImageSet, indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let values: Vec<i64> = indices.iter().map(|&i| set.labels[i] as i64).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}
