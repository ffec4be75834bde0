//! Atom-level SMILES tokenizer (regex of Schwaller et al., 2019, as used by most SMILES LMs).

use crate::tokenizer::{SPECIALS, Tokenizer, TokenizerError, UNK, UnknownPolicy, read_kind};
use regex::Regex;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::LazyLock;

/// The atom-level SMILES pattern: bracket atoms, `Br`/`Cl`, organic-subset atoms, aromatic atoms,
/// bonds, branches, ring closures (`%nn` and single digits), dots and reaction/wildcard symbols.
pub const SMILES_REGEX: &str = r"(\[[^\]]+\]|Br?|Cl?|N|O|S|P|F|I|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%[0-9]{2}|[0-9])";

static PATTERN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(SMILES_REGEX).expect("the SMILES regex compiles"));

/// Split a SMILES string into atom-level symbols, failing on any character the grammar rejects.
pub fn split_smiles(text: &str) -> Result<Vec<&str>, TokenizerError> {
    let mut out = Vec::with_capacity(text.len());
    let mut at = 0;
    for m in PATTERN.find_iter(text) {
        if m.start() != at {
            return Err(unknown_symbol(text, at, m.start()));
        }
        out.push(m.as_str());
        at = m.end();
    }
    if at != text.len() {
        return Err(unknown_symbol(text, at, text.len()));
    }
    Ok(out)
}

fn unknown_symbol(text: &str, from: usize, to: usize) -> TokenizerError {
    TokenizerError::UnknownSymbol {
        text: text.to_string(),
        position: from,
        symbol: text[from..to].to_string(),
    }
}

/// SMILES tokenizer with a vocabulary built from a corpus.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SmilesTokenizer {
    /// Token strings in id order; the first four are [`SPECIALS`].
    tokens: Vec<String>,
    /// Behaviour for symbols missing from the vocabulary.
    #[serde(default)]
    unknown: UnknownPolicy,
    #[serde(skip)]
    index: HashMap<String, u32>,
}

/// On-disk format tag, so a vocabulary file says which tokenizer wrote it.
const KIND: &str = "smiles-regex";

#[derive(serde::Serialize, serde::Deserialize)]
struct VocabFile {
    kind: String,
    #[serde(flatten)]
    tokenizer: SmilesTokenizer,
}

impl SmilesTokenizer {
    /// Build the vocabulary from every symbol in `corpus` (specials first, then symbols sorted).
    pub fn from_corpus<'a>(
        corpus: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TokenizerError> {
        let mut symbols = BTreeSet::new();
        for s in corpus {
            for t in split_smiles(s)? {
                symbols.insert(t.to_string());
            }
        }
        let tokens = SPECIALS
            .iter()
            .map(|s| s.to_string())
            .chain(symbols)
            .collect();
        Ok(Self::from_tokens(tokens, UnknownPolicy::Error))
    }

    fn from_tokens(tokens: Vec<String>, unknown: UnknownPolicy) -> Self {
        let index = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        Self {
            tokens,
            unknown,
            index,
        }
    }

    /// Choose what happens to symbols missing from the vocabulary.
    pub fn with_unknown_policy(mut self, unknown: UnknownPolicy) -> Self {
        self.unknown = unknown;
        self
    }

    /// Load a vocabulary written by [`Tokenizer::save`].
    pub fn load(path: &Path) -> Result<Self, TokenizerError> {
        let file: VocabFile = serde_json::from_str(&read_kind(path, KIND)?)?;
        let t = file.tokenizer;
        if t.tokens.len() < SPECIALS.len()
            || t.tokens[..SPECIALS.len()]
                .iter()
                .zip(SPECIALS)
                .any(|(a, b)| a != b)
        {
            return Err(TokenizerError::BadVocab(format!(
                "{} does not start with the special tokens {SPECIALS:?}",
                path.display()
            )));
        }
        Ok(Self::from_tokens(t.tokens, t.unknown))
    }

