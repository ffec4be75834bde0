//! `minilm`: the sentence-transformers all-MiniLM-L6-v2 sentence encoder, for the text domain's
//! semantic-similarity rewards.
//!
//! [`MiniLm`] is the BERT encoder (6 post-LayerNorm layers, width 384, 12 heads, exact erf GELU,
//! absolute learned positions, token type 0); [`SentenceEncoder`] adds the WordPiece tokenizer,
//! mean pooling over the non-padding tokens and L2 normalisation, as sentence-transformers runs
//! the model. Weights come from the PyTorch `BertModel` safetensors file that
//! `scripts/fetch-minilm.sh` puts in `data/minilm/`; every tensor is checked (name, dtype, shape)
//! and a missing, misshapen or unexpected one is an error, never a silent partial load.
//!
//! Reads top to bottom: config → weights file → model → sentence encoder.

use crate::host::gelu::gelu;
use burn::module::{Module, Param};
use burn::nn::{Embedding, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::module::{attention, embedding};
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use thiserror::Error;
use tokenizers::Tokenizer;
use tokenizers::utils::truncation::TruncationParams;

/// The command that downloads `data/minilm/` (weights, tokenizer, config).
pub const FETCH_COMMAND: &str = "scripts/fetch-minilm.sh";

/// Default truncation length in tokens, `[CLS]` and `[SEP]` included: sentence-transformers'
/// `max_seq_length` for all-MiniLM-L6-v2 (the packaged `tokenizer.json` says 128; the reference
/// fixture and sentence-transformers use 256).
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// Sentences per forward pass in [`SentenceEncoder::embed`].
const BATCH_SIZE: usize = 64;
/// Padded tokens (rows × longest row) per encoder batch.
const BATCH_TOKENS: usize = 2048;

/// Id of `[PAD]` in the BERT vocabulary (padding is masked out, so any valid id would do).
const PAD_ID: i64 = 0;

/// Errors from loading or running the sentence encoder.
#[derive(Debug, Error)]
pub enum MiniLmError {
    /// A model file is absent.
    #[error("{} not found: run {FETCH_COMMAND} to fetch all-MiniLM-L6-v2", .0.display())]
    MissingFile(PathBuf),
    /// A model file exists but could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// `config.json` is malformed or describes a model this code does not implement.
    #[error("bad MiniLM config: {0}")]
    BadConfig(String),
    /// The safetensors file is malformed (header, dtype, offsets).
    #[error("bad MiniLM weights file: {0}")]
    BadWeights(String),
    /// A tensor the model needs is not in the weights file.
    #[error("MiniLM weight `{0}` is missing from the safetensors file")]
    MissingWeight(String),
    /// A tensor has another shape than the config implies.
    #[error("MiniLM weight `{key}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The tensor's name in the file.
        key: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// The weights file holds tensors the model does not use (e.g. more layers than the config).
    #[error("MiniLM weights file has unexpected tensors: {0:?}")]
    UnexpectedWeights(Vec<String>),
    /// The tokenizer failed to load or to encode.
    #[error("MiniLM tokenizer: {0}")]
    Tokenizer(String),
}

fn tokenizer_error(e: tokenizers::Error) -> MiniLmError {
    MiniLmError::Tokenizer(e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Config

fn default_hidden_act() -> String {
    "gelu".into()
}

/// Shape of a BERT encoder, read from a Hugging Face `config.json` (other keys are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiniLmConfig {
    /// Vocabulary size (30522 for the uncased BERT vocabulary).
    pub vocab_size: usize,
    /// Width of the hidden states and of the sentence embedding (384).
    pub hidden_size: usize,
    /// Number of encoder layers (6).
    pub num_hidden_layers: usize,
    /// Attention heads per layer (12; must divide `hidden_size`).
    pub num_attention_heads: usize,
    /// Hidden width of the feed-forward block (1536).
    pub intermediate_size: usize,
    /// Number of learned positions, i.e. the longest input in tokens (512).
    pub max_position_embeddings: usize,
    /// Number of token types (segments) (2; only type 0 is used).
    pub type_vocab_size: usize,
    /// LayerNorm epsilon (1e-12).
    pub layer_norm_eps: f64,
    /// Activation of the feed-forward block; only `"gelu"` (exact erf GELU) is supported.
    /// Defaults to `"gelu"` when absent.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
}

impl MiniLmConfig {
    /// all-MiniLM-L6-v2's shape (as in its `config.json`).
    pub fn all_minilm_l6_v2() -> Self {
        Self {
            vocab_size: 30522,
            hidden_size: 384,
            num_hidden_layers: 6,
            num_attention_heads: 12,
            intermediate_size: 1536,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: default_hidden_act(),
        }
    }

    /// Parse and validate a `config.json` text.
    pub fn from_json(text: &str) -> Result<Self, MiniLmError> {
        let config: Self =
            serde_json::from_str(text).map_err(|e| MiniLmError::BadConfig(e.to_string()))?;
        config.validate().map_err(MiniLmError::BadConfig)?;
        Ok(config)
    }

    /// Read, parse and validate a `config.json` file.
    pub fn load(path: &Path) -> Result<Self, MiniLmError> {
        Self::from_json(&read_to_string(path)?)
    }

    /// Check that the shape is usable.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            self.vocab_size,
            self.hidden_size,
            self.num_hidden_layers,
            self.num_attention_heads,
            self.intermediate_size,
            self.max_position_embeddings,
            self.type_vocab_size,
        ];
        if positive.contains(&0) {
            return Err(format!("all sizes must be positive: {self:?}"));
        }
        if !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps.is_finite()) {
            return Err(format!(
                "layer_norm_eps must be positive, got {}",
                self.layer_norm_eps
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act `{}` is not supported (only exact `gelu`)",
                self.hidden_act
            ));
        }
        Ok(())
    }

    /// A model of this shape with random N(0, 0.02) weights, zero biases and unit LayerNorms
    /// (for tests; real weights come from [`MiniLm::load_safetensors`]).
    ///
    /// # Panics
    /// If [`MiniLmConfig::validate`] fails.
    pub fn init(&self, device: &Device) -> MiniLm {
        if let Err(e) = self.validate() {
            panic!("invalid MiniLmConfig: {e}");
        }
        let (d, f) = (self.hidden_size, self.intermediate_size);
        let normal = |shape: [usize; 2]| {
            Param::from_tensor(Tensor::random(
                shape,
                Distribution::Normal(0.0, 0.02),
                device,
            ))
        };
        let dense = |d_in: usize, d_out: usize| Linear {
            weight: normal([d_in, d_out]),
            bias: Some(Param::from_tensor(Tensor::zeros([d_out], device))),
        };
        let table = |n: usize| Embedding {
            weight: normal([n, d]),
        };
        MiniLm {
            word: table(self.vocab_size),
            position: table(self.max_position_embeddings),
            token_type: table(self.type_vocab_size),
            emb_norm: self.layer_norm(device),
            layers: (0..self.num_hidden_layers)
                .map(|_| Layer {
                    qkv: dense(d, 3 * d),
                    attn_out: dense(d, d),
                    attn_norm: self.layer_norm(device),
                    ff_in: dense(d, f),
                    ff_out: dense(f, d),
                    ff_norm: self.layer_norm(device),
                    n_head: self.num_attention_heads,
                })
                .collect(),
            config: self.clone(),
        }
    }

    fn layer_norm(&self, device: &Device) -> LayerNorm {
        LayerNormConfig::new(self.hidden_size)
            .with_epsilon(self.layer_norm_eps)
            .init(device)
    }
}

