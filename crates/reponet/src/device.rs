//! Where the tensors live: the CPU (Burn's pure-Rust flex backend, always built) or a GPU
//! through wgpu (Vulkan, Metal or DirectX; the `wgpu` feature).
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
}

impl ComputeDevice {
    /// The backends compiled into this build.
    pub fn available() -> Vec<Self> {
        let mut all = vec![Self::Cpu];
        if cfg!(feature = "wgpu") {
            all.push(Self::Wgpu);
        }
        all
    }

    /// The Burn device (without autodiff), or why this build cannot give it.
    pub fn burn_device(self) -> Result<Device, String> {
        match self {
            Self::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[cfg(not(feature = "wgpu"))]
            Self::Wgpu => Err(NO_WGPU.into()),
        }
    }

    /// A short description for reports and benchmark tables.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Cpu => "burn 0.22.1 flex (CPU)",
            Self::Wgpu => "burn 0.22.1 wgpu (GPU)",
        }
    }
}

#[cfg(not(feature = "wgpu"))]
const NO_WGPU: &str = "this reponet was built without the GPU backend: build it with \
     `cargo build --release -p reponet-cli --features wgpu` (README.md, \"GPU\")";

impl FromStr for ComputeDevice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let device = match s.to_ascii_lowercase().as_str() {
            "cpu" => Self::Cpu,
            "wgpu" | "gpu" => Self::Wgpu,
            "cuda" => {
                return Err("cuda: Burn 0.22.1's CUDA backend cannot be built from the \
                            package registries alone (cubecl's build script downloads LLVM); \
                            use --device wgpu, which runs on NVIDIA GPUs through Vulkan"
                    .into())
            }
            other => return Err(format!("device '{other}': expected cpu or wgpu")),
        };
        device.burn_device().map(|_| device)
    }
}

impl fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
        })
    }
}

static SELECTED: OnceLock<ComputeDevice> = OnceLock::new();

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
        assert!("cuda"
            .parse::<ComputeDevice>()
            .unwrap_err()
            .contains("wgpu"));
        assert!("tpu"
            .parse::<ComputeDevice>()
            .unwrap_err()
            .contains("cpu or wgpu"));
        if cfg!(not(feature = "wgpu")) {
            let err = "wgpu".parse::<ComputeDevice>().unwrap_err();
            assert!(err.contains("--features wgpu"), "{err}");
        }
        assert_eq!(ComputeDevice::Cpu.to_string(), "cpu");
    }
}
