//! Text summarisation (in progress): the rewards of the paper's third domain, on a stand-in
//! corpus of Debian package descriptions and their synopses (`data/README.md`).
//!
//! - [`rouge`], agreement with the human reference: ROUGE-L exactly as Google's rouge-score
//!   computes it ([`RougeL`], [`RougeReward`]).

pub mod rouge;

pub use rouge::{RougeL, RougeReward, RougeScore};
