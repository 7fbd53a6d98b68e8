//! Flex tensors to and from the kernels' plain float32 slices, for both extensions.

use burn::backend::flex::FlexTensor;
use burn::tensor::{Shape, TensorData};

/// The tensor with its float32 values in row-major order (a copy only if it is a strided
/// view).
pub(crate) fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// The values of a [`contiguous`] float32 tensor.
pub(crate) fn values(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>()
        .expect("reponet's kernels: float32 tensors only (their callers check)")
}

/// A flex tensor of `values` in `shape`.
pub(crate) fn flex_tensor(values: Vec<f32>, shape: impl Into<Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
