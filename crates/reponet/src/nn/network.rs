use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::backbone::{Backbone, ModelKind};
use super::head::{ClassifierHead, HeadKind};
use super::resnet::Stem;
use super::running_statistics::{Sorted, TensorVisitor};
use crate::data::ImageShape;
use crate::geometry::Polytope;

/// What a backbone is built for: which model, its stem, and the input shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Architecture {
    /// The backbone.
    pub model: ModelKind,
    /// The stem asked for (`auto`: by the input's size).
    pub stem: Stem,
    /// The images it takes.
    pub input: ImageShape,
    /// `mlp`'s hidden layers and their width (`None`: the default; other models have none).
    pub hidden: Option<(usize, usize)>,
}

/// LeNet++ (the paper's network) for images of this shape.
impl From<ImageShape> for Architecture {
    fn from(input: ImageShape) -> Self {
        Self {
            model: ModelKind::LenetPlusPlus,
            stem: Stem::Auto,
            input,
            hidden: None,
        }
    }
}

/// A backbone's features followed by a cosine head: LeNet++ and a polytope head is the
/// network the paper trains.
#[derive(Module, Debug)]
pub struct Network {
    /// From the image to the d-dimensional feature.
    pub backbone: Backbone,
    /// The classifier on the feature.
    pub head: ClassifierHead,
}

/// Burn's CPU backend draws random numbers from one generator per process: every network is
/// built under this lock, so that a seeded build is never interleaved with another's draws.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// `module` with every parameter drawn now: Burn initialises them lazily, at first use,
/// which must happen under [`INIT_LOCK`].
fn materialised<M: Module>(module: M) -> M {
    struct Materialise;
    impl ModuleVisitor for Materialise {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let _ = param.val();
        }
    }
    module.visit(&mut Materialise);
    module
}

/// A module built by `build` whose random draws do not interleave with a seeded network's
/// (a network built only to check weights against, or to compute features with, beside
/// seeded training in the same process).
pub fn built_apart<M: Module>(build: impl FnOnce() -> M) -> M {
    let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    materialised(build())
}

impl Network {
    /// A freshly initialised network of `arch` (an [`ImageShape`] alone: LeNet++), drawn
    /// from the backend's generator as it stands.
    pub fn new(
        polytope: &Polytope,
        head: HeadKind,
        arch: impl Into<Architecture>,
        device: &Device,
    ) -> Self {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        Self::build(polytope, head, arch.into(), device)
    }

    /// A network whose initial weights depend on `seed` alone, even with other threads
    /// building networks at the same time.
    pub fn seeded(
        polytope: &Polytope,
        head: HeadKind,
        arch: impl Into<Architecture>,
        device: &Device,
        seed: u64,
    ) -> Self {
        let _guard = INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        device.seed(seed);
        Self::build(polytope, head, arch.into(), device)
    }

    fn build(polytope: &Polytope, head: HeadKind, arch: Architecture, device: &Device) -> Self {
        let network = Self {
            backbone: Backbone::with_hidden(
                arch.model,
                arch.stem,
                arch.hidden,
                polytope.dim(),
                arch.input,
                device,
            ),
            head: ClassifierHead::new(head, polytope, device),
        };
        materialised(network)
    }

    /// The same network, running its convolutions on the CPU through `kernels`.
    pub fn with_conv_kernels(mut self, kernels: reponet_conv::ConvKernels) -> Self {
        self.backbone = self.backbone.with_conv_kernels(kernels);
        self
    }

    /// Features `[N, d]`.
    pub fn features(&self, images: Tensor<4>) -> Tensor<2> {
        self.backbone.forward(images)
    }

    /// The backbone's weights under the names of its PyTorch module (see
    /// [`Backbone::named_tensors`]), then the head's as `head.W` `[outputs, d]`.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        let mut all = self.backbone.named_tensors();
        all.push(NamedTensor::of("head.W".into(), self.head.stored_weights()));
        all
    }

    /// Values the optimizer trains: every parameter but batch norm's running statistics
    /// (which Burn's `num_params` counts too), as PyTorch's `parameters()` counts them.
    pub fn trainable_parameters(&self) -> usize {
        struct Count(usize);
        impl TensorVisitor for Count {
            fn tensor<const D: usize>(&mut self, param: &Param<Tensor<D>>, statistic: bool) {
                if !statistic {
                    self.0 += param.lazy_shape().num_elements();
                }
            }
        }
        let mut count = Sorted::new(Count(0));
        self.visit(&mut count);
        count.inner.0
    }

    /// Every trainable weight, in module order, as one vector (to compare two runs).
    pub fn flat_weights(&self) -> Vec<f32> {
        struct Collect(Vec<f32>);
        impl ModuleVisitor for Collect {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                self.0
                    .extend(param.val().into_data().convert::<f32>().iter::<f32>());
            }
        }
        let mut all = Collect(Vec::new());
        self.visit(&mut all);
        all.0
    }

    /// SHA-256 (hex) of [`Network::flat_weights`]' `f32` bits, little-endian: the same for
    /// the same weights on any device, so a run records it (`summary.json`) and loading
    /// checks the model file against it.
    pub fn weights_sha256(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        for x in self.flat_weights() {
            hasher.update(x.to_le_bytes());
        }
        format!("{:x}", hasher.finalize())
    }

    /// The unit weights of the classes (the head's first `classes()` rows; vertices
    /// without a class left out), in `f64`, for measuring angles.
    pub fn class_unit_weights(&self) -> Vec<Vec<f64>> {
        let weights = self.head.unit_weights();
        let dim = weights.dims()[1];
        let values: Vec<f64> = weights.into_data().iter::<f32>().map(f64::from).collect();
        values
            .chunks_exact(dim)
            .take(self.head.classes())
            .map(<[f64]>::to_vec)
            .collect()
    }

    /// [`Network::predict_from_features`] of feature rows extracted already (`dim` floats
    /// each, row-major), as class labels.
    pub fn classes_of_features(&self, features: &[f32], dim: usize, device: &Device) -> Vec<u8> {
        let rows = Tensor::from_data(
            TensorData::new(features.to_vec(), [features.len() / dim.max(1), dim]),
            device,
        );
        self.predict_from_features(rows)
            .into_data()
            .iter::<i64>()
            .map(|p| p as u8)
            .collect()
    }

    /// Predicted class: the nearest class vertex by cosine; vertices without a class never win.
    pub fn predict_from_features(&self, features: Tensor<2>) -> Tensor<1, Int> {
        let classes = self.head.classes();
        let cos = self.head.cosines(features);
        let n = cos.dims()[0];
        cos.slice([0..n, 0..classes]).argmax(1).reshape([n])
    }
}

/// A tensor taken out of a network: its name, shape and float32 values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Where it sits in the module (`convs.0.weight`, ...).
    pub name: String,
    /// Its dimensions.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub values: Vec<f32>,
}

impl NamedTensor {
    /// `tensor`'s values under `name`.
    pub fn of<const D: usize>(name: String, tensor: Tensor<D>) -> Self {
        let shape = tensor.dims().to_vec();
        let values = tensor.into_data().convert::<f32>().iter::<f32>().collect();
        Self {
            name,
            shape,
            values,
        }
    }
}
