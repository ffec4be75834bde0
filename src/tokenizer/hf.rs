//! [`HfTokenizer`]: a Hugging Face tokenizer directory (`tokenizer.json` through the
//! `tokenizers` crate, the special tokens named in `tokenizer_config.json`).

use super::{Specials, Tokenizer, TokenizerError};
use serde_json::{Value, json};
use std::path::Path;

/// `tokenizer.json` of a Hugging Face directory.
pub const HF_TOKENIZER_FILE: &str = "tokenizer.json";
/// `tokenizer_config.json`: which tokens are BOS, EOS, PAD and UNK.
pub const HF_TOKENIZER_CONFIG_FILE: &str = "tokenizer_config.json";
/// `special_tokens_map.json`: the same names, as older transformers versions read them.
pub const HF_SPECIAL_TOKENS_FILE: &str = "special_tokens_map.json";

/// Surface strings of a tokenizer's BOS, EOS, PAD and UNK (`None`: it has none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecialNames {
    /// Beginning of sequence.
    pub bos: Option<String>,
    /// End of sequence.
    pub eos: Option<String>,
    /// Padding.
    pub pad: Option<String>,
    /// Unknown token.
    pub unk: Option<String>,
}

/// A Hugging Face tokenizer: `tokenizer.json` plus the special tokens of
/// `tokenizer_config.json`. Encoding adds no specials (prompts get BOS from [`Specials`], which
/// has one only when the tokenizer itself adds it, as Llama's do); decoding stops at the first
/// EOS and skips special tokens.
#[derive(Clone)]
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    names: SpecialNames,
    specials: Specials,
    vocab: usize,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("vocab_size", &self.vocab)
            .field("specials", &self.specials)
            .finish()
    }
}

fn bad(path: &Path, what: impl std::fmt::Display) -> TokenizerError {
    TokenizerError::BadVocab(format!("{}: {what}", path.display()))
}

/// A special token's name in `tokenizer_config.json`: a string, `{"content": …}` or null.
fn token_name(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content")?.as_str().map(String::from),
        _ => None,
    }
}

