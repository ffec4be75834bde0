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

/// [`start`], then `run`; an error is printed as one line and the process fails.
#[allow(dead_code)] // Used by the examples that print their own errors.
pub fn run_main<A: clap::Parser>(
    run: impl FnOnce(A, burn::tensor::Device) -> Result<(), Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    let result = start::<A>()
        .map_err(Box::<dyn std::error::Error>::from)
        .and_then(|(args, device)| run(args, device));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
