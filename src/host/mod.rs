//! The CPU-only speed code, in one place: what runs instead of Burn's generic kernels when
//! tensors live on the host CPU backend (`flex`). Each piece computes what Burn would (the
//! tests compare them), only faster on this machine class; on every other device the callers
//! take Burn's path. Whether a device gets these paths is decided by [`enabled`] alone.
//!
//! - [`gelu`]: exact-erf GELU and its derivative, vectorised on the rayon pool;
//! - [`burn_ext`]: those kernels as a Burn backend extension (the only module that imports
//!   Burn's autodiff internals);
//! - [`decode`]: one KV-cached decoding step of a GPT on host buffers;
//! - [`merge`]: the linear merge `Σ w_k θ_k` in place in the first model's buffers.
//!
//! docs/performance.md measures each against Burn's own path.

#[cfg(feature = "flex")]
pub(crate) mod burn_ext;
pub(crate) mod decode;
pub(crate) mod gelu;
mod layers;
pub(crate) mod merge;
pub(crate) mod view;

use burn::tensor::Device;

/// Whether `device` gets the host paths: the host CPU backend ([`crate::device::is_host`]).
pub(crate) fn enabled(device: &Device) -> bool {
    crate::device::is_host(device)
}
