//! Token batches: prompts left-padded to a common length followed by responses.

use super::PolicyError;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

/// The id written into left-padding slots. They are masked everywhere (attention and
/// positions), so any valid id does; 0 exists in every vocabulary.
const FILL: i64 = 0;

/// A batch of token sequences `[B, L]`: prompts left-padded to `prompt_len`, then responses.
///
/// Positions count real tokens only, so a left-padded row sees the same positions as an
/// unpadded one.
#[derive(Debug, Clone)]
pub struct Sequences {
    /// `[B, L]` token ids.
    pub tokens: Tensor<2, Int>,
    /// `[B, L]` learned-position ids (0 for padding).
    pub positions: Tensor<2, Int>,
    /// `[B, L]` true where the token is left padding; `None` when no row is padded.
    pub key_pad: Option<Tensor<2, Bool>>,
    /// Length of the (padded) prompt part; the response is `L - prompt_len` tokens.
    pub prompt_len: usize,
}

/// Host-side layout of left-padded prompts: padded ids, positions and pad flags.
pub(crate) struct PromptLayout {
    pub ids: Vec<i64>,
    pub positions: Vec<i64>,
    pub pad: Vec<bool>,
    pub lens: Vec<usize>,
    pub width: usize,
    pub any_pad: bool,
}

impl PromptLayout {
    /// Left-pad `prompts` into `width + extra` columns; positions continue into the `extra`
    /// response columns.
    pub fn new(prompts: &[Vec<u32>], extra: usize, vocab: usize) -> Result<Self, PolicyError> {
        if prompts.is_empty() || prompts.iter().any(|p| p.is_empty()) {
            return Err(PolicyError::EmptyPrompt);
        }
        if let Some(&id) = prompts.iter().flatten().find(|&&id| id as usize >= vocab) {
            return Err(PolicyError::BadToken { id, vocab });
        }
        let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let cols = width + extra;
        let b = prompts.len();
        let mut ids = vec![FILL; b * cols];
        let mut positions = vec![0i64; b * cols];
        let mut pad = vec![false; b * cols];
        let mut any_pad = false;
        for (r, p) in prompts.iter().enumerate() {
            let off = width - p.len();
            any_pad |= off > 0;
            for c in 0..cols {
                let i = r * cols + c;
                if c < off {
                    pad[i] = true;
                } else {
                    positions[i] = (c - off) as i64;
                    if c < width {
                        ids[i] = p[c - off] as i64;
                    }
                }
            }
        }
        Ok(Self {
            ids,
            positions,
            pad,
            lens: prompts.iter().map(Vec::len).collect(),
            width,
            any_pad,
        })
    }

    /// Number of rows.
    pub fn batch(&self) -> usize {
        self.lens.len()
    }

    /// Upload as tensors `[B, width + extra]`.
    pub fn tensors(
        &self,
        device: &Device,
    ) -> (Tensor<2, Int>, Tensor<2, Int>, Option<Tensor<2, Bool>>) {
        let b = self.batch();
        let cols = self.ids.len() / b;
        let tokens = Tensor::from_data(TensorData::new(self.ids.clone(), [b, cols]), device);
        let positions =
            Tensor::from_data(TensorData::new(self.positions.clone(), [b, cols]), device);
        let pad = self
            .any_pad
            .then(|| Tensor::from_data(TensorData::new(self.pad.clone(), [b, cols]), device));
        (tokens, positions, pad)
    }
}

impl Sequences {
    /// Prompts (left-padded) followed by the given responses, all on `device`.
    ///
    /// `responses` must have one row per prompt, all of the same length.
    pub fn from_parts(
        prompts: &[Vec<u32>],
        responses: &[Vec<u32>],
        vocab: usize,
        device: &Device,
    ) -> Result<Self, PolicyError> {
        let r = responses.first().map_or(0, Vec::len);
        if responses.len() != prompts.len() || responses.iter().any(|x| x.len() != r) {
            return Err(PolicyError::BadConfig(
                "responses must have one row per prompt, all of the same length".into(),
            ));
        }
        let mut layout = PromptLayout::new(prompts, r, vocab)?;
        let cols = layout.width + r;
        for (row, resp) in responses.iter().enumerate() {
            for (j, &id) in resp.iter().enumerate() {
                if id as usize >= vocab {
                    return Err(PolicyError::BadToken { id, vocab });
                }
                layout.ids[row * cols + layout.width + j] = id as i64;
            }
        }
        let (tokens, positions, key_pad) = layout.tensors(device);
        Ok(Self {
            tokens,
            positions,
            key_pad,
            prompt_len: layout.width,
        })
    }

    /// `[B, L]` batch size and total length.
    pub fn dims(&self) -> [usize; 2] {
        self.tokens.dims()
    }

    /// Number of response tokens per row.
    pub fn response_len(&self) -> usize {
        self.dims()[1] - self.prompt_len
    }

