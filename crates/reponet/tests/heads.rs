//! The fixed head has no parameters and never changes; the learnable one trains.

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::Device;
use reponet::data::{
    images_to_tensor, labels_to_tensor, load_mnist_dir, write_synthetic_mnist, DataSplit,
    ImageShape, MNIST_NORMALIZATION,
};
use reponet::geometry::{Polytope, PolytopeKind};
use reponet::nn::{HeadKind, LossKind, Network, PolytopeLoss};
use reponet::train::train_step;

fn backbone_bytes(model: &Network) -> Vec<u8> {
    model
        .backbone
        .clone()
        .into_record()
        .into_bytes()
        .unwrap()
        .to_vec()
}

fn bits(t: burn::tensor::Tensor<2>) -> Vec<u32> {
    t.into_data().iter::<f32>().map(f32::to_bits).collect()
}

#[test]
fn parameter_counts_show_the_saving() {
    let device = Device::flex();
    for kind in PolytopeKind::ALL {
        let p = Polytope::with_dim(kind, 10, Some(16).filter(|_| !kind.dim_is_fixed())).unwrap();
        let fixed = Network::new(&p, HeadKind::Fixed, ImageShape::MNIST, &device);
        let learnable = Network::new(&p, HeadKind::Learnable, ImageShape::MNIST, &device);
        assert_eq!(fixed.head.num_params(), 0, "{kind}");
        assert_eq!(
            learnable.head.num_params(),
            p.num_vertices() * p.dim(),
            "{kind}"
        );
        // LeNet++: six convs (5x5), six PReLU slopes, a 1152 x d linear layer with bias.
        let convs = [(1, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128)]
            .iter()
            .map(|(i, o)| i * o * 25 + o)
            .sum::<usize>();
        let backbone = convs + 6 + 1152 * p.dim() + p.dim();
        assert_eq!(fixed.num_params(), backbone, "{kind}");
        assert_eq!(
            learnable.num_params(),
            backbone + p.num_vertices() * p.dim(),
            "{kind}"
        );
    }
}

#[test]
fn fixed_head_is_bit_identical_after_an_epoch_and_learnable_head_moves() {
    let dir = tempfile::tempdir().unwrap();
    write_synthetic_mnist(dir.path(), 256, 10, 7).unwrap();
    let set = load_mnist_dir(dir.path(), DataSplit::Train, 10).unwrap();
    let device = Device::flex().autodiff();
    let p = Polytope::new(PolytopeKind::Cube, 10).unwrap();
    let expected_vertices: Vec<u32> = p.vertices_f32().iter().map(|x| x.to_bits()).collect();
    for head in [HeadKind::Fixed, HeadKind::Learnable] {
        let mut model = Network::new(&p, head, ImageShape::MNIST, &device);
        let head_before = bits(model.head.unit_weights());
        let backbone_before = backbone_bytes(&model);
        if head == HeadKind::Fixed {
            assert_eq!(head_before, expected_vertices);
        }
        let mut optimizer = AdamConfig::new().with_epsilon(1e-8).init();
        let loss = PolytopeLoss {
            kind: LossKind::Margin,
            scale: 30.0,
            margin: p.phi(),
        };
        let indices: Vec<usize> = (0..set.len()).collect();
        for batch in indices.chunks(64) {
            let images = images_to_tensor(&set, batch, MNIST_NORMALIZATION, &device);
            let labels = labels_to_tensor(&set, batch, &device);
            let outcome;
            (model, outcome) = train_step(model, &mut optimizer, &loss, 5e-4, images, labels);
            assert!(outcome.loss.is_finite());
        }
        let head_after = bits(model.head.unit_weights());
        let backbone_after = backbone_bytes(&model);
        assert_ne!(
            backbone_before, backbone_after,
            "{head}: the backbone must train"
        );
        match head {
            HeadKind::Fixed => assert_eq!(head_before, head_after, "the fixed head changed"),
            HeadKind::Learnable => {
                assert_ne!(head_before, head_after, "the learnable head did not train")
            }
        }
    }
}
