//! [`Prompts`]: a task's prompts, token ids and the texts the rewards see, kept together.

use super::PolicyError;
use crate::tokenizer::Tokenizer;

/// A task's prompts: token rows (each starting with the tokenizer's BOS when it has one) and,
/// one per row, the text the rewards are given as
/// [`Sample::prompt`](crate::reward::Sample::prompt).
///
/// ```
/// use multireward::policy::Prompts;
/// use multireward::tokenizer::Specials;
///
/// let start = Specials::ours().start();
/// let unconditional = Prompts::unconditional(start);
/// assert_eq!(unconditional.len(), 1);
/// let two = Prompts::new(vec![vec![start, 7], vec![start, 8]], vec!["a".into(), "b".into()])?;
/// assert_eq!(two.text(1), "b");
/// assert!(Prompts::new(vec![vec![start]], vec![]).is_err());
/// assert!(Prompts::new(vec![vec![]], vec!["".into()]).is_err());
/// # Ok::<(), multireward::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prompts {
    ids: Vec<Vec<u32>>,
    texts: Vec<String>,
}

impl Prompts {
    /// Prompts from token rows and their texts: as many texts as rows, at least one row, no
    /// empty row.
    pub fn new(ids: Vec<Vec<u32>>, texts: Vec<String>) -> Result<Self, PolicyError> {
        if ids.is_empty() {
            return Err(PolicyError::BadConfig("no prompts".into()));
        }
        if ids.len() != texts.len() {
            return Err(PolicyError::BadConfig(format!(
                "{} prompt rows but {} prompt texts",
                ids.len(),
                texts.len()
            )));
        }
        if let Some(i) = ids.iter().position(Vec::is_empty) {
            return Err(PolicyError::BadConfig(format!(
                "prompt {i} is empty: every prompt needs at least one token (BOS)"
            )));
        }
        Ok(Self { ids, texts })
    }

    /// Unconditional generation: one prompt, the `start` token alone
    /// ([`Specials::start`](crate::tokenizer::Specials::start)), with empty text.
    pub fn unconditional(start: u32) -> Self {
        Self {
            ids: vec![vec![start]],
            texts: vec![String::new()],
        }
    }

    /// Encode `texts` with `tokenizer`, each row `[BOS] tokens…` (no BOS for a tokenizer
    /// without one).
    pub fn encode(texts: Vec<String>, tokenizer: &dyn Tokenizer) -> Result<Self, PolicyError> {
        let ids = texts
            .iter()
            .map(|t| {
                let mut row: Vec<u32> = tokenizer.specials().bos.into_iter().collect();
                row.extend(
                    tokenizer
                        .encode(t)
                        .map_err(|e| PolicyError::BadConfig(format!("prompt {t:?}: {e}")))?,
                );
                Ok(row)
            })
            .collect::<Result<_, PolicyError>>()?;
        Self::new(ids, texts)
    }

    /// Number of prompts (≥ 1).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Always `false`: a `Prompts` holds at least one prompt.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The token rows.
    pub fn ids(&self) -> &[Vec<u32>] {
        &self.ids
    }

    /// The texts, one per row.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// Text of prompt `i` (empty when out of range).
    pub fn text(&self, i: usize) -> &str {
        self.texts.get(i).map_or("", String::as_str)
    }
}