    /// The response tokens `[B, R]`.
    pub fn response(&self) -> Tensor<2, Int> {
        let [b, l] = self.dims();
        self.tokens.clone().slice([0..b, self.prompt_len..l])
    }

    /// Check the batch for a policy of `vocab` token ids and a context of `max_len`: the
    /// parts' shapes agree with the tokens' `[B, L]`, every token id is in `0..vocab` and every
    /// position in `0..max_len`. [`Policy::score`](super::Policy::score) calls this before
    /// its forward pass (sequences made for another vocabulary, or by hand, would make the
    /// backend panic). The ranges cost one reduction on the device and one host read of two
    /// flags; the offending entry is looked up only on failure.
    ///
    /// # Errors
    /// [`PolicyError::ShapeMismatch`], [`PolicyError::TokenOutOfRange`] or
    /// [`PolicyError::PositionOutOfRange`], naming the row and column.
    pub fn check(&self, vocab: usize, max_len: usize) -> Result<(), PolicyError> {
        let dims = self.dims();
        let mismatch = |part: &'static str, got: &[usize]| PolicyError::ShapeMismatch {
            part,
            expected: dims,
            got: got.to_vec(),
        };
        if self.positions.dims() != dims {
            return Err(mismatch("positions", &self.positions.dims()));
        }
        if let Some(pad) = &self.key_pad
            && pad.dims() != dims
        {
            return Err(mismatch("key_pad", &pad.dims()));
        }
        let outside = |t: &Tensor<2, Int>, end: usize| {
            t.clone()
                .lower_elem(0)
                .bool_or(t.clone().greater_equal_elem(end as i64))
        };
        let device = self.tokens.device();
        let flags = Tensor::cat(
            vec![
                outside(&self.tokens, vocab).any(),
                outside(&self.positions, max_len).any().to_device(&device),
            ],
            0,
        )
        .into_data();
        let flags: Vec<bool> = flags.iter::<bool>().collect();
        if flags.first() == Some(&true) {
            let (row, col, id) = first_outside(&self.tokens, vocab);
            return Err(PolicyError::TokenOutOfRange {
                id,
                row,
                col,
                vocab,
            });
        }
        if flags.get(1) == Some(&true) {
            let (row, col, position) = first_outside(&self.positions, max_len);
            return Err(PolicyError::PositionOutOfRange {
                position,
                row,
                col,
                max_len,
            });
        }
        Ok(())
    }
}

/// Row, column and value of the first entry of `t` outside `0..end` (read on the host; called
/// once a device reduction found one).
fn first_outside(t: &Tensor<2, Int>, end: usize) -> (usize, usize, i64) {
    let cols = t.dims()[1].max(1);
    t.clone()
        .into_data()
        .iter::<i64>()
        .enumerate()
        .find(|&(_, v)| v < 0 || v as u64 >= end as u64)
        .map_or((0, 0, 0), |(i, v)| (i / cols, i % cols, v))
}

/// `[B, R]` mask of response tokens up to and including the first end-of-sequence token (any
/// of `eos`) of each row.
pub fn response_mask(response: Tensor<2, Int>, eos: &[u32]) -> Tensor<2, Bool> {
    let Some(is_eos) = eos
        .iter()
        .map(|&e| response.clone().equal_elem(e as i64))
        .reduce(|a, b| a.bool_or(b))
    else {
        return response.clone().equal(response);
    };
    let is_eos = is_eos.int();
    let before = is_eos.clone().cumsum(1) - is_eos;
    before.equal_elem(0)
}

/// A batch of sampled responses with everything PPO needs from the sampling pass.
#[derive(Debug, Clone)]
pub struct Rollout {
    /// Prompt and response tokens, `[B, P + R]`.
    pub sequences: Sequences,
    /// `[B, R]` true for response tokens up to and including the first EOS.
    pub response_mask: Tensor<2, Bool>,
    /// `[B, R]` log-probability of each sampled token under the sampling distribution's
    /// temperature (before top-k/top-p truncation, as TRL recomputes them).
    pub log_probs: Tensor<2>,
    /// The policy's end-of-sequence ids (a response ends at the first of any).
    pub eos: Vec<u32>,
}

impl Rollout {
    /// The response ids of each row on the host, cut at the first EOS (EOS excluded).
    pub fn response_ids(&self) -> Vec<Vec<u32>> {
        let [b, r] = self.sequences.response().dims();
        let data = self.sequences.response().into_data();
        let flat: Vec<i64> = data.iter::<i64>().collect();
        (0..b)
            .map(|i| {
                flat[i * r..(i + 1) * r]
                    .iter()
                    .map(|&t| t as u32)
                    .take_while(|t| !self.eos.contains(t))
                    .collect()
            })
            .collect()
    }

    /// Number of rows.
    pub fn batch_size(&self) -> usize {
        self.sequences.dims()[0]
    }
}