fn read_to_string(path: &Path) -> Result<String, MiniLmError> {
    std::fs::read_to_string(path).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, source: std::io::Error) -> MiniLmError {
    if source.kind() == std::io::ErrorKind::NotFound {
        MiniLmError::MissingFile(path.to_path_buf())
    } else {
        MiniLmError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Weights file

/// Tensors of a PyTorch `BertModel` file that the sentence encoder does not use.
fn ignored_weight(key: &str) -> bool {
    key.starts_with("pooler.") || key == "embeddings.position_ids"
}

/// One tensor's entry in a safetensors header.
#[derive(Deserialize)]
struct RawEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// A safetensors file held in memory; [`SafeTensors::take`] hands out each tensor at most once
/// and [`SafeTensors::finish`] rejects what was left unused.
struct SafeTensors {
    bytes: Vec<u8>,
    data_start: usize,
    entries: HashMap<String, RawEntry>,
    taken: HashSet<String>,
}

impl SafeTensors {
    fn parse(bytes: Vec<u8>) -> Result<Self, MiniLmError> {
        let bad = |m: String| MiniLmError::BadWeights(m);
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("file shorter than its 8-byte header length".into()))?;
        let header_len = usize::try_from(u64::from_le_bytes(len_bytes))
            .ok()
            .filter(|&n| n <= bytes.len() - 8)
            .ok_or_else(|| bad("header length exceeds the file".into()))?;
        let header: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&bytes[8..8 + header_len])
                .map_err(|e| bad(format!("header: {e}")))?;
        let mut entries = HashMap::new();
        for (key, value) in header {
            if key == "__metadata__" {
                continue;
            }
            let entry: RawEntry =
                serde_json::from_value(value).map_err(|e| bad(format!("entry `{key}`: {e}")))?;
            entries.insert(key, entry);
        }
        Ok(Self {
            bytes,
            data_start: 8 + header_len,
            entries,
            taken: HashSet::new(),
        })
    }

    /// The f32 values of `key`, row-major, after checking dtype, shape and offsets.
    fn take(&mut self, key: &str, shape: &[usize]) -> Result<Vec<f32>, MiniLmError> {
        let entry = self
            .entries
            .get(key)
            .ok_or_else(|| MiniLmError::MissingWeight(key.into()))?;
        if entry.shape != shape {
            return Err(MiniLmError::ShapeMismatch {
                key: key.into(),
                expected: shape.to_vec(),
                found: entry.shape.clone(),
            });
        }
        if entry.dtype != "F32" {
            return Err(MiniLmError::BadWeights(format!(
                "`{key}` has dtype {}, expected F32",
                entry.dtype
            )));
        }
        let [start, end] = entry.data_offsets;
        let n: usize = shape.iter().product();
        let bytes = self
            .data_start
            .checked_add(start)
            .zip(self.data_start.checked_add(end))
            .filter(|&(s, e)| s <= e && e <= self.bytes.len() && e - s == 4 * n)
            .map(|(s, e)| &self.bytes[s..e])
            .ok_or_else(|| {
                MiniLmError::BadWeights(format!("`{key}` has bad data offsets [{start}, {end}]"))
            })?;
        self.taken.insert(key.into());
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Error if the file holds tensors that were neither taken nor known to be unused.
    fn finish(self) -> Result<(), MiniLmError> {
        let mut extra: Vec<String> = self
            .entries
            .into_keys()
            .filter(|k| !self.taken.contains(k) && !ignored_weight(k))
            .collect();
        if extra.is_empty() {
            return Ok(());
        }
        extra.sort();
        Err(MiniLmError::UnexpectedWeights(extra))
    }
}

/// `[rows, cols]` row-major → `[cols, rows]` row-major.
fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for (r, row) in data.chunks_exact(cols).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            out[c * rows + r] = v;
        }
    }
    out
}

