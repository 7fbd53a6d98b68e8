//! Your own Burn model (a two-layer MLP) with a fixed d-Cube head (10 classes, d = 4, no
//! trainable parameter) and the margin loss: cargo run --release -p reponet --example own_model
use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor};
use reponet::data::{images_to_tensor, labels_to_tensor, load_dataset};
use reponet::data::{DataSplit, MNIST_NORMALIZATION as NORM};
use reponet::geometry::{Polytope, PolytopeKind};
use reponet::nn::{ClassifierHead, HeadKind, LossKind, PolytopeLoss};

#[derive(Module, Debug)]
struct MyModel {
    hidden: Linear,
    embed: Linear,
    head: ClassifierHead,
}
fn embed(model: &MyModel, images: Tensor<4>) -> Tensor<2> {
    let hidden = Relu::new().forward(model.hidden.forward(images.flatten(1, 3)));
    model.embed.forward(hidden)
}
fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Real MNIST digits built into reponet; "mnist" (or any dataset) once fetched.
    let train = load_dataset("mnist-sample", DataSplit::Train, None)?;
    let test = load_dataset("mnist-sample", DataSplit::Test, None)?;
    let polytope = Polytope::new(PolytopeKind::Cube, 10)?;
    let device = Device::flex().autodiff();
    let mut model = MyModel {
        hidden: LinearConfig::new(784, 256).init(&device),
        embed: LinearConfig::new(256, polytope.dim()).init(&device),
        head: ClassifierHead::new(HeadKind::Fixed, &polytope, &device),
    };
    let parameters = (model.num_params(), model.head.num_params());
    println!("trainable parameters (model, head): {parameters:?}");
    let mut optimizer = AdamConfig::new().init();
    // m = phi = 60 degrees needs no warm-up; for the simplex (m > 90) see `MarginWarmup`.
    let (kind, scale, margin) = (LossKind::Margin, 30.0, polytope.phi());
    let loss_fn = PolytopeLoss {
        kind,
        scale,
        margin,
    };
    let indices: Vec<usize> = (0..train.len()).collect();
    for chunk in (0..3).flat_map(|_| indices.chunks(100)) {
        let features = embed(&model, images_to_tensor(&train, chunk, NORM, &device));
        let labels = labels_to_tensor(&train, chunk, &device);
        let loss = loss_fn.forward(&model.head, features, labels);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optimizer.step(1e-3, model, grads);
    }
    // Predict the class whose vertex is nearest by cosine.
    let all: Vec<usize> = (0..test.len()).collect();
    let features = embed(&model, images_to_tensor(&test, &all, NORM, &device));
    let predicted = model.head.cosines(features).argmax(1).reshape([test.len()]);
    let labels = labels_to_tensor(&test, &all, &device);
    let correct: i64 = predicted.equal(labels).int().sum().into_scalar();
    println!("test accuracy: {correct} of {} images", test.len());
    Ok(())
}
