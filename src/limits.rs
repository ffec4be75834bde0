//! What a setting may be: [`SettingError`] (a config's field out of range, named) and the upper
//! bounds on sizes that every config's `validate` checks before anything is allocated.
//!
//! The bounds, in checked arithmetic (a product that overflows `u64` is over every bound):
//! - **memory**: a buffer one step holds at once (e.g. a rollout's logits, samples × tokens ×
//!   vocabulary `f32`s) must fit in [`memory`], the machine's physical memory (Linux
//!   `/proc/meminfo`; elsewhere [`FALLBACK_MEMORY`]). The estimates are lower bounds of what
//!   is really allocated, so a plan refused cannot run here, and one accepted may still not;
//! - **work**: a run (or a comparison) may sample or train on at most [`MAX_ROWS`] sequences
//!   in all (10¹² — 30 years at a thousand sequences per second); beyond that a count is a
//!   typo, not a plan;
//! - **token ids** are `u32`: a vocabulary (with RiC's conditioning tokens) holds at most
//!   2³² tokens.

use std::sync::OnceLock;
use thiserror::Error;

/// The machine's memory when it cannot be read (1 TiB).
pub const FALLBACK_MEMORY: u64 = 1 << 40;

/// The most sequences a run or a comparison may sample or train on, in all (10¹²).
pub const MAX_ROWS: u64 = 1_000_000_000_000;

/// The most tokens a vocabulary may hold: token ids are `u32`.
pub const MAX_VOCAB: u64 = 1 << 32;

/// A setting of one of the library's configs is out of range; nothing was run.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{config}.{field} {message}")]
pub struct SettingError {
    /// The config (`PpoConfig`, `RicConfig`, …).
    pub config: &'static str,
    /// The field, nested fields joined by dots (`sft.grad_clip`).
    pub field: &'static str,
    /// What is wrong and what to do, as the rest of a sentence.
    pub message: String,
}

/// The range checks of one config's `validate`, each error naming `config` and the field.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checks(pub &'static str);

impl Checks {
    /// A [`SettingError`] of `field`.
    pub fn error(self, field: &'static str, message: String) -> SettingError {
        SettingError {
            config: self.0,
            field,
            message,
        }
    }

    /// `v ≥ min`; `what` names the setting in the error.
    pub fn at_least(
        self,
        field: &'static str,
        v: usize,
        min: usize,
        what: &str,
    ) -> Result<(), SettingError> {
        match v < min {
            true => Err(self.error(field, format!("is {v}; {what} must be at least {min}"))),
            false => Ok(()),
        }
    }

    /// `v` finite and > 0.
    pub fn positive<T: Into<f64> + Copy + std::fmt::Display>(
        self,
        field: &'static str,
        v: T,
        what: &str,
    ) -> Result<(), SettingError> {
        self.holds(
            field,
            v,
            what,
            |x| x.is_finite() && x > 0.0,
            "finite and > 0",
        )
    }

    /// `v` finite and ≥ 0.
    pub fn non_negative<T: Into<f64> + Copy + std::fmt::Display>(
        self,
        field: &'static str,
        v: T,
        what: &str,
    ) -> Result<(), SettingError> {
        self.holds(
            field,
            v,
            what,
            |x| x.is_finite() && x >= 0.0,
            "finite and ≥ 0",
        )
    }

    /// `v` in [0, 1].
    pub fn unit<T: Into<f64> + Copy + std::fmt::Display>(
        self,
        field: &'static str,
        v: T,
        what: &str,
    ) -> Result<(), SettingError> {
        self.holds(field, v, what, |x| (0.0..=1.0).contains(&x), "in [0, 1]")
    }

    /// `v` passes `ok`, else "is {v}; {what} must be {rule}".
    fn holds<T: Into<f64> + Copy + std::fmt::Display>(
        self,
        field: &'static str,
        v: T,
        what: &str,
        ok: impl Fn(f64) -> bool,
        rule: &str,
    ) -> Result<(), SettingError> {
        match ok(v.into()) {
            true => Ok(()),
            false => Err(self.error(field, format!("is {v}; {what} must be {rule}"))),
        }
    }

