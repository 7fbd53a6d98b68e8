use burn::tensor::{Device, Tensor};

use crate::data::{images_to_tensor, ImageSet, Normalization};
use crate::geometry::normalized;
use crate::nn::{Network, ResNet};

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

/// Images per forward pass of a pretrained backbone (at 224 x 224, a batch of
/// [`EVAL_BATCH`] would hold gigabytes of activations).
pub const BACKBONE_BATCH: usize = 32;

/// Pooled features `[N, channels]` of every image in `set` under a ResNet's stem and stages
/// (before its projection to d), row-major.
pub fn extract_pooled(
    resnet: &ResNet,
    set: &ImageSet,
    norm: Normalization,
    device: &Device,
) -> Vec<f32> {
    let mut out = Vec::new();
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(BACKBONE_BATCH) {
        let f = resnet.pooled(images_to_tensor(set, chunk, norm, device));
        out.extend(f.into_data().iter::<f32>());
    }
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

/// What the end of an epoch measures on the test set in one pass.
#[derive(Debug, Clone, PartialEq)]
pub struct TestPass {
    /// Percent of images classified correctly.
    pub accuracy: f64,
    /// Per class, the unit direction of the mean of its L2-normalised features (empty rows
    /// for classes without test images).
    pub class_means: Vec<Vec<f64>>,
}

/// Accuracy and class-mean directions of `set`, from one forward pass per batch.
pub fn test_pass(
    model: &Network,
    set: &ImageSet,
    norm: Normalization,
    classes: usize,
    device: &Device,
) -> TestPass {
    let mut correct = 0;
    let mut sums: Vec<Vec<f64>> = vec![Vec::new(); classes];
    let mut offset = 0;
    for_batches(set, norm, device, |images| {
        let features = model.features(images);
        let [n, d] = features.dims();
        let predicted = model.predict_from_features(features.clone()).into_data();
        let values: Vec<f32> = features.into_data().iter::<f32>().collect();
        let labels = &set.labels[offset..offset + n];
        for (i, (p, &label)) in predicted.iter::<i64>().zip(labels).enumerate() {
            correct += usize::from(p == i64::from(label));
            let row: Vec<f64> = values[i * d..(i + 1) * d]
                .iter()
                .map(|&x| x.into())
                .collect();
            let sum = &mut sums[label as usize];
            sum.resize(d, 0.0);
            // A zero feature stays zero and adds nothing.
            for (s, x) in sum.iter_mut().zip(normalized(&row)) {
                *s += x;
            }
        }
        offset += n;
    });
    TestPass {
        accuracy: 100.0 * correct as f64 / set.len().max(1) as f64,
        class_means: sums.iter().map(|s| normalized(s)).collect(),
    }
}

fn for_batches(set: &ImageSet, norm: Normalization, device: &Device, mut f: impl FnMut(Tensor<4>)) {
    let indices: Vec<usize> = (0..set.len()).collect();
    for chunk in indices.chunks(EVAL_BATCH) {
        f(images_to_tensor(set, chunk, norm, device));
    }
}