/// Builds the model's layers from a [`SafeTensors`] in PyTorch `BertModel` naming.
struct Loader<'a> {
    file: SafeTensors,
    config: &'a MiniLmConfig,
    device: &'a Device,
}

impl Loader<'_> {
    fn tensor<const D: usize>(
        &mut self,
        key: &str,
        shape: [usize; D],
    ) -> Result<Tensor<D>, MiniLmError> {
        let data = self.file.take(key, &shape)?;
        Ok(Tensor::from_data(TensorData::new(data, shape), self.device))
    }

    fn param<const D: usize>(
        &mut self,
        key: &str,
        shape: [usize; D],
    ) -> Result<Param<Tensor<D>>, MiniLmError> {
        Ok(Param::from_tensor(self.tensor(key, shape)?))
    }

    /// PyTorch weight `[out, in]`, transposed to Burn's `[in, out]`.
    fn weight_t(&mut self, key: &str, d_in: usize, d_out: usize) -> Result<Vec<f32>, MiniLmError> {
        let w = self.file.take(key, &[d_out, d_in])?;
        Ok(transpose(&w, d_out, d_in))
    }

    fn linear(&mut self, prefix: &str, d_in: usize, d_out: usize) -> Result<Linear, MiniLmError> {
        let w = self.weight_t(&format!("{prefix}.weight"), d_in, d_out)?;
        Ok(Linear {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(w, [d_in, d_out]),
                self.device,
            )),
            bias: Some(self.param(&format!("{prefix}.bias"), [d_out])?),
        })
    }

    /// The query, key and value projections fused into one `[d, 3d]` Linear (columns q | k | v).
    fn qkv(&mut self, prefix: &str) -> Result<Linear, MiniLmError> {
        let d = self.config.hidden_size;
        let mut weights = Vec::with_capacity(3);
        let mut bias = Vec::with_capacity(3 * d);
        for name in ["query", "key", "value"] {
            weights.push(self.weight_t(&format!("{prefix}.{name}.weight"), d, d)?);
            bias.extend(self.file.take(&format!("{prefix}.{name}.bias"), &[d])?);
        }
        let mut w = Vec::with_capacity(3 * d * d);
        for row in 0..d {
            for part in &weights {
                w.extend_from_slice(&part[row * d..(row + 1) * d]);
            }
        }
        Ok(Linear {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(w, [d, 3 * d]),
                self.device,
            )),
            bias: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(bias, [3 * d]),
                self.device,
            ))),
        })
    }

    fn layer_norm(&mut self, prefix: &str) -> Result<LayerNorm, MiniLmError> {
        let d = self.config.hidden_size;
        let mut norm = self.config.layer_norm(self.device);
        norm.gamma = self.param(&format!("{prefix}.weight"), [d])?;
        norm.beta = Some(self.param(&format!("{prefix}.bias"), [d])?);
        Ok(norm)
    }

    fn embedding(&mut self, key: &str, n: usize) -> Result<Embedding, MiniLmError> {
        Ok(Embedding {
            weight: self.param(key, [n, self.config.hidden_size])?,
        })
    }

    fn layer(&mut self, i: usize) -> Result<Layer, MiniLmError> {
        let (d, f) = (self.config.hidden_size, self.config.intermediate_size);
        let p = format!("encoder.layer.{i}");
        Ok(Layer {
            qkv: self.qkv(&format!("{p}.attention.self"))?,
            attn_out: self.linear(&format!("{p}.attention.output.dense"), d, d)?,
            attn_norm: self.layer_norm(&format!("{p}.attention.output.LayerNorm"))?,
            ff_in: self.linear(&format!("{p}.intermediate.dense"), d, f)?,
            ff_out: self.linear(&format!("{p}.output.dense"), f, d)?,
            ff_norm: self.layer_norm(&format!("{p}.output.LayerNorm"))?,
            n_head: self.config.num_attention_heads,
        })
    }

    fn model(mut self) -> Result<MiniLm, MiniLmError> {
        let c = self.config;
        let model = MiniLm {
            word: self.embedding("embeddings.word_embeddings.weight", c.vocab_size)?,
            position: self.embedding(
                "embeddings.position_embeddings.weight",
                c.max_position_embeddings,
            )?,
            token_type: self
                .embedding("embeddings.token_type_embeddings.weight", c.type_vocab_size)?,
            emb_norm: self.layer_norm("embeddings.LayerNorm")?,
            layers: (0..c.num_hidden_layers)
                .map(|i| self.layer(i))
                .collect::<Result<_, _>>()?,
            config: c.clone(),
        };
        self.file.finish()?;
        Ok(model)
    }
}

