//! 2-D convolution (no dilation, one group) forward and backward on float32 NCHW slices,
//! images spread over rayon's threads in tasks and, within a task, taken a group at a time:
//!
//! - stride-1 5x5 and 3x3 kernels with 16 or more channels: Winograd ([`winograd`]:
//!   F(4x4, 5x5); F(6x6, 3x3) or F(4x4, 3x3), whichever transforms fewer values for the
//!   map) for the forward pass and for both gradients (the input's as the convolution of
//!   the output gradient with the flipped, transposed kernel; the weight's summed in the
//!   transformed domain), one GEMM per tile position over the group's tiles (the
//!   forward's and the input gradient's by a register-blocked AVX2 kernel of our own);
//! - otherwise im2col + one GEMM per group (the `gemm` crate, AVX-512 where the CPU has
//!   it; strides in im2col), and col2im for the input's gradient;
//! - batch norm with its shortcut add and ReLU ([`batch_norm`]).
//!
//! Bias, PReLU and 2x2 max pooling ([`After`]) are applied while a group's GEMM result is
//! still in cache, and undone the same way in the backward. Why not Burn's: flex computes
//! the input's gradient as a generic transposed convolution with scalar scatter loops and
//! the weight's as a convolution with batch and channels swapped, allocates fresh tensors
//! for each, and runs PReLU and pooling as separate passes with their own graphs.

/// `fn` items whose body runs compiled for AVX2 when this CPU has it, else for the
/// baseline: the crate is built for any x86-64, and the Winograd transforms and batch-norm
/// passes are 8-wide arithmetic the compiler vectorises only when told the CPU can (the
/// `gemm` crate picks its kernels the same way). Measured on LeNet++'s transforms: AVX2
/// 1100 inference img/s, SSE2 770, and AVX-512 (auto-vectorised, zmm) 500, so not
/// AVX-512. The body is written once; the macro compiles it twice.
macro_rules! simd_fn {
    ($(
        $(#[$meta:meta])*
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {$(
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) $(-> $ret)? $body
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body
        }
    )*};
}

mod backward;
pub mod batch_norm;
mod epilogue;
mod forward;
mod gemm;
mod im2col;
mod plan;
mod scratch;
mod shape;
pub mod winograd;

pub use backward::{conv2d_backward, ConvGrads, Wanted};
pub use epilogue::After;
pub use forward::{conv2d_forward, Forward};
pub use shape::ConvShape;

#[cfg(test)]
mod tests;
