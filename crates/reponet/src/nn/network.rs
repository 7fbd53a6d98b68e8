use burn::module::Module;
use burn::tensor::{Device, Int, Tensor};

use super::head::{ClassifierHead, HeadKind};
use super::lenet::LeNetPlusPlus;
use crate::geometry::Polytope;

/// LeNet++ features followed by a cosine head: the network the paper trains.
#[derive(Module, Debug)]
pub struct Network {
    pub backbone: LeNetPlusPlus,
    pub head: ClassifierHead,
}

impl Network {
    pub fn new(polytope: &Polytope, head: HeadKind, device: &Device) -> Self {
        Self {
            backbone: LeNetPlusPlus::new(polytope.dim(), device),
            head: ClassifierHead::new(head, polytope, device),
        }
    }

    /// Features `[N, d]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        self.backbone.forward(images)
    }

    /// Predicted class: the nearest class vertex by cosine; vertices without a class never win.
    pub fn predict_from_features(&self, features: Tensor<2>) -> Tensor<1, Int> {
        let classes = self.head.classes();
        let cos = self.head.cosines(features);
        let n = cos.dims()[0];
        cos.slice([0..n, 0..classes]).argmax(1).reshape([n])
    }
}