// ---------------------------------------------------------------------------------------------
// Model

/// One post-LayerNorm BERT layer: `x = ln(x + attn(x))`, then `x = ln(x + mlp(x))`.
#[derive(Module, Debug)]
struct Layer {
    /// Fused query | key | value projection, `[d, 3d]`.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    ff_in: Linear,
    ff_out: Linear,
    ff_norm: LayerNorm,
    n_head: usize,
}

impl Layer {
    /// `x` `[B, T, d]`; `hidden` `[B, 1, T, T]`, `true` = key not attended (padding).
    fn forward(&self, x: Tensor<3>, hidden: &Tensor<4, Bool>) -> Tensor<3> {
        let [b, t, d] = x.dims();
        let (h, dh) = (self.n_head, d / self.n_head);
        let heads = |y: Tensor<3>| y.reshape([b, t, h, dh]).swap_dims(1, 2);
        let mut qkv = self
            .qkv
            .forward(x.clone())
            .chunk(3, 2)
            .into_iter()
            .map(heads);
        let (Some(q), Some(k), Some(v)) = (qkv.next(), qkv.next(), qkv.next()) else {
            unreachable!("chunk(3) yields three parts")
        };
        let y = attention(
            q,
            k,
            v,
            Some(hidden.clone()),
            None,
            AttentionModuleOptions::default(),
        );
        let y = self.attn_out.forward(y.swap_dims(1, 2).reshape([b, t, d]));
        let x = self.attn_norm.forward(y + x);
        let m = self.ff_out.forward(gelu(self.ff_in.forward(x.clone())));
        self.ff_norm.forward(m + x)
    }
}

