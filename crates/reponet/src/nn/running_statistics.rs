//! Batch norm's running statistics among a module's tensors. Burn visits them as float
//! tensors like any weight, but the optimizer never sees them: counting parameters, reducing
//! gradients and averaging statistics across ranks must tell the two apart, by the name
//! under which each tensor sits.

use burn::module::{ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Whether the tensor at the end of `path` is one of batch norm's running statistics.
fn is_running_statistic(path: &[String]) -> bool {
    matches!(
        path.last().map(String::as_str),
        Some("running_mean" | "running_var")
    )
}

/// A visit of every float tensor, told which are running statistics.
pub trait TensorVisitor {
    /// One tensor; `statistic`: a batch-norm running statistic, not a trained weight.
    fn tensor<const D: usize>(&mut self, param: &Param<Tensor<D>>, statistic: bool);
}

/// Runs a [`TensorVisitor`] as Burn's module visitor, tracking where each tensor sits.
pub struct Sorted<V> {
    path: Vec<String>,
    /// The visitor, with what it gathered.
    pub inner: V,
}

impl<V: TensorVisitor> Sorted<V> {
    /// `inner`, ready to visit a module.
    pub fn new(inner: V) -> Self {
        Self {
            path: Vec::new(),
            inner,
        }
    }
}

impl<V: TensorVisitor> ModuleVisitor for Sorted<V> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.into());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.inner.tensor(param, is_running_statistic(&self.path));
    }
}