impl HfTokenizer {
    /// Read `tokenizer.json` and `tokenizer_config.json` (optional) of the directory `dir`.
    ///
    /// # Errors
    /// [`TokenizerError::BadVocab`] naming the file when `tokenizer.json` is missing or not a
    /// `tokenizers` file, a named special token is not in the vocabulary, or no EOS is named.
    pub fn from_dir(dir: &Path) -> Result<Self, TokenizerError> {
        let path = dir.join(HF_TOKENIZER_FILE);
        let json = std::fs::read_to_string(&path).map_err(|e| bad(&path, e))?;
        let config_path = dir.join(HF_TOKENIZER_CONFIG_FILE);
        let config: Value = match std::fs::read_to_string(&config_path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| bad(&config_path, e))?,
            Err(_) => Value::Null,
        };
        let names = SpecialNames {
            bos: token_name(config.get("bos_token")),
            eos: token_name(config.get("eos_token")),
            pad: token_name(config.get("pad_token")),
            unk: token_name(config.get("unk_token")),
        };
        Self::from_json(&json, names).map_err(|e| bad(&path, e))
    }

    /// From `tokenizers` JSON and the names of the specials.
    ///
    /// # Errors
    /// [`TokenizerError::BadVocab`] when the JSON is not a tokenizer, a named special is not in
    /// its vocabulary, or no EOS is named.
    pub fn from_json(json: &str, names: SpecialNames) -> Result<Self, TokenizerError> {
        let inner = tokenizers::Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| TokenizerError::BadVocab(format!("not a tokenizers file: {e}")))?;
        let vocab = inner
            .get_vocab(true)
            .values()
            .max()
            .map_or(0, |&m| m as usize + 1);
        let id = |name: &Option<String>, what: &str| -> Result<Option<u32>, TokenizerError> {
            match name {
                None => Ok(None),
                Some(n) => inner.token_to_id(n).map(Some).ok_or_else(|| {
                    TokenizerError::BadVocab(format!(
                        "the {what} token {n:?} is not in the vocabulary"
                    ))
                }),
            }
        };
        // BOS starts prompts only where the tokenizer itself adds it (Llama's do; GPT-2's and
        // Qwen2's name one but never add it).
        let adds = |b: u32| {
            inner
                .encode("a", true)
                .is_ok_and(|e| e.get_ids().first() == Some(&b))
        };
        let bos = id(&names.bos, "BOS")?;
        let eos = id(&names.eos, "EOS")?.ok_or_else(|| {
            TokenizerError::BadVocab("no EOS token is named (eos_token in tokenizer_config)".into())
        })?;
        let pad = id(&names.pad, "PAD")?.unwrap_or(eos);
        let unk = id(&names.unk, "UNK")?;
        let mut all: Vec<u32> = inner
            .get_added_tokens_decoder()
            .iter()
            .filter(|(_, t)| t.special)
            .map(|(&i, _)| i)
            .chain(bos)
            .chain([eos, pad])
            .chain(unk)
            .collect();
        all.sort_unstable();
        all.dedup();
        let specials = Specials {
            bos: bos.filter(|&b| adds(b)),
            eos: vec![eos],
            pad,
            all,
        };
        Ok(Self {
            inner,
            names,
            specials,
            vocab,
        })
    }

    /// A word-level tokenizer in Hugging Face's format: `tokens` in id order, our four
    /// specials first ([`SPECIALS`](super::SPECIALS)); text is split into the matches of
    /// `pattern` (each one token, anything between them unknown), encoding with specials adds
    /// BOS, and decoding concatenates. What our SMILES and DNA tokenizers export as.
    pub fn word_level(tokens: &[String], pattern: &str) -> Result<Self, TokenizerError> {
        let specials = &super::SPECIALS;
        if tokens.len() < specials.len() || tokens[..specials.len()] != specials[..] {
            return Err(TokenizerError::BadVocab(format!(
                "a word-level vocabulary starts with {specials:?}"
            )));
        }
        let added: Vec<Value> = specials
            .iter()
            .enumerate()
            .map(|(id, content)| {
                json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: serde_json::Map<String, Value> = tokens
            .iter()
            .enumerate()
            .map(|(id, t)| (t.clone(), json!(id)))
            .collect();
        let (bos, unk) = (specials[super::BOS as usize], specials[super::UNK as usize]);
        let bos_token = json!({"SpecialToken": {"id": bos, "type_id": 0}});
        let json = json!({
            "version": "1.0",
            "truncation": null,
            "padding": null,
            "added_tokens": added,
            "normalizer": null,
            "pre_tokenizer": {"type": "Split", "pattern": {"Regex": pattern},
                              "behavior": "Isolated", "invert": false},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [bos_token, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [bos_token, {"Sequence": {"id": "A", "type_id": 0}},
                         {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {bos: {"id": bos, "ids": [super::BOS], "tokens": [bos]}},
            },
            "decoder": {"type": "Fuse"},
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": unk},
        });
        let name = |id: u32| Some(specials[id as usize].to_string());
        Self::from_json(
            &json.to_string(),
            SpecialNames {
                bos: name(super::BOS),
                eos: name(super::EOS),
                pad: name(super::PAD),
                unk: name(super::UNK),
            },
        )
    }

    /// The names of BOS, EOS, PAD and UNK.
    pub fn names(&self) -> &SpecialNames {
        &self.names
    }

    /// With other EOS ids (a model's generation config may end responses at several).
    pub fn with_eos(mut self, eos: Vec<u32>) -> Self {
        if !eos.is_empty() {
            self.specials.eos = eos;
        }
        self
    }

    /// The `tokenizers` JSON.
    pub fn to_json(&self) -> Result<String, TokenizerError> {
        self.inner
            .to_string(true)
            .map_err(|e| TokenizerError::BadVocab(format!("tokenizers: {e}")))
    }

    /// Write `tokenizer.json`, `tokenizer_config.json` and `special_tokens_map.json` into
    /// `dir`, as `transformers`' `save_pretrained` does (`model_max_length` recorded).
    pub fn save_dir(&self, dir: &Path, model_max_length: usize) -> Result<(), TokenizerError> {
        std::fs::write(dir.join(HF_TOKENIZER_FILE), self.to_json()?)?;
        let n = &self.names;
        let map = json!({
            "bos_token": n.bos, "eos_token": n.eos, "pad_token": n.pad, "unk_token": n.unk,
        });
        let mut config = map.clone();
        config["model_max_length"] = json!(model_max_length);
        config["tokenizer_class"] = json!("PreTrainedTokenizerFast");
        config["clean_up_tokenization_spaces"] = json!(false);
        let write = |name: &str, v: &Value| {
            let mut text = serde_json::to_string_pretty(v)?;
            text.push('\n');
            std::fs::write(dir.join(name), text).map_err(TokenizerError::from)
        };
        write(HF_TOKENIZER_CONFIG_FILE, &config)?;
        write(HF_SPECIAL_TOKENS_FILE, &map)
    }
}

impl Tokenizer for HfTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        let enc = self
            .inner
            .encode(text, false)
            .map_err(|e| TokenizerError::BadVocab(format!("tokenizers: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let end = ids
            .iter()
            .position(|&i| self.specials.is_eos(i))
            .unwrap_or(ids.len());
        if let Some(&id) = ids[..end].iter().find(|&&i| i as usize >= self.vocab) {
            return Err(TokenizerError::BadId(id));
        }
        self.inner
            .decode(&ids[..end], true)
            .map_err(|e| TokenizerError::BadVocab(format!("tokenizers: {e}")))
    }

    fn vocab_size(&self) -> usize {
        self.vocab
    }

    fn save(&self, path: &Path) -> Result<(), TokenizerError> {
        std::fs::write(path, self.to_json()?)?;
        Ok(())
    }

    fn specials(&self) -> Specials {
        self.specials.clone()
    }

    fn to_hf(&self) -> Option<HfTokenizer> {
        Some(self.clone())
    }
}