/// The BERT encoder of all-MiniLM-L6-v2 (inference only: no dropout, no pooler head).
#[derive(Module, Debug)]
pub struct MiniLm {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    #[module(skip)]
    config: MiniLmConfig,
}

impl MiniLm {
    /// Load a PyTorch `BertModel` safetensors file (f32), checking that every tensor the config
    /// implies is present with its shape and that no other tensor is left over (the pooler and
    /// `position_ids` are ignored). Linear weights are transposed to Burn's `[in, out]`.
    pub fn load_safetensors(
        path: &Path,
        config: &MiniLmConfig,
        device: &Device,
    ) -> Result<Self, MiniLmError> {
        let bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
        Self::from_safetensors_bytes(bytes, config, device)
    }

    /// [`MiniLm::load_safetensors`] from the file's bytes.
    pub fn from_safetensors_bytes(
        bytes: Vec<u8>,
        config: &MiniLmConfig,
        device: &Device,
    ) -> Result<Self, MiniLmError> {
        config.validate().map_err(MiniLmError::BadConfig)?;
        Loader {
            file: SafeTensors::parse(bytes)?,
            config,
            device,
        }
        .model()
    }

    /// The model's configuration.
    pub fn config(&self) -> &MiniLmConfig {
        &self.config
    }

    /// The device holding the weights.
    pub fn device(&self) -> Device {
        self.word.weight.device()
    }

    /// Final hidden states `[B, T, d]` of token `ids` `[B, T]` under `mask` `[B, T]` (1.0 = real
    /// token, 0.0 = padding, as Hugging Face's `attention_mask`). Padding keys are not attended;
    /// every row needs at least one real token. Token type 0, positions `0..T`.
    ///
    /// # Panics
    /// If `T` exceeds `max_position_embeddings` or the shapes disagree.
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        let device = self.device();
        let [b, t] = ids.dims();
        let d = self.config.hidden_size;
        // Built once per batch: `[B, 1, T, T]`, `true` where the key is padding.
        let hidden = mask
            .to_device(&device)
            .equal_elem(0.0)
            .reshape([b, 1, 1, t])
            .expand([b, 1, t, t]);
        let pos = self.position.weight.val().slice([0..t, 0..d]);
        let typ = self.token_type.weight.val().slice([0..1, 0..d]);
        let x = embedding(self.word.weight.val(), ids.to_device(&device))
            + (pos + typ).reshape([1, t, d]);
        let mut x = self.emb_norm.forward(x);
        for layer in &self.layers {
            x = layer.forward(x, &hidden);
        }
        x
    }

    /// Sentence embeddings `[B, d]`: [`MiniLm::forward`], mean over the real tokens of `mask`,
    /// then L2 normalisation.
    pub fn embed(&self, ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let mask = mask.to_device(&self.device());
        let [b, t] = mask.dims();
        let h = self.forward(ids, mask.clone());
        let m = mask.reshape([b, t, 1]);
        let count = m.clone().sum_dim(1).clamp_min(1e-9);
        let mean = (h * m).sum_dim(1) / count; // [B, 1, d]
        let norm = mean.clone().square().sum_dim(2).sqrt().clamp_min(1e-12);
        (mean / norm).reshape([b, self.config.hidden_size])
    }
}

// ---------------------------------------------------------------------------------------------
// Sentence encoder

/// all-MiniLM-L6-v2 as sentence-transformers runs it: tokenizer + [`MiniLm`] + mean pooling +
/// L2 normalisation. Embeddings are 384-d unit vectors; compare them with [`cosine`].
pub struct SentenceEncoder {
    model: MiniLm,
    tokenizer: Tokenizer,
    max_tokens: usize,
    device: Device,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("config", &self.model.config)
            .field("max_tokens", &self.max_tokens)
            .field("device", &self.device)
            .finish_non_exhaustive()
    }
}