    /// `bytes` (an estimate of one buffer, `None` past `u64`) fit in [`memory`]; the error
    /// says `estimate` (how the bytes were counted) and what to lower.
    pub fn fits(
        self,
        field: &'static str,
        bytes: Option<u64>,
        estimate: &str,
    ) -> Result<(), SettingError> {
        match fits(bytes) {
            true => Ok(()),
            false => Err(self.error(field, too_large(bytes, estimate))),
        }
    }

    /// `rows` (sequences sampled or trained on, `None` past `u64`) at most [`MAX_ROWS`].
    pub fn work(
        self,
        field: &'static str,
        rows: Option<u64>,
        estimate: &str,
    ) -> Result<(), SettingError> {
        match within_work(rows) {
            true => Ok(()),
            false => Err(self.error(field, too_long(rows, estimate))),
        }
    }
}

/// The machine's physical memory in bytes (read once; [`FALLBACK_MEMORY`] when unknown).
pub fn memory() -> u64 {
    static MEMORY: OnceLock<u64> = OnceLock::new();
    *MEMORY.get_or_init(|| {
        let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        text.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .and_then(|kb| kb.checked_mul(1024))
            .filter(|&b| b > 0)
            .unwrap_or(FALLBACK_MEMORY)
    })
}

/// The product of `factors`, `None` when it overflows `u64`.
pub fn product(factors: &[usize]) -> Option<u64> {
    factors
        .iter()
        .try_fold(1u64, |acc, &f| acc.checked_mul(u64::try_from(f).ok()?))
}

/// Whether a buffer of `bytes` (`None`: past `u64`) fits in [`memory`].
pub fn fits(bytes: Option<u64>) -> bool {
    bytes.is_some_and(|b| b <= memory())
}

/// Whether `rows` sequences (`None`: past `u64`) are within [`MAX_ROWS`].
pub fn within_work(rows: Option<u64>) -> bool {
    rows.is_some_and(|r| r <= MAX_ROWS)
}

/// `bytes` in words: "12.5 GiB", or "more than 2⁶⁴ bytes".
pub fn gib(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        None => "more than 2⁶⁴ bytes".into(),
    }
}

/// The rest of a sentence refusing a buffer of `bytes`, counted as `estimate`.
pub fn too_large(bytes: Option<u64>, estimate: &str) -> String {
    format!(
        "is too large: {estimate} take {}, more than this machine's {} of memory; lower it",
        gib(bytes),
        gib(Some(memory()))
    )
}

/// The rest of a sentence refusing `rows` sequences of work, counted as `estimate`.
pub fn too_long(rows: Option<u64>, estimate: &str) -> String {
    let rows = rows.map_or("more than 2⁶⁴".into(), |r| r.to_string());
    format!(
        "is too large: {estimate} make {rows} sequences to sample or train on, more than the \
         {MAX_ROWS} any run can finish; lower it"
    )
}

/// Whether a vocabulary of `vocab` tokens can take `extra` more, each a row of `width` floats
/// in `copies` matrices (the token embedding, and an untied LM head): the ids within
/// [`MAX_VOCAB`], the new rows within [`memory`]. The error is the rest of a sentence
/// starting with "the policy does not support".
pub fn extra_tokens(vocab: usize, extra: usize, width: usize, copies: usize) -> Result<(), String> {
    let total = (vocab as u64).checked_add(extra as u64);
    if total.is_none_or(|t| t > MAX_VOCAB) {
        return Err(format!(
            "{extra} extra tokens: with its {vocab} tokens the vocabulary would exceed the \
             {MAX_VOCAB} token ids there are (u32)"
        ));
    }
    let bytes = product(&[extra, width, copies, 4]);
    match fits(bytes) {
        true => Ok(()),
        false => Err(format!(
            "{extra} extra tokens: their {copies} × {width}-wide rows would take {}, more than \
             this machine's {} of memory",
            gib(bytes),
            gib(Some(memory()))
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_overflow_to_none() {
        assert_eq!(product(&[3, 4, 5]), Some(60));
        assert_eq!(product(&[usize::MAX, 2]), None);
        assert!(!fits(None) && !within_work(product(&[1 << 30, 1 << 30])));
        assert!(memory() >= 1 << 20);
        let e = Checks("OptimizerConfig").positive("lr", -5.0, "the learning rate");
        assert_eq!(
            e.unwrap_err().to_string(),
            "OptimizerConfig.lr is -5; the learning rate must be finite and > 0"
        );
    }
}
