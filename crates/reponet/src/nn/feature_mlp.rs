//! Networks for precomputed features (`--dataset features:FILE`): `linear`, one linear
//! layer to d, and `mlp`, hidden layers of N values with batch norm and ReLU before it;
//! each ends in a batch norm of the d values, as the ResNets do (see [`super::ResNet`]).

use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};

use super::NamedTensor;

/// A linear layer and its batch norm.
#[derive(Module, Debug)]
struct LinearBn {
    linear: Linear,
    bn: BatchNorm,
}

impl LinearBn {
    fn new(inputs: usize, outputs: usize, device: &Device) -> Self {
        Self {
            linear: LinearConfig::new(inputs, outputs).init(device),
            bn: BatchNormConfig::new(outputs).init(device),
        }
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.bn.forward(self.linear.forward(x))
    }

    /// PyTorch's names: `{linear}.weight` `[outputs, inputs]`, `{linear}.bias`, `{bn}.*`.
    fn named_tensors(&self, linear: &str, bn: &str, out: &mut Vec<NamedTensor>) {
        out.push(NamedTensor::of(
            format!("{linear}.weight"),
            self.linear.weight.val().transpose(),
        ));
        if let Some(bias) = &self.linear.bias {
            out.push(NamedTensor::of(format!("{linear}.bias"), bias.val()));
        }
        out.push(NamedTensor::of(format!("{bn}.weight"), self.bn.gamma.val()));
        out.push(NamedTensor::of(format!("{bn}.bias"), self.bn.beta.val()));
        out.push(NamedTensor::of(
            format!("{bn}.running_mean"),
            self.bn.running_mean.value(),
        ));
        out.push(NamedTensor::of(
            format!("{bn}.running_var"),
            self.bn.running_var.value(),
        ));
    }
}

/// From a feature vector to d: hidden layers, then the projection.
#[derive(Module, Debug)]
pub struct FeatureMlp {
    hidden: Vec<LinearBn>,
    relu: Relu,
    embed: LinearBn,
}

impl FeatureMlp {
    /// `inputs` values to `feature_dim`, through `layers` hidden layers of `width` values
    /// first (none: `linear`).
    pub fn new(
        inputs: usize,
        (layers, width): (usize, usize),
        feature_dim: usize,
        device: &Device,
    ) -> Self {
        let hidden = (0..layers)
            .map(|l| LinearBn::new(if l == 0 { inputs } else { width }, width, device))
            .collect();
        let last = if layers == 0 { inputs } else { width };
        Self {
            hidden,
            relu: Relu::new(),
            embed: LinearBn::new(last, feature_dim, device),
        }
    }

    /// Features `[N, d]` of inputs `[N, C, 1, 1]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, c, h, w] = x.dims();
        let x = x.reshape([n, c * h * w]);
        let x = self
            .hidden
            .iter()
            .fold(x, |x, layer| self.relu.forward(layer.forward(x)));
        self.embed.forward(x)
    }

    /// `hidden.I.*` and `hidden_bn.I.*` (mlp), `fc.*` and `fc_bn.*`, under PyTorch's names.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut all = Vec::new();
        for (i, layer) in self.hidden.iter().enumerate() {
            layer.named_tensors(&format!("hidden.{i}"), &format!("hidden_bn.{i}"), &mut all);
        }
        self.embed.named_tensors("fc", "fc_bn", &mut all);
        all
    }
}