impl SentenceEncoder {
    /// Load `config.json`, `model.safetensors` and `tokenizer.json` from `dir` (normally
    /// `data/minilm`, made by [`FETCH_COMMAND`]) onto `device` (its autodiff association, if
    /// any, is dropped: the encoder is inference-only). Truncates at [`DEFAULT_MAX_TOKENS`].
    pub fn load(dir: &Path, device: &Device) -> Result<Self, MiniLmError> {
        let device = &device.clone().without_autodiff();
        let [config, weights, tokenizer] =
            ["config.json", "model.safetensors", "tokenizer.json"].map(|f| dir.join(f));
        if let Some(missing) = [&config, &weights, &tokenizer]
            .iter()
            .find(|p| !p.is_file())
        {
            return Err(MiniLmError::MissingFile(missing.to_path_buf()));
        }
        let config = MiniLmConfig::load(&config)?;
        let model = MiniLm::load_safetensors(&weights, &config, device)?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer).map_err(tokenizer_error)?;
        // The packaged tokenizer.json pads every input to 128 tokens; we pad per batch instead.
        tokenizer.with_padding(None);
        let max_tokens = DEFAULT_MAX_TOKENS.min(config.max_position_embeddings);
        let mut encoder = Self {
            model,
            tokenizer,
            max_tokens,
            device: device.clone(),
        };
        encoder.set_truncation(max_tokens)?;
        Ok(encoder)
    }

    /// The same encoder truncating at `max_tokens` tokens (`[CLS]` and `[SEP]` included; at
    /// least 2, at most `max_position_embeddings`).
    pub fn with_max_tokens(mut self, max_tokens: usize) -> Result<Self, MiniLmError> {
        let limit = self.model.config.max_position_embeddings;
        if !(2..=limit).contains(&max_tokens) {
            return Err(MiniLmError::BadConfig(format!(
                "max_tokens must be in 2..={limit}, got {max_tokens}"
            )));
        }
        self.set_truncation(max_tokens)?;
        Ok(self)
    }

    fn set_truncation(&mut self, max_tokens: usize) -> Result<(), MiniLmError> {
        self.tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(tokenizer_error)?;
        self.max_tokens = max_tokens;
        Ok(())
    }

    /// Token ids of `text`: `[CLS] … [SEP]`, truncated to [`SentenceEncoder::max_tokens`].
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, MiniLmError> {
        let encoding = self
            .tokenizer
            .encode_fast(text, true)
            .map_err(tokenizer_error)?;
        Ok(encoding.get_ids().to_vec())
    }

    /// L2-normalised embeddings (each [`SentenceEncoder::dim`] long), in the order of `texts`.
    /// Texts are sorted by length and run in padded batches of at most 64 rows and
    /// 2048 padded tokens, one host read-back per batch.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, MiniLmError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Vec<u32>> = self
            .tokenizer
            .encode_batch_fast(texts.to_vec(), true)
            .map_err(tokenizer_error)?
            .iter()
            .map(|e| e.get_ids().to_vec())
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let d = self.dim();
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in length_batches(&order, |i| ids[i].len()) {
            let rows: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            let (ids_t, mask_t) = padded_batch(&rows, &self.device);
            let emb = self.model.embed(ids_t, mask_t).into_data();
            let values: Vec<f32> = emb.iter::<f32>().collect();
            for (row, &i) in values.chunks_exact(d).zip(chunk) {
                out[i] = row.to_vec();
            }
        }
        Ok(out)
    }

    /// Embedding width (384).
    pub fn dim(&self) -> usize {
        self.model.config.hidden_size
    }

    /// Truncation length in tokens, `[CLS]` and `[SEP]` included (default [`DEFAULT_MAX_TOKENS`]).
    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// The encoder model.
    pub fn model(&self) -> &MiniLm {
        &self.model
    }
}

/// Consecutive runs of `order` (sorted by ascending `len`) of at most [`BATCH_SIZE`] rows whose
/// padded size (rows × longest) stays within [`BATCH_TOKENS`]; a single longer row forms its
/// own batch. Keeps a few long texts from padding a batch of short ones.
fn length_batches(order: &[usize], len: impl Fn(usize) -> usize) -> Vec<&[usize]> {
    let mut batches = Vec::new();
    let mut start = 0;
    for (k, &i) in order.iter().enumerate() {
        let rows = k - start + 1;
        if rows > 1 && (rows > BATCH_SIZE || rows * len(i) > BATCH_TOKENS) {
            batches.push(&order[start..k]);
            start = k;
        }
    }
    if start < order.len() {
        batches.push(&order[start..]);
    }
    batches
}

/// Right-padded ids `[B, T]` (pad id 0) and mask `[B, T]` (1.0 = real token), `T` the longest
/// row (at least 1).
fn padded_batch(rows: &[&[u32]], device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let b = rows.len();
    let t = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![PAD_ID; b * t];
    let mut mask = vec![0.0f32; b * t];
    for (i, row) in rows.iter().enumerate() {
        for (j, &id) in row.iter().enumerate() {
            ids[i * t + j] = i64::from(id);
            mask[i * t + j] = 1.0;
        }
    }
    (
        Tensor::from_data(TensorData::new(ids, [b, t]), device),
        Tensor::from_data(TensorData::new(mask, [b, t]), device),
    )
}

