//! Domain code that plugs data readers, tokenizers, rewards, metrics and the paper's model
//! shapes into the generic layers: [`molecules`] (SMILES, QM9), [`dna`] (DHS enhancers, motifs,
//! cell-type classifiers), [`text`] (Debian summaries, BPE, MiniLM, ROUGE). A private `mlp`
//! module holds the small dense networks the molecule and DNA models share.

pub mod dna;
mod mlp;
pub mod molecules;
pub mod text;
