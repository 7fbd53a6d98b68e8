//! Where the tensors live: the CPU (Burn's pure-Rust flex backend, always built), a GPU
//! through wgpu (Vulkan, Metal or DirectX; the `wgpu` feature) or CUDA (the `cuda`
//! feature), or LibTorch on the CPU or a CUDA GPU (the `tch`
//! feature, for users who already have PyTorch).
//!
//! The choice is a value, [`Compute`]: the device, which of the machine's GPUs, and whose
//! convolution kernels the CPU runs. Training, evaluation, embedding and benchmarks take
//! one, so a program may use two devices at once; only the command line reads the
//! environment (`REPONET_CONV`) or picks a default.

use burn::tensor::Device;
pub use reponet_conv::ConvKernels;

/// A compute backend reponet can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::Display, strum::EnumString)]
#[strum(serialize_all = "kebab-case", ascii_case_insensitive)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum ComputeDevice {
    /// Burn's flex backend on the CPU (SIMD, all cores through rayon).
    #[default]
    Cpu,
    /// Burn's wgpu backend: the best GPU wgpu finds (override with
    /// `CUBECL_WGPU_DEFAULT_DEVICE`, e.g. `DiscreteGpu(1)` or `Cpu` for a software Vulkan).
    #[strum(to_string = "wgpu", serialize = "gpu")]
    #[cfg_attr(feature = "clap", value(alias = "gpu"))]
    Wgpu,
    /// Burn's CUDA backend on the first NVIDIA GPU.
    Cuda,
    /// Burn's LibTorch backend on the CPU (PyTorch's own kernels, oneDNN).
    #[strum(to_string = "libtorch", serialize = "tch")]
    #[cfg_attr(feature = "clap", value(name = "libtorch", alias = "tch"))]
    LibTorch,
    /// Burn's LibTorch backend on the first CUDA GPU (a CUDA build of libtorch).
    #[strum(to_string = "libtorch-cuda", serialize = "tch-cuda")]
    #[cfg_attr(feature = "clap", value(name = "libtorch-cuda", alias = "tch-cuda"))]
    LibTorchCuda,
}

impl ComputeDevice {
    /// The backends compiled into this build.
    pub fn available() -> Vec<Self> {
        let mut all = vec![Self::Cpu];
        if cfg!(feature = "wgpu") {
            all.push(Self::Wgpu);
        }
        if cfg!(feature = "cuda") {
            all.push(Self::Cuda);
        }
        if cfg!(feature = "tch") {
            all.push(Self::LibTorch);
            all.push(Self::LibTorchCuda);
        }
        all
    }

    /// The Burn device (without autodiff) on the machine's GPU `gpu` (counted from 0;
    /// ignored on the CPU), or why this build cannot give it.
    // Burn 0.22 marks its LibTorch devices deprecated (burn-tch is to be removed); they
    // are what the `tch` feature is for, so kept while Burn ships them.
    #[cfg_attr(feature = "tch", allow(deprecated))]
    #[cfg_attr(
        not(any(feature = "wgpu", feature = "cuda", feature = "tch")),
        allow(unused_variables)
    )]
    pub fn burn_device(self, gpu: usize) -> Result<Device, String> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(match gpu {
                0 => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                i => Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(i)),
            }),
            #[cfg(not(feature = "wgpu"))]
            Self::Wgpu => Err(NO_WGPU.into()),
            #[cfg(feature = "cuda")]
            Self::Cuda => Ok(Device::cuda(gpu)),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda => Err(NO_CUDA.into()),
            #[cfg(feature = "tch")]
            Self::LibTorch => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            Self::LibTorchCuda => {
                // LibTorch lists its CUDA devices; none with a CPU-only libtorch or no driver.
                if !Device::enumerate(burn::tensor::DeviceType::LibTorch).is_empty() {
                    Ok(Device::libtorch_cuda(gpu))
                } else {
                    Err("libtorch-cuda: this libtorch sees no CUDA GPU (a CPU-only \
                         libtorch, or no driver); use --device libtorch"
                        .into())
                }
            }
            #[cfg(not(feature = "tch"))]
            Self::LibTorch | Self::LibTorchCuda => Err(NO_TCH.into()),
        }
    }

    /// A short description for reports and benchmark tables.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Cpu => "burn 0.22.1 flex (CPU)",
            Self::Wgpu => "burn 0.22.1 wgpu (GPU)",
            Self::Cuda => "burn 0.22.1 cuda (GPU)",
            Self::LibTorch => "burn 0.22.1 tch (LibTorch, CPU)",
            Self::LibTorchCuda => "burn 0.22.1 tch (LibTorch, CUDA)",
        }
    }
}

