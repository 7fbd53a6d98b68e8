//! Burn building blocks: cosine heads (fixed polytope or learnable), the paper's three
//! losses, the margin warm-up, and the backbones (LeNet++, ResNets). Heads and losses take
//! any `[N, d]` feature tensor, so they work on top of any Burn backbone.

mod backbone;
mod feature_mlp;
mod head;
mod lenet;
mod loss;
mod margin_warmup;
mod network;
pub mod pretrained;
mod resnet;
mod running_statistics;

pub use backbone::{Backbone, ModelKind};
pub use feature_mlp::FeatureMlp;
pub use head::{l2_normalize, ClassifierHead, FixedHead, HeadKind, LearnableHead};
pub use lenet::LeNetPlusPlus;
pub use loss::{arc_margin_logits, cross_entropy, LossKind, PolytopeLoss};
pub use margin_warmup::MarginWarmup;
pub use network::{built_apart, Architecture, NamedTensor, Network};
pub use resnet::{ResNet, ResNetSpec, Stem};
pub use running_statistics::{Sorted, TensorVisitor};
