//! A fixed polytope head and the margin loss on a model of your own.
//!
//! The backbone here is a two-layer MLP on 28x28 images; anything that maps a batch to
//! `[N, d]` features works the same way. The head is a d-Cube for 10 classes (d = 4), and
//! it adds no trainable parameter.
//!
//!   cargo run --release -p reponet --example own_model

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use reponet::data::{
    images_to_tensor, labels_to_tensor, load_mnist_dir, write_synthetic_mnist, DataSplit,
    MNIST_NORMALIZATION,
};
use reponet::geometry::{Polytope, PolytopeKind};
use reponet::nn::{ClassifierHead, HeadKind, LossKind, MarginWarmup, PolytopeLoss};

#[derive(Module, Debug)]
struct MyModel {
    hidden: Linear,
    activation: Relu,
    embed: Linear,
    head: ClassifierHead,
}

impl MyModel {
    fn new(polytope: &Polytope, device: &Device) -> Self {
        Self {
            hidden: LinearConfig::new(784, 256).init(device),
            activation: Relu::new(),
            embed: LinearConfig::new(256, polytope.dim()).init(device),
            head: ClassifierHead::new(HeadKind::Fixed, polytope, device),
        }
    }

    fn features(&self, images: Tensor<4>) -> Tensor<2> {
        let x = images.flatten(1, 3);
        self.embed
            .forward(self.activation.forward(self.hidden.forward(x)))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A throwaway dataset in MNIST's format; point `load_mnist_dir` at real MNIST instead.
    let dir = std::env::temp_dir().join("reponet-example-data");
    write_synthetic_mnist(&dir, 2000, 500, 0)?;
    let train = load_mnist_dir(&dir, DataSplit::Train, 10)?;
    let test = load_mnist_dir(&dir, DataSplit::Test, 10)?;

    let polytope = Polytope::new(PolytopeKind::Cube, 10)?;
    let device = Device::flex().autodiff();
    let mut model = MyModel::new(&polytope, &device);
    println!(
        "{}-cube head: {} trainable parameters in the whole model, {} in the head",
        polytope.dim(),
        model.num_params(),
        model.head.num_params()
    );
    let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
    let batch = 100;
    let steps_per_epoch = train.len() / batch;
    let warmup = MarginWarmup::new(polytope.phi(), 0.5, steps_per_epoch);
    let indices: Vec<usize> = (0..train.len()).collect();
    let mut step = 0;
    for epoch in 1..=3 {
        for chunk in indices.chunks(batch) {
            let loss_fn = PolytopeLoss {
                kind: LossKind::Margin,
                scale: 30.0,
                margin: warmup.at(step),
            };
            let images = images_to_tensor(&train, chunk, MNIST_NORMALIZATION, &device);
            let labels = labels_to_tensor(&train, chunk, &device);
            let loss = loss_fn.forward(&model.head, model.features(images), labels);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optimizer.step(1e-3, model, grads);
            step += 1;
        }
        // Predict: the nearest class vertex by cosine.
        let all: Vec<usize> = (0..test.len()).collect();
        let images = images_to_tensor(&test, &all, MNIST_NORMALIZATION, &device);
        let cos = model.head.cosines(model.features(images));
        let predicted = cos.slice([0..test.len(), 0..10]).argmax(1);
        let correct = predicted
            .into_data()
            .iter::<i64>()
            .zip(&test.labels)
            .filter(|(p, l)| *p == **l as i64)
            .count();
        println!(
            "epoch {epoch}: test accuracy {:.1} %",
            100.0 * correct as f64 / test.len() as f64
        );
    }
    Ok(())
}