#[cfg(not(feature = "wgpu"))]
const NO_WGPU: &str = "this reponet was built without the GPU backend: build it with \
     `cargo build --release -p reponet-cli --features wgpu` (docs/gpu.md)";

#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str = "this reponet was built without Burn's CUDA backend: build it with \
     `cargo build --release -p reponet-cli --features cuda` (offline too; at run time it needs \
     the NVIDIA driver and NVRTC with the CUDA headers, docs/gpu.md); --device wgpu \
     also runs NVIDIA GPUs, through Vulkan";

#[cfg(not(feature = "tch"))]
const NO_TCH: &str = "this reponet was built without the LibTorch backend: build it with \
     `cargo build --release -p reponet-cli --features tch` where PyTorch is installed \
     (docs/gpu.md, \"LibTorch\")";

/// Where and how a job computes: the device, which GPU, and whose convolution kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compute {
    /// The backend.
    pub device: ComputeDevice,
    /// Which of the machine's GPUs the GPU backends take (from 0): in a data-parallel job,
    /// each rank on a machine takes its local rank's.
    pub gpu: usize,
    /// Whose convolution kernels the CPU backend runs (other backends run their own).
    pub conv: ConvKernels,
}

impl Compute {
    /// `device` on its first GPU with reponet's kernels, if this build has it.
    pub fn new(device: ComputeDevice) -> Result<Self, String> {
        let compute = Self {
            device,
            ..Self::default()
        };
        compute.burn_device()?;
        Ok(compute)
    }

    /// The Burn device (without autodiff).
    pub fn burn_device(&self) -> Result<Device, String> {
        self.device.burn_device(self.gpu)
    }

    /// The Burn device, for code that was handed a `Compute` already checked by
    /// [`Compute::new`] (or the default CPU): a device this build lacks is a bug there.
    pub(crate) fn device(&self) -> Device {
        self.burn_device()
            .unwrap_or_else(|e| panic!("{self:?} was not checked with Compute::new: {e}"))
    }

    /// Whose convolutions run: `conv` on the CPU; the GPU backends run Burn's, LibTorch
    /// PyTorch's.
    pub fn conv_kernels(&self) -> String {
        match self.device {
            ComputeDevice::Cpu => self.conv.to_string(),
            gpu @ (ComputeDevice::Wgpu | ComputeDevice::Cuda) => format!("burn ({gpu})"),
            ComputeDevice::LibTorch | ComputeDevice::LibTorchCuda => "libtorch".into(),
        }
    }

    /// A short description for reports: the backend and whose convolution kernels.
    pub fn describe(&self) -> String {
        format!(
            "{}, {} conv kernels",
            self.device.describe(),
            self.conv_kernels()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_clearly() {
        assert_eq!("CPU".parse::<ComputeDevice>(), Ok(ComputeDevice::Cpu));
        assert_eq!("gpu".parse::<ComputeDevice>(), Ok(ComputeDevice::Wgpu));
        assert_eq!("tch-cuda".parse(), Ok(ComputeDevice::LibTorchCuda));
        assert!("tpu".parse::<ComputeDevice>().is_err());
        if cfg!(not(feature = "cuda")) {
            let err = Compute::new(ComputeDevice::Cuda).unwrap_err();
            assert!(
                err.contains("--features cuda") && err.contains("wgpu"),
                "{err}"
            );
        }
        if cfg!(not(feature = "wgpu")) {
            let err = Compute::new(ComputeDevice::Wgpu).unwrap_err();
            assert!(err.contains("--features wgpu"), "{err}");
        }
        if cfg!(not(feature = "tch")) {
            let err = Compute::new(ComputeDevice::LibTorch).unwrap_err();
            assert!(err.contains("--features tch"), "{err}");
        }
        for device in ComputeDevice::available() {
            assert_eq!(device.to_string().parse(), Ok(device));
        }
        assert_eq!(ComputeDevice::LibTorchCuda.to_string(), "libtorch-cuda");
        assert_eq!(Compute::default().conv, ConvKernels::Reponet);
    }
}