    /// The token strings in id order.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }
}

impl Tokenizer for SmilesTokenizer {
    fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        split_smiles(text)?
            .into_iter()
            .map(|t| match (self.index.get(t), self.unknown) {
                (Some(&id), _) => Ok(id),
                (None, UnknownPolicy::MapToUnk) => Ok(UNK),
                (None, UnknownPolicy::Error) => Err(TokenizerError::UnknownToken {
                    text: text.to_string(),
                    token: t.to_string(),
                }),
            })
            .collect()
    }

    fn decode(&self, ids: &[u32]) -> Result<String, TokenizerError> {
        let mut out = String::new();
        for &id in ids {
            match id {
                crate::tokenizer::EOS => break,
                id if (id as usize) < SPECIALS.len() => {}
                id => out.push_str(
                    self.tokens
                        .get(id as usize)
                        .ok_or(TokenizerError::BadId(id))?,
                ),
            }
        }
        Ok(out)
    }

    fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    fn to_hf(&self) -> Option<crate::tokenizer::HfTokenizer> {
        crate::tokenizer::HfTokenizer::word_level(&self.tokens, SMILES_REGEX).ok()
    }

    fn save(&self, path: &Path) -> Result<(), TokenizerError> {
        let file = VocabFile {
            kind: KIND.to_string(),
            tokenizer: self.clone(),
        };
        std::fs::write(path, serde_json::to_string_pretty(&file)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenizer::{BOS, EOS};

    #[test]
    fn splits_atoms_bonds_rings() {
        let t = split_smiles("C[C@@H](Cl)c1ccccc1Br.[NH4+]%12=O").unwrap();
        assert_eq!(
            t,
            [
                "C", "[C@@H]", "(", "Cl", ")", "c", "1", "c", "c", "c", "c", "c", "1", "Br", ".",
                "[NH4+]", "%12", "=", "O"
            ]
        );
    }

    #[test]
    fn rejects_unknown_symbols_with_position() {
        match split_smiles("CCXC") {
            Err(TokenizerError::UnknownSymbol {
                position, symbol, ..
            }) => {
                assert_eq!((position, symbol.as_str()), (2, "X"));
            }
            other => panic!("expected UnknownSymbol, got {other:?}"),
        }
        assert!(split_smiles("C[NH").is_err());
    }

    #[test]
    fn round_trip_and_unknown_policy() {
        let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1"]).unwrap();
        let ids = tok.encode_with_specials("OCC").unwrap();
        assert_eq!(ids.first(), Some(&BOS));
        assert_eq!(ids.last(), Some(&EOS));
        assert_eq!(tok.decode(&ids).unwrap(), "OCC");
        assert!(matches!(
            tok.encode("CCN"),
            Err(TokenizerError::UnknownToken { .. })
        ));
        let lenient = tok.clone().with_unknown_policy(UnknownPolicy::MapToUnk);
        assert_eq!(lenient.encode("N").unwrap(), vec![UNK]);
        assert!(matches!(
            tok.decode(&[999]),
            Err(TokenizerError::BadId(999))
        ));
    }

    #[test]
    fn save_load() {
        let tok = SmilesTokenizer::from_corpus(["CC(=O)Nc1ccc(O)cc1"]).unwrap();
        let dir = std::env::temp_dir().join(format!("mr-tok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("vocab.json");
        tok.save(&p).unwrap();
        let back = SmilesTokenizer::load(&p).unwrap();
        assert_eq!(back.tokens(), tok.tokens());
        assert_eq!(
            back.encode("CC(=O)O").unwrap(),
            tok.encode("CC(=O)O").unwrap()
        );
        std::fs::write(&p, "{\"kind\":\"bpe\",\"tokens\":[]}").unwrap();
        assert!(matches!(
            SmilesTokenizer::load(&p),
            Err(TokenizerError::BadVocab(_))
        ));
    }
}
