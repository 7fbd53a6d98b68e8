use burn::tensor::{Device, Tensor};

use crate::data::{images_to_tensor, ImageSet, Normalization};
use crate::nn::Network;

/// Images per forward pass at evaluation time.
pub const EVAL_BATCH: usize = 1000;

/// Features `[N, d]` of every image in `set`, row-major.
pub fn extract_features(
    model: &Network,
    set: &ImageSet,
    norm: Normalization,
    device: &Device,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(set.len() * 16);
    for_batches(set, norm, device, |images| {
        let f = model.features(images);
        out.extend(f.into_data().iter::<f32>());
    });
    out
}

/// Predicted class of every image in `set`.
pub fn predict_labels(
    model: &Network,
    set: &ImageSet,
    norm: Normalization,
    device: &Device,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(set.len());
    for_batches(set, norm, device, |images| {
        let pred = model.predict_from_features(model.features(images));
        let data = pred.into_data();
        out.extend(data.iter::<i64>().map(|p| p as u8));
    });
    out
}

fn for_batches(set: &ImageSet, norm: Normalization, device: &Device, mut f: impl FnMut(Tensor<4>)) {
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        f(images_to_tensor(set, chunk, norm, device));
    }
}
