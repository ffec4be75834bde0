//! Domain code that plugs tokenizers, rewards and metrics into the generic layers.

pub mod dna;
mod mlp;
pub mod molecules;
pub mod text;
