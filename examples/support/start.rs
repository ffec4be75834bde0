//! The first lines of every example: keep freed memory for reuse (`alloc.rs`), parse the
//! command line, pick the device (`MULTIREWARD_DEVICE`, else the default). The comparison
//! examples may then run on several devices instead (`ranks.rs`).

#[path = "alloc.rs"]
mod alloc;

use multireward::device::{DeviceError, device_from_env};

/// Set up the allocator, parse the flags `A` and choose the device.
pub fn start<A: clap::Parser>() -> Result<(A, burn::tensor::Device), DeviceError> {
    alloc::keep_freed_memory();
    Ok((A::parse(), device_from_env()?))
}
