//! Explicit device selection.
//!
//! Burn's `Device::default()` does not probe hardware, and Cargo features unify across a
//! dependency graph, so the library never relies on it. Pick a device here: [`default_device`]
//! (the pure-Rust CPU backend when compiled in), [`parse_device`] for a user string, or
//! [`device_from_env`] for the examples (`MULTIREWARD_DEVICE`).

use burn::tensor::Device;
use thiserror::Error;

/// Environment variable the examples read to choose a device, e.g. `MULTIREWARD_DEVICE=cuda:0`.
pub const DEVICE_ENV: &str = "MULTIREWARD_DEVICE";

/// Errors from device selection.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DeviceError {
    /// The name is not one of `flex`, `wgpu`, `vulkan`, `metal`, `cuda[:N]`.
    #[error("unknown device `{0}`: expected flex, wgpu, vulkan, metal or cuda[:N]")]
    Unknown(String),
    /// The backend exists but this build was compiled without its Cargo feature.
    #[error("device `{name}` needs the `{feature}` Cargo feature, which this build does not have")]
    NotCompiled {
        /// The requested device string.
        name: String,
        /// The Cargo feature of `multireward` that compiles the backend in.
        feature: &'static str,
    },
    /// The `:N` suffix is not a non-negative integer.
    #[error("bad device index in `{0}`")]
    BadIndex(String),
}

/// The backends compiled into this build, in the order [`best_device`] prefers them.
pub fn compiled_backends() -> Vec<&'static str> {
    let mut v = Vec::new();
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "metal") {
        v.push("metal");
    }
    if cfg!(feature = "vulkan") {
        v.push("vulkan");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    if cfg!(feature = "flex") {
        v.push("flex");
    }
    v
}

/// The default device: `flex` (pure-Rust CPU) when compiled in, otherwise the best compiled GPU
/// backend. A GPU is chosen over flex only when asked, through [`best_device`], [`parse_device`]
/// or [`device_from_env`].
///
/// # Panics
/// When the crate is built with no backend feature at all (a build configuration error).
pub fn default_device() -> Device {
    if cfg!(feature = "flex") {
        return parse_device("flex").expect("flex is compiled in");
    }
    best_device()
}

/// The best compiled backend, GPU first: cuda > metal > vulkan > wgpu > flex.
///
/// # Panics
/// When the crate is built with no backend feature at all (a build configuration error).
pub fn best_device() -> Device {
    let name = compiled_backends().into_iter().next().expect(
        "multireward was built without any backend feature (flex, wgpu, vulkan, metal, cuda)",
    );
    parse_device(name).expect("a compiled backend parses")
}

/// Parse a device name: `flex`, `wgpu`, `vulkan`, `metal`, `cuda` or `cuda:N`.
///
/// Returns [`DeviceError::NotCompiled`] for a backend whose Cargo feature is off.
pub fn parse_device(name: &str) -> Result<Device, DeviceError> {
    let trimmed = name.trim().to_ascii_lowercase();
    let (kind, index) = match trimmed.split_once(':') {
        Some((k, i)) => {
            let i: usize = i
                .parse()
                .map_err(|_| DeviceError::BadIndex(name.to_string()))?;
            (k.to_string(), Some(i))
        }
        None => (trimmed.clone(), None),
    };
    let not_compiled = |feature: &'static str| DeviceError::NotCompiled {
        name: name.to_string(),
        feature,
    };
    match kind.as_str() {
        "flex" | "cpu" => {
            #[cfg(feature = "flex")]
            return Ok(Device::flex());
            #[cfg(not(feature = "flex"))]
            return Err(not_compiled("flex"));
        }
        "cuda" => {
            #[cfg(feature = "cuda")]
            return Ok(Device::cuda(index.unwrap_or(0)));
            #[cfg(not(feature = "cuda"))]
            return Err(not_compiled("cuda"));
        }
        "wgpu" => {
            #[cfg(feature = "wgpu")]
            return Ok(Device::wgpu(wgpu_kind(index)));
            #[cfg(not(feature = "wgpu"))]
            return Err(not_compiled("wgpu"));
        }
        "vulkan" => {
            #[cfg(feature = "vulkan")]
            return Ok(Device::vulkan(wgpu_kind(index)));
            #[cfg(not(feature = "vulkan"))]
            return Err(not_compiled("vulkan"));
        }
        "metal" => {
            #[cfg(feature = "metal")]
            return Ok(Device::metal(wgpu_kind(index)));
            #[cfg(not(feature = "metal"))]
            return Err(not_compiled("metal"));
        }
        _ => {}
    }
    let _ = (index, not_compiled);
    Err(DeviceError::Unknown(name.to_string()))
}

/// Whether tensors on `device` live in host memory (the `flex` CPU backend), so reading them on
/// the host needs no transfer.
pub fn is_host(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    if *device == Device::flex() {
        return true;
    }
    let _ = device;
    false
}

#[cfg(any(feature = "wgpu", feature = "vulkan", feature = "metal"))]
fn wgpu_kind(index: Option<usize>) -> burn::tensor::DeviceKind {
    match index {
        Some(i) => burn::tensor::DeviceKind::DiscreteGpu(i),
        None => burn::tensor::DeviceKind::DefaultDevice,
    }
}

/// The device named by `MULTIREWARD_DEVICE`, or [`default_device`] when it is unset or empty.
pub fn device_from_env() -> Result<Device, DeviceError> {
    match std::env::var(DEVICE_ENV) {
        Ok(s) if !s.trim().is_empty() => parse_device(&s),
        _ => Ok(default_device()),
    }
}

/// Environment variable naming several devices for one process, comma-separated (e.g.
/// `vulkan:0,vulkan:1`): the examples then run one rank per device on threads
/// ([`crate::distributed::InProcess`]).
pub const DEVICES_ENV: &str = "MULTIREWARD_DEVICES";

/// The devices named by `MULTIREWARD_DEVICES` (empty when it is unset or empty).
pub fn devices_from_env() -> Result<Vec<Device>, DeviceError> {
    match std::env::var(DEVICES_ENV) {
        Ok(s) if !s.trim().is_empty() => s.split(',').map(|d| parse_device(d.trim())).collect(),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flex_parses_and_unknown_is_typed() {
        assert!(parse_device("flex").is_ok());
        assert!(is_host(&parse_device("flex").unwrap()));
        assert!(matches!(parse_device("tpu"), Err(DeviceError::Unknown(_))));
        assert!(matches!(
            parse_device("cuda:x"),
            Err(DeviceError::BadIndex(_))
        ));
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn backend_not_compiled_is_typed() {
        assert_eq!(
            parse_device("cuda:0").err(),
            Some(DeviceError::NotCompiled {
                name: "cuda:0".into(),
                feature: "cuda"
            })
        );
    }
}
