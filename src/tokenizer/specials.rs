//! [`Specials`]: where a tokenizer's (and its policy's) special tokens are.

use serde::{Deserialize, Serialize};

/// The special token ids a policy and its tokenizer agree on. Sampling stops at [`Specials::eos`],
/// prompts start with [`Specials::bos`] when the family has one, and [`Specials::all`] lists
/// every special id (e.g. to keep them out of responses with
/// [`SamplingConfig::suppress`](crate::policy::SamplingConfig::suppress)).
///
/// ```
/// use multireward::tokenizer::Specials;
///
/// let ours = Specials::ours();
/// assert_eq!((ours.bos, ours.eos(), ours.pad), (Some(1), 2, 0));
/// // Qwen2-style: no BOS; unconditional generation starts from the end-of-text token.
/// let qwen = Specials { bos: None, eos: vec![7], pad: 7, all: vec![7, 8] };
/// assert_eq!(qwen.start(), 7);
/// assert!(qwen.validate(9).is_ok() && qwen.validate(7).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Specials {
    /// Beginning of sequence, placed first in every prompt (`None`: the family has none).
    pub bos: Option<u32>,
    /// End-of-sequence ids (at least one; generation configs may list several): a response
    /// ends at the first of any of them.
    pub eos: Vec<u32>,
    /// Padding id (families without one pad with their EOS); padded slots are masked, so the
    /// id only has to exist.
    pub pad: u32,
    /// Every special id of the tokenizer (BOS, EOS, PAD, UNK and added control tokens).
    pub all: Vec<u32>,
}

impl Default for Specials {
    fn default() -> Self {
        Self::ours()
    }
}

impl Specials {
    /// Our own tokenizers' specials: `[PAD]` 0, `[BOS]` 1, `[EOS]` 2, `[UNK]` 3.
    pub fn ours() -> Self {
        Self {
            bos: Some(super::BOS),
            eos: vec![super::EOS],
            pad: super::PAD,
            all: vec![super::PAD, super::BOS, super::EOS, super::UNK],
        }
    }

    /// The first EOS id (the one appended to training rows).
    pub fn eos(&self) -> u32 {
        self.eos.first().copied().unwrap_or(super::EOS)
    }

    /// Whether `id` ends a response.
    pub fn is_eos(&self, id: u32) -> bool {
        self.eos.contains(&id)
    }

    /// The prompt of unconditional generation: BOS, or EOS for a family without BOS (GPT-2
    /// and Qwen2 start documents after their end-of-text token).
    pub fn start(&self) -> u32 {
        self.bos.unwrap_or_else(|| self.eos())
    }

    /// Check that there is an EOS and every id is below `vocab`.
    pub fn validate(&self, vocab: usize) -> Result<(), String> {
        if self.eos.is_empty() {
            return Err("no end-of-sequence token id".into());
        }
        let ids = self
            .bos
            .iter()
            .chain(&self.eos)
            .chain([&self.pad])
            .chain(&self.all);
        match ids.copied().find(|&id| id as usize >= vocab) {
            Some(id) => Err(format!(
                "special token id {id} is outside the vocabulary of {vocab} tokens"
            )),
            None => Ok(()),
        }
    }
}
