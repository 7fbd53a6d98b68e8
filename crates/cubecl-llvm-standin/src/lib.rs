//! Stand-in for `cubecl-llvm` 0.11.3 (see Cargo.toml): what `cubecl-cuda` names, without
//! LLVM. Only the CUDA C++ path (NVRTC, cubecl-cuda's `cpp` feature) compiles kernels here.

use cubecl_core::ir::nvidia::SmArch;
use cubecl_core::prelude::KernelDefinition;
use cubecl_core::{CompilationError, Compiler};
use cubecl_environment::backtrace::BackTrace;
use cubecl_runtime::kernel::BufferIOAttr;

pub mod nvptx {
    //! PTX versions, as the real crate picks them for a driver.
    pub mod ptx_version {
        use core::fmt;

        /// A PTX ISA version: 8.7 is `87`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub struct PtxVersion(u32);

        impl PtxVersion {
            /// The newest version a driver of CUDA `driver` loads (12.8 is `12080`); `None`
            /// below CUDA 11.0. Only the LLVM path and kernel cache names read it.
            pub fn for_driver(driver: i32) -> Option<Self> {
                const DRIVER_PTX: &[(i32, u32)] = &[
                    (13030, 93),
                    (13020, 92),
                    (13010, 91),
                    (13000, 90),
                    (12090, 88),
                    (12080, 87),
                    (12050, 85),
                    (12040, 84),
                    (12030, 83),
                    (12020, 82),
                    (12010, 81),
                    (12000, 80),
                    (11080, 78),
                    (11070, 77),
                    (11060, 76),
                    (11050, 75),
                    (11040, 74),
                    (11030, 73),
                    (11020, 72),
                    (11010, 71),
                    (11000, 70),
                ];
                DRIVER_PTX
                    .iter()
                    .find(|(first, _)| driver >= *first)
                    .map(|(_, ptx)| Self(*ptx))
            }
        }

        impl fmt::Display for PtxVersion {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "ptx{}", self.0)
            }
        }
    }
}

pub mod shared {
    //! Device features the LLVM path can lower.
    pub mod lowered_features {
        use cubecl_core::ir::DeviceProperties;

        /// The GPU an LLVM compilation targets.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum GpuTarget {
            /// NVIDIA, through NVPTX.
            Nvptx,
        }

        /// The real crate narrows `props` to what its LLVM path lowers. cubecl-cuda calls it
        /// only when that path compiles, which it never does here: nothing to narrow.
        pub fn restrict_features(_props: &mut DeviceProperties, _target: GpuTarget) {}
    }
}

/// Where an LLVM compilation goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LlvmTarget {
    /// The host CPU.
    #[default]
    Cpu,
    /// NVIDIA GPUs.
    Nvptx,
}

/// The LLVM compiler's options (the fields cubecl-cuda sets).
#[derive(Clone, Debug, Default)]
pub struct PlironOptions {
    /// Unused here (AMD architecture in the real crate).
    pub arch: Option<()>,
    /// The NVIDIA architecture.
    pub sm_arch: Option<SmArch>,
    /// The PTX version to emit.
    pub ptx_version: Option<nvptx::ptx_version::PtxVersion>,
    /// Scalars in the kernel parameter block.
    pub grid_constants: bool,
}

/// A compiled PTX module: never produced here.
#[derive(Clone, Debug)]
pub struct NvptxModule {
    /// NUL-terminated PTX assembly.
    pub ptx: Vec<core::ffi::c_char>,
    /// Kernel entry point symbol.
    pub entrypoint: String,
    /// IR for logs and cache keys.
    pub ir: String,
    /// Shared memory per launch, in bytes.
    pub shared_memory_size: usize,
    /// Buffer access modes in binding order.
    pub io: Vec<BufferIOAttr>,
}

/// What the LLVM compiler produces: never produced here.
#[derive(Clone, Debug)]
pub enum PlironArtifact {
    /// PTX for the CUDA driver.
    NvptxCode(NvptxModule),
}

impl core::fmt::Display for PlironArtifact {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            PlironArtifact::NvptxCode(module) => f.write_str(&module.ir),
        }
    }
}

/// The LLVM compiler: refuses every kernel, saying why.
#[derive(Clone, Debug, Default)]
pub struct PlironCompiler {
    /// Where it would compile to.
    pub target: LlvmTarget,
}

impl Compiler for PlironCompiler {
    type Representation = PlironArtifact;
    type CompilationOptions = PlironOptions;

    fn compile(
        &mut self,
        _kernel: KernelDefinition,
        _options: &Self::CompilationOptions,
    ) -> Result<Self::Representation, CompilationError> {
        Err(CompilationError::Generic {
            reason: "this build has no LLVM (reponet replaces cubecl-llvm by a stand-in so \
                     that the CUDA backend builds offline): kernels compile through CUDA C++ \
                     and NVRTC only (cubecl-cuda's `cpp` feature)"
                .into(),
            backtrace: BackTrace::capture(),
        })
    }

    fn extension(&self) -> &'static str {
        "ll"
    }

    fn lang_tag(&self) -> &'static str {
        "llvm"
    }
}