/// Cosine similarity of two vectors; 0 when either is all zeros.
///
/// # Panics
/// If the lengths differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "cosine of vectors of different lengths");
    let (mut dot, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    (dot / (aa.sqrt() * bb.sqrt())) as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;

    #[test]
    fn long_texts_do_not_pad_batches_of_short_ones() {
        // 63 short texts and 8 long ones, as one PPO step scores (summaries + descriptions).
        let lens: Vec<usize> = (0..63).map(|_| 20).chain((0..8).map(|k| 200 + k)).collect();
        let order: Vec<usize> = (0..lens.len()).collect();
        let batches = length_batches(&order, |i| lens[i]);
        let sizes: Vec<usize> = batches.iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![63, 8]);
        assert_eq!(batches.concat(), order);
        // Row cap, and a row longer than the budget alone.
        let lens = [1usize; 130];
        let order: Vec<usize> = (0..130).collect();
        let sizes: Vec<usize> = length_batches(&order, |i| lens[i])
            .iter()
            .map(|b| b.len())
            .collect();
        assert_eq!(sizes, vec![64, 64, 2]);
        assert_eq!(length_batches(&[0, 1], |i| [5000, 6000][i]).len(), 2);
        assert!(length_batches(&[], |_| 1).is_empty());
    }

    fn tiny() -> MiniLmConfig {
        MiniLmConfig {
            vocab_size: 40,
            hidden_size: 16,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            intermediate_size: 32,
            max_position_embeddings: 12,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_act: "gelu".into(),
        }
    }

    #[test]
    fn encoder_is_shareable_across_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<SentenceEncoder>();
    }

    #[test]
    fn missing_dir_names_the_fetch_command() {
        let err =
            SentenceEncoder::load(Path::new("/nonexistent/minilm"), &default_device()).unwrap_err();
        assert!(matches!(err, MiniLmError::MissingFile(_)), "{err:?}");
        assert!(err.to_string().contains(FETCH_COMMAND), "{err}");
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
        assert_eq!(cosine(&[], &[]), 0.0);
    }

    #[test]
    fn config_parses_hf_json_and_rejects_bad_shapes() {
        let json = r#"{"architectures": ["BertModel"], "hidden_act": "gelu",
            "hidden_size": 384, "intermediate_size": 1536, "layer_norm_eps": 1e-12,
            "max_position_embeddings": 512, "model_type": "bert", "num_attention_heads": 12,
            "num_hidden_layers": 6, "pad_token_id": 0, "type_vocab_size": 2,
            "vocab_size": 30522}"#;
        assert_eq!(
            MiniLmConfig::from_json(json).unwrap(),
            MiniLmConfig::all_minilm_l6_v2()
        );
        let bad_heads = json.replace("\"num_attention_heads\": 12", "\"num_attention_heads\": 7");
        assert!(matches!(
            MiniLmConfig::from_json(&bad_heads),
            Err(MiniLmError::BadConfig(_))
        ));
        let relu = json.replace("\"gelu\"", "\"relu\"");
        assert!(matches!(
            MiniLmConfig::from_json(&relu),
            Err(MiniLmError::BadConfig(_))
        ));
        assert!(matches!(
            MiniLmConfig::from_json("{}"),
            Err(MiniLmError::BadConfig(_))
        ));
    }

    #[test]
    fn padding_is_masked_out() {
        let device = default_device();
        let model = tiny().init(&device);
        let a: &[u32] = &[1, 5, 9, 2];
        let b: &[u32] = &[1, 7, 3, 11, 13, 17, 2];
        let embed = |rows: &[&[u32]]| {
            let (ids, mask) = padded_batch(rows, &device);
            let e = model.embed(ids, mask);
            let [n, d] = e.dims();
            let v: Vec<f32> = e.into_data().iter::<f32>().collect();
            (0..n)
                .map(|i| v[i * d..(i + 1) * d].to_vec())
                .collect::<Vec<_>>()
        };
        let batch = embed(&[a, b]);
        let (alone_a, alone_b) = (embed(&[a]), embed(&[b]));
        for (x, y) in [(&batch[0], &alone_a[0]), (&batch[1], &alone_b[0])] {
            let err = x
                .iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0f32, f32::max);
            assert!(err < 1e-5, "padded vs alone differ by {err}");
            let norm: f32 = x.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
        }
        // Padding ids must not matter either.
        let (ids, mask) = padded_batch(&[a, b], &device);
        let other_pad = ids.clone().mask_fill(mask.clone().equal_elem(0.0), 39);
        let diff = (model.embed(ids, mask.clone()) - model.embed(other_pad, mask))
            .abs()
            .max()
            .into_scalar::<f32>();
        assert!(diff < 1e-6, "pad id changed the embedding by {diff}");
    }

    /// A safetensors file with BERT key names for `config` (f32 zeros, pooler included), without
    /// the tensor `skip` and with one extra row in the tensor `reshape`.
    fn bert_file(config: &MiniLmConfig, skip: &str, reshape: &str) -> Vec<u8> {
        let (d, f) = (config.hidden_size, config.intermediate_size);
        let mut tensors: Vec<(String, Vec<usize>)> = vec![
            (
                "embeddings.word_embeddings.weight".into(),
                vec![config.vocab_size, d],
            ),
            (
                "embeddings.position_embeddings.weight".into(),
                vec![config.max_position_embeddings, d],
            ),
            (
                "embeddings.token_type_embeddings.weight".into(),
                vec![config.type_vocab_size, d],
            ),
            ("embeddings.LayerNorm.weight".into(), vec![d]),
            ("embeddings.LayerNorm.bias".into(), vec![d]),
            ("pooler.dense.weight".into(), vec![d, d]),
            ("pooler.dense.bias".into(), vec![d]),
        ];
        for i in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            for (name, out, inp) in [
                ("attention.self.query", d, d),
                ("attention.self.key", d, d),
                ("attention.self.value", d, d),
                ("attention.output.dense", d, d),
                ("intermediate.dense", f, d),
                ("output.dense", d, f),
            ] {
                tensors.push((format!("{p}.{name}.weight"), vec![out, inp]));
                tensors.push((format!("{p}.{name}.bias"), vec![out]));
            }
            for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
                tensors.push((format!("{p}.{name}.weight"), vec![d]));
                tensors.push((format!("{p}.{name}.bias"), vec![d]));
            }
        }
        let mut header = serde_json::Map::new();
        let mut offset = 0;
        for (name, mut shape) in tensors {
            if name == skip {
                continue;
            }
            if name == reshape {
                shape[0] += 1;
            }
            let bytes = 4 * shape.iter().product::<usize>();
            header.insert(
                name,
                serde_json::json!({"dtype": "F32", "shape": shape,
                    "data_offsets": [offset, offset + bytes]}),
            );
            offset += bytes;
        }
        let header = serde_json::to_vec(&header).unwrap();
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend(header);
        out.resize(out.len() + offset, 0);
        out
    }

    #[test]
    fn loader_checks_every_weight() {
        let device = default_device();
        let config = tiny();
        let ok = MiniLm::from_safetensors_bytes(bert_file(&config, "", ""), &config, &device);
        assert!(ok.is_ok(), "{:?}", ok.err());
        let missing = "encoder.layer.1.attention.self.value.bias";
        assert!(matches!(
            MiniLm::from_safetensors_bytes(bert_file(&config, missing, ""), &config, &device),
            Err(MiniLmError::MissingWeight(k)) if k == missing
        ));
        let misshapen = "encoder.layer.0.intermediate.dense.weight";
        assert!(matches!(
            MiniLm::from_safetensors_bytes(bert_file(&config, "", misshapen), &config, &device),
            Err(MiniLmError::ShapeMismatch { key, .. }) if key == misshapen
        ));
        // A file with more layers than the config is rejected, not silently truncated.
        let deeper = MiniLmConfig {
            num_hidden_layers: 3,
            ..config.clone()
        };
        assert!(matches!(
            MiniLm::from_safetensors_bytes(bert_file(&deeper, "", ""), &config, &device),
            Err(MiniLmError::UnexpectedWeights(k)) if k.len() == 16
        ));
        assert!(matches!(
            MiniLm::from_safetensors_bytes(vec![1, 2, 3], &config, &device),
            Err(MiniLmError::BadWeights(_))
        ));
    }

    #[test]
    fn transpose_swaps_rows_and_columns() {
        assert_eq!(
            transpose(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }
}
