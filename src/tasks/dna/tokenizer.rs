//! Non-overlapping k-mer tokenizer for DNA, as the reference code's enhancer policy (k = 4).
//!
//! Why k-mers rather than single nucleotides: a 200-bp sequence is 50 tokens at k = 4 instead
//! of 200, so sampling, PPO and KL terms cost a quarter of the positions on a CPU, and the
//! reference code's policy used the same units. The vocabulary is complete (all 4^k k-mers), so
//! every ACGT sequence whose length is a multiple of k encodes, and every response of n k-mer
//! tokens decodes to exactly n·k bases.

use crate::tokenizer::{EOS, SPECIALS, Tokenizer, TokenizerError, read_kind};
use std::path::Path;

/// Bases in id order: a k-mer's id is `SPECIALS.len() + Σ base_index · 4^(k−1−i)`.
const BASES: [u8; 4] = *b"ACGT";

/// Non-overlapping k-mer tokenizer over `ACGT` (lower case accepted, decoded as upper case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DnaTokenizer {
    /// Bases per token (1..=8; the reference code: 4).
    k: usize,
}

/// The saved form (`tokenizer.json`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    kind: String,
    k: usize,
}

impl DnaTokenizer {
    /// A tokenizer of `k`-mers; `k` must be in 1..=8.
    pub fn new(k: usize) -> Result<Self, TokenizerError> {
        if !(1..=8).contains(&k) {
            return Err(TokenizerError::BadVocab(format!("k = {k}, expected 1..=8")));
        }
        Ok(Self { k })
    }

    /// Bases per token.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Read a tokenizer written by [`Tokenizer::save`].
    pub fn load(path: &Path) -> Result<Self, TokenizerError> {
        let saved: Saved = serde_json::from_str(&read_kind(path, "dna-kmer")?)?;
        Self::new(saved.k)
    }
}

impl Tokenizer for DnaTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let bytes = text.as_bytes();
        if let Some(position) = bytes
            .iter()
            .position(|b| !BASES.contains(&b.to_ascii_uppercase()))
        {
            let symbol = text[position..].chars().next().unwrap_or_default();
            return Err(TokenizerError::UnknownSymbol {
                text: text.to_string(),
                position,
                symbol: symbol.to_string(),
            });
        }
        if !bytes.len().is_multiple_of(self.k) {
            let tail = bytes.len() - bytes.len() % self.k;
            return Err(TokenizerError::UnknownToken {
                text: text.to_string(),
                token: text[tail..].to_string(),
            });
        }
        Ok(bytes
            .chunks(self.k)
            .map(|kmer| {
                let index = kmer.iter().fold(0u32, |acc, b| {
                    let base = BASES
                        .iter()
                        .position(|x| *x == b.to_ascii_uppercase())
                        .unwrap_or(0);
                    acc * 4 + base as u32
                });
                SPECIALS.len() as u32 + index
            })
            .collect())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut out = String::with_capacity(ids.len() * self.k);
        for &id in ids {
            if id == EOS {
                break;
            }
            if id as usize >= self.vocab_size() {
                return Err(TokenizerError::BadId(id));
            }
            let Some(index) = (id as usize).checked_sub(SPECIALS.len()) else {
                continue; // other specials are skipped
            };
            for i in (0..self.k).rev() {
                out.push(BASES[(index >> (2 * i)) & 3] as char);
            }
        }
        Ok(out)
    }

    fn vocab_size(&self) -> usize {
        SPECIALS.len() + (1 << (2 * self.k))
    }

    fn to_hf(&self) -> Option<crate::tokenizer::HfTokenizer> {
        let kmers = (0..1usize << (2 * self.k)).map(|index| {
            (0..self.k)
                .rev()
                .map(|i| BASES[(index >> (2 * i)) & 3] as char)
                .collect::<String>()
        });
        let tokens: Vec<String> = SPECIALS
            .iter()
            .map(|s| s.to_string())
            .chain(kmers)
            .collect();
        crate::tokenizer::HfTokenizer::word_level(&tokens, &format!("[ACGT]{{{}}}", self.k)).ok()
    }

    fn save(&self, path: &Path) -> Result<(), TokenizerError> {
        let saved = Saved {
            kind: "dna-kmer".into(),
            k: self.k,
        };
        std::fs::write(path, serde_json::to_string_pretty(&saved)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{BOS, PAD};

    #[test]
    fn round_trip_and_ids() {
        let t = DnaTokenizer::new(4).unwrap();
        assert_eq!(t.vocab_size(), 4 + 256);
        let specials = SPECIALS.len() as u32;
        assert_eq!(t.encode("AAAA").unwrap(), vec![specials]);
        assert_eq!(t.encode("TTTT").unwrap(), vec![specials + 255]);
        assert_eq!(t.encode("ACGT").unwrap(), vec![specials + 0b00_01_10_11]);
        let seq = "ACGTTGCAacgtGGGGCCCC";
        let ids = t.encode(seq).unwrap();
        assert_eq!(ids.len(), 5);
        assert_eq!(t.decode(&ids).unwrap(), seq.to_uppercase());
        // Specials are skipped, EOS ends decoding, out-of-range ids are errors.
        let mut with_specials = vec![BOS, PAD];
        with_specials.extend(&ids);
        with_specials.extend([EOS, ids[0]]);
        assert_eq!(t.decode(&with_specials).unwrap(), seq.to_uppercase());
        assert!(matches!(t.decode(&[260]), Err(TokenizerError::BadId(260))));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let t = DnaTokenizer::new(4).unwrap();
        assert!(matches!(
            t.encode("ACGN"),
            Err(TokenizerError::UnknownSymbol { position: 3, .. })
        ));
        assert!(matches!(
            t.encode("ACGTA"),
            Err(TokenizerError::UnknownToken { .. })
        ));
        assert!(t.encode("ACGé").is_err());
        assert!(DnaTokenizer::new(0).is_err() && DnaTokenizer::new(9).is_err());
    }

    #[test]
    fn saves_and_loads() {
        let t = DnaTokenizer::new(3).unwrap();
        let path = std::env::temp_dir().join(format!("mr-dna-tok-{}.json", std::process::id()));
        t.save(&path).unwrap();
        assert_eq!(DnaTokenizer::load(&path).unwrap(), t);
        std::fs::write(&path, r#"{"kind": "smiles-regex", "k": 3}"#).unwrap();
        assert!(DnaTokenizer::load(&path).is_err());
        let _ = std::fs::remove_file(&path);
    }
}
