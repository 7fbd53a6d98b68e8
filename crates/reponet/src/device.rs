//! Where the tensors live: the CPU (Burn's pure-Rust flex backend, always built), a GPU
//! through wgpu (Vulkan, Metal or DirectX; the `wgpu` feature) or CUDA (the `cuda`
//! feature, whose build downloads LLVM), or LibTorch on the CPU or a CUDA GPU (the `tch`
//! feature, for users who already have PyTorch).
//!
//! The choice is one per process, made once (the CLI's `--device`): training, evaluation,
//! embedding and benchmarks then all run on the same backend without every function of the
//! library taking a device. Nothing selected means the CPU.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use burn::tensor::Device;

/// A compute backend reponet can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComputeDevice {
    /// Burn's flex backend on the CPU (SIMD, all cores through rayon).
    #[default]
    Cpu,
    /// Burn's wgpu backend: the best GPU wgpu finds (override with
    /// `CUBECL_WGPU_DEFAULT_DEVICE`, e.g. `DiscreteGpu(1)` or `Cpu` for a software Vulkan).
    Wgpu,
    /// Burn's CUDA backend on the first NVIDIA GPU.
    Cuda,
    /// Burn's LibTorch backend on the CPU (PyTorch's own kernels, oneDNN).
    LibTorch,
    /// Burn's LibTorch backend on the first CUDA GPU (a CUDA build of libtorch).
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

    /// The Burn device (without autodiff), or why this build cannot give it.
    // Burn 0.22 marks its LibTorch devices deprecated (burn-tch is to be removed); they
    // are what the `tch` feature is for, so kept while Burn ships them.
    #[cfg_attr(feature = "tch", allow(deprecated))]
    pub fn burn_device(self) -> Result<Device, String> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(match gpu_index() {
                0 => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
                i => Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(i)),
            }),
            #[cfg(not(feature = "wgpu"))]
            Self::Wgpu => Err(NO_WGPU.into()),
            #[cfg(feature = "cuda")]
            Self::Cuda => Ok(Device::cuda(gpu_index())),
            #[cfg(not(feature = "cuda"))]
            Self::Cuda => Err(NO_CUDA.into()),
            #[cfg(feature = "tch")]
            Self::LibTorch => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            Self::LibTorchCuda => {
                // LibTorch lists its CUDA devices; none with a CPU-only libtorch or no driver.
                if !Device::enumerate(burn::tensor::DeviceType::LibTorch).is_empty() {
                    Ok(Device::libtorch_cuda(gpu_index()))
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
     `cargo build --release -p reponet-cli --features wgpu` (README.md, \"GPU\")";

#[cfg(not(feature = "cuda"))]
const NO_CUDA: &str = "this reponet was built without Burn's CUDA backend, whose build \
     downloads an LLVM bundle (cubecl-llvm): where that is possible, build with \
     `cargo build --release -p reponet-cli --features cuda`; otherwise --device wgpu runs \
     NVIDIA GPUs through Vulkan, and --device libtorch-cuda through a CUDA libtorch \
     (README.md, \"GPU\")";

#[cfg(not(feature = "tch"))]
const NO_TCH: &str = "this reponet was built without the LibTorch backend: build it with \
     `cargo build --release -p reponet-cli --features tch` where PyTorch is installed \
     (README.md, \"LibTorch\")";

impl FromStr for ComputeDevice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let device = match s.to_ascii_lowercase().as_str() {
            "cpu" => Self::Cpu,
            "wgpu" | "gpu" => Self::Wgpu,
            "libtorch" | "tch" => Self::LibTorch,
            "libtorch-cuda" | "tch-cuda" => Self::LibTorchCuda,
            "cuda" => Self::Cuda,
            other => {
                return Err(format!(
                    "device '{other}': expected cpu, wgpu, cuda, libtorch or libtorch-cuda"
                ))
            }
        };
        device.burn_device().map(|_| device)
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
            Self::LibTorch => "libtorch",
            Self::LibTorchCuda => "libtorch-cuda",
        })
    }
}

static SELECTED: OnceLock<ComputeDevice> = OnceLock::new();
static GPU_INDEX: OnceLock<usize> = OnceLock::new();

/// Which GPU of the machine the GPU devices take: each rank of a data-parallel job on one
/// machine takes the one of its local rank (set once, before [`select`]); 0 unless set.
pub fn select_gpu_index(index: usize) {
    let _ = GPU_INDEX.set(index);
}

// Read by the GPU backends only.
#[cfg_attr(
    not(any(feature = "wgpu", feature = "cuda", feature = "tch")),
    allow(dead_code)
)]
fn gpu_index() -> usize {
    GPU_INDEX.get().copied().unwrap_or(0)
}

/// Choose the process's device, once; a second, different choice is refused.
pub fn select(device: ComputeDevice) -> Result<(), String> {
    device.burn_device()?;
    let chosen = *SELECTED.get_or_init(|| device);
    if chosen == device {
        Ok(())
    } else {
        Err(format!(
            "the device is already {chosen}; it is chosen once per process"
        ))
    }
}

/// The chosen device, the CPU if none was.
pub fn selected() -> ComputeDevice {
    SELECTED.get().copied().unwrap_or_default()
}

/// The Burn device of [`selected`] (without autodiff).
pub fn current() -> Device {
    selected()
        .burn_device()
        .expect("select() only accepts devices this build has")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses_clearly() {
        assert_eq!("CPU".parse::<ComputeDevice>(), Ok(ComputeDevice::Cpu));
        if cfg!(not(feature = "cuda")) {
            let err = "cuda".parse::<ComputeDevice>().unwrap_err();
            assert!(
                err.contains("--features cuda") && err.contains("wgpu"),
                "{err}"
            );
        }
        assert!("tpu"
            .parse::<ComputeDevice>()
            .unwrap_err()
            .contains("cpu, wgpu, cuda, libtorch or libtorch-cuda"));
        if cfg!(not(feature = "wgpu")) {
            let err = "wgpu".parse::<ComputeDevice>().unwrap_err();
            assert!(err.contains("--features wgpu"), "{err}");
        }
        if cfg!(not(feature = "tch")) {
            let err = "libtorch".parse::<ComputeDevice>().unwrap_err();
            assert!(err.contains("--features tch"), "{err}");
        }
        for device in ComputeDevice::available() {
            let name = device.to_string();
            // libtorch-cuda is compiled in with tch, but parses only where a GPU is seen.
            if let Ok(parsed) = name.parse::<ComputeDevice>() {
                assert_eq!(parsed, device);
            }
        }
        assert_eq!(ComputeDevice::Cpu.to_string(), "cpu");
    }
}
