//! The summariser's tokenizer: a byte-level BPE (GPT-2 style, so any text encodes without
//! unknown tokens) trained on the corpus with Hugging Face's `tokenizers` crate, saved as its
//! `tokenizer.json` beside the model.
//!
//! Ids 0..5 are the specials: the shared [`PAD`], [`BOS`], [`EOS`], [`UNK`] and the
//! prompt/summary separator [`SEP`]. A summariser row is `[BOS] description [SEP] synopsis
//! [EOS]`.

use crate::tokenizer::{BOS, EOS, PAD, SPECIALS, Tokenizer, TokenizerError, UNK};
use std::path::Path;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, TokenizerBuilder, TokenizerImpl};

/// The separator between the prompt (a description) and its completion (a summary).
pub const SEP: u32 = 4;
/// Surface strings of the specials, in id order ([`SPECIALS`] then `[SEP]`).
pub const TEXT_SPECIALS: [&str; 5] = [SPECIALS[0], SPECIALS[1], SPECIALS[2], SPECIALS[3], "[SEP]"];
/// Default vocabulary size of the shipped summariser's BPE (specials included).
pub const DEFAULT_VOCAB: usize = 4096;

type Inner = TokenizerImpl<
    BPE,
    tokenizers::NormalizerWrapper,
    tokenizers::PreTokenizerWrapper,
    tokenizers::PostProcessorWrapper,
    tokenizers::DecoderWrapper,
>;

fn library(e: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::BadVocab(format!("tokenizers: {e}"))
}

/// A byte-level BPE tokenizer with the project's specials.
#[derive(Clone)]
pub struct BpeTokenizer {
    inner: Inner,
}

impl std::fmt::Debug for BpeTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpeTokenizer")
            .field("vocab_size", &self.vocab_size())
            .finish()
    }
}

impl BpeTokenizer {
    /// Train a BPE of `vocab_size` ids (specials included; pairs seen fewer than twice are not
    /// merged) on `texts`.
    ///
    /// # Errors
    /// [`TokenizerError::BadVocab`] when `vocab_size` leaves no room beyond the specials and
    /// the 256 byte symbols, or training fails.
    pub fn train<S: AsRef<str> + Send>(
        texts: impl Iterator<Item = S> + Send,
        vocab_size: usize,
    ) -> Result<Self, TokenizerError> {
        let floor = TEXT_SPECIALS.len() + 256;
        if vocab_size <= floor {
            return Err(TokenizerError::BadVocab(format!(
                "a byte-level BPE needs more than {floor} ids (specials + 256 bytes), got {vocab_size}"
            )));
        }
        let mut trainer = BpeTrainerBuilder::new()
            .vocab_size(vocab_size)
            .min_frequency(2)
            .show_progress(false)
            .special_tokens(
                TEXT_SPECIALS
                    .iter()
                    .map(|s| AddedToken::from(*s, true))
                    .collect(),
            )
            .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
            .build();
        let mut inner: Inner = TokenizerBuilder::new()
            .with_model(BPE::default())
            .with_pre_tokenizer(Some(ByteLevel::default().into()))
            .with_decoder(Some(ByteLevelDecoder::default().into()))
            .build()
            .map_err(library)?;
        inner
            .train(&mut trainer, texts.map(|t| t.as_ref().to_string()))
            .map_err(library)?;
        let tok = Self { inner };
        tok.check_specials()?;
        Ok(tok)
    }

    /// Load a tokenizer saved by [`Tokenizer::save`] (a `tokenizers` JSON file).
    ///
    /// # Errors
    /// [`TokenizerError::Io`] when the file cannot be read, [`TokenizerError::BadVocab`] when
    /// it is not a BPE with the project's specials at ids 0..5.
    pub fn load(path: &Path) -> Result<Self, TokenizerError> {
        let text = crate::tokenizer::read_kind(path, "bpe")?;
        let inner: Inner = text.parse().map_err(library)?;
        let tok = Self { inner };
        tok.check_specials()?;
        Ok(tok)
    }

