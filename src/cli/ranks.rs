//! A command-line program on several devices of one process (`MULTIREWARD_DEVICES`): one
//! rank per device, each on its own thread, exchanging through shared memory
//! ([`InProcess`]).

use crate::device::{DeviceError, devices_from_env};
use crate::distributed::InProcess;
use std::cell::RefCell;

thread_local! {
    /// This thread's rank when the program runs one rank per device.
    static RANK: RefCell<Option<InProcess>> = const { RefCell::new(None) };
}

/// The devices of `MULTIREWARD_DEVICES` (empty: one process, one device).
pub(super) fn devices() -> Result<Vec<burn::tensor::Device>, DeviceError> {
    devices_from_env()
}

/// Run `body` once per device, each on its own thread as one rank of an in-process group
/// (rank `k` on `devices[k]`, flags parsed again by each); the first error, if any.
pub(super) fn on_devices<A: clap::Parser>(
    devices: Vec<burn::tensor::Device>,
    body: &(dyn Fn(A, burn::tensor::Device) -> Result<(), Box<dyn std::error::Error>> + Sync),
) -> Result<(), String> {
    let group = InProcess::group(devices.len());
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = group
            .into_iter()
            .zip(devices)
            .map(|(rank, device)| {
                s.spawn(move || {
                    RANK.with(|r| *r.borrow_mut() = Some(rank));
                    body(A::parse(), device).map_err(|e| super::flags::sentence(&*e))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a rank's thread panicked".into()))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// Call `f` with this thread's in-process rank, if it has one.
pub(super) fn with_rank<T>(f: impl FnOnce(Option<&InProcess>) -> T) -> T {
    RANK.with(|r| f(r.borrow().as_ref()))
}
