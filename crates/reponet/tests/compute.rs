//! The compute choice is a value: two models in one process, one on reponet's convolution
//! kernels and one on Burn's, side by side, give the same features (float32 sums in other
//! orders: within 1e-4 of the largest feature), for MNIST's input and for the other shapes
//! a folder dataset brings (RGB, odd sides that the poolings floor).

use burn::tensor::{Distribution, Tensor};
use reponet::data::ImageShape;
use reponet::device::{Compute, ConvKernels};
use reponet::geometry::{Polytope, PolytopeKind};
use reponet::nn::{HeadKind, Network};

#[test]
fn two_kernel_choices_in_one_process_agree() {
    for (channels, rows, cols) in [(1, 28, 28), (3, 32, 32), (3, 21, 13), (1, 8, 8)] {
        agree_on(ImageShape {
            channels,
            rows,
            cols,
        });
    }
}

fn agree_on(input: ImageShape) {
    let device = Compute::default().burn_device().unwrap();
    let polytope = Polytope::new(PolytopeKind::Simplex, 10).unwrap();
    let ours = Network::seeded(&polytope, HeadKind::Fixed, input, &device, 3);
    let burns = Network::seeded(&polytope, HeadKind::Fixed, input, &device, 3)
        .with_conv_kernels(ConvKernels::Burn);
    let shape = [6, input.channels, input.rows, input.cols];
    let images = Tensor::<4>::random(shape, Distribution::Default, &device);
    let a: Vec<f32> = ours
        .features(images.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let b: Vec<f32> = burns
        .features(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let scale = a.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = a
        .iter()
        .zip(&b)
        .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(scale > 0.0);
    assert!(
        worst <= 1e-4 * scale,
        "{input}: differ by {worst} (scale {scale})"
    );
}

#[test]
fn compute_refuses_backends_this_build_lacks() {
    use reponet::device::ComputeDevice;
    for device in [
        ComputeDevice::Wgpu,
        ComputeDevice::Cuda,
        ComputeDevice::LibTorch,
    ] {
        if !ComputeDevice::available().contains(&device) {
            let err = Compute::new(device).unwrap_err();
            assert!(err.contains("--features"), "{err}");
        }
    }
    assert_eq!(
        Compute::new(ComputeDevice::Cpu).unwrap(),
        Compute::default()
    );
}