    fn check_specials(&self) -> Result<(), TokenizerError> {
        for (id, s) in TEXT_SPECIALS.iter().enumerate() {
            if self.inner.token_to_id(s) != Some(id as u32) {
                return Err(TokenizerError::BadVocab(format!(
                    "special {s} is not id {id} in the BPE vocabulary"
                )));
            }
        }
        Ok(())
    }

    /// `[BOS] prompt [SEP]`: the prompt row of a summariser, with the description cut to its
    /// first `max_tokens` tokens.
    pub fn prompt(&self, document: &str, max_tokens: usize) -> Result<Vec<u32>, TokenizerError> {
        let mut ids = vec![BOS];
        let body = self.encode(document)?;
        ids.extend_from_slice(&body[..body.len().min(max_tokens)]);
        ids.push(SEP);
        Ok(ids)
    }
}

impl Tokenizer for BpeTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let enc = self.inner.encode(text, false).map_err(library)?;
        Ok(enc.get_ids().to_vec())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let size = self.vocab_size() as u32;
        let mut kept = Vec::with_capacity(ids.len());
        for &id in ids {
            if id >= size {
                return Err(TokenizerError::BadId(id));
            }
            if id == EOS {
                break;
            }
            if id as usize >= TEXT_SPECIALS.len() {
                kept.push(id);
            }
        }
        let text = self.inner.decode(&kept, true).map_err(library)?;
        Ok(text.trim().to_string())
    }

    fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    fn specials(&self) -> crate::tokenizer::Specials {
        let mut specials = crate::tokenizer::Specials::ours();
        specials.all.push(SEP);
        specials
    }

    fn to_hf(&self) -> Option<crate::tokenizer::HfTokenizer> {
        let json = self.inner.to_string(false).ok()?;
        let name = |id: u32| Some(TEXT_SPECIALS[id as usize].to_string());
        let names = crate::tokenizer::SpecialNames {
            bos: name(BOS),
            eos: name(EOS),
            pad: name(PAD),
            unk: name(UNK),
        };
        crate::tokenizer::HfTokenizer::from_json(&json, names).ok()
    }

    fn save(&self, path: &Path) -> Result<(), TokenizerError> {
        let json = self.inner.to_string(true).map_err(library)?;
        std::fs::write(path, json)?;
        Ok(())
    }
}

const _: () = assert!(PAD == 0 && BOS == 1 && EOS == 2 && UNK == 3);

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        let lines = [
            "a library for parsing and writing JSON files",
            "development files for the JSON parsing library",
            "command-line tool to convert images between formats",
            "Python 3 module for reading and writing image files",
            "documentation for the image conversion tool",
        ];
        (0..20).flat_map(|_| lines.map(String::from)).collect()
    }

    #[test]
    fn trains_round_trips_and_saves() {
        let tok = BpeTokenizer::train(corpus().into_iter(), 400).unwrap();
        assert!(tok.vocab_size() <= 400 && tok.vocab_size() > 261);
        let text = "Python 3 module for writing JSON — naïve café files";
        let ids = tok.encode(text).unwrap();
        assert!(ids.iter().all(|&i| i as usize >= TEXT_SPECIALS.len()));
        assert_eq!(tok.decode(&ids).unwrap(), text);
        // Frequent words become single tokens.
        assert!(tok.encode(" library").unwrap().len() == 1);
        // Specials are skipped and decoding stops at EOS.
        let mut with = vec![BOS];
        with.extend(&ids);
        with.extend([EOS, ids[0]]);
        assert_eq!(tok.decode(&with).unwrap(), text);
        assert!(matches!(
            tok.decode(&[9999]),
            Err(TokenizerError::BadId(9999))
        ));
        let prompt = tok.prompt("a library for parsing", 2).unwrap();
        assert_eq!((prompt[0], prompt.len(), prompt[3]), (BOS, 4, SEP));

        let path = std::env::temp_dir().join(format!("mr-bpe-{}.json", std::process::id()));
        tok.save(&path).unwrap();
        let back = BpeTokenizer::load(&path).unwrap();
        assert_eq!(back.encode(text).unwrap(), ids);
        std::fs::write(&path, "{}").unwrap();
        assert!(BpeTokenizer::load(&path).is_err());
        std::fs::remove_file(&path).unwrap();
        assert!(BpeTokenizer::train(corpus().into_iter(), 200).is_err());
    }
}
