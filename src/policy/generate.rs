//! Sampling from any [`CausalLm`]: the prompt runs through the model in one pass (prefill),
//! then one token at a time. How the steps after the prompt run is chosen once per call
//! ([`Decoding::choose`]): with a key/value cache through Burn's ops on any backend, with the
//! cache on host buffers on the CPU backend ([`crate::host::decode`], for families that
//! describe their layers with [`CausalLm::host_view`]), or (cache off) recomputing the whole
//! prefix every step. All three draw the same tokens from the same seed (the tests compare
//! them).

use super::PolicyError;
use super::causal_lm::{CausalLm, KvCache, attn_mask};
use super::sampling::{SamplingConfig, sample_next, uniform_draws};
use super::sequences::{PromptLayout, Rollout, Sequences, response_mask};
use crate::host::decode::HostDecoder;
use burn::tensor::{Bool, Tensor, TensorData};

/// How the decoding steps after the prompt run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoding {
    /// No cache: every step reruns the whole prefix ([`SamplingConfig::use_kv_cache`] off).
    Recompute,
    /// Key/value cache through Burn's ops (any backend).
    Cached,
    /// Key/value cache with the steps on host buffers (the CPU backend; families with a
    /// [`CausalLm::host_view`], else [`Decoding::Cached`]).
    Host,
}

impl Decoding {
    /// The fastest way for `cfg` on the model's device.
    pub fn choose<M: CausalLm>(cfg: &SamplingConfig, model: &M) -> Self {
        if !cfg.use_kv_cache {
            Self::Recompute
        } else if crate::host::enabled(&model.device()) && model.host_view().is_some() {
            Self::Host
        } else {
            Self::Cached
        }
    }
}

/// The decoding state after the prompt.
enum Steps {
    Recompute,
    Cached(KvCache),
    Host(Box<HostDecoder>),
}

/// A [`HostDecoder`] over `model`'s weights, taking over the prefill `cache`; `None` (cache
/// untouched) when the family has no host view or a buffer is not `f32`.
fn host_decoder<M: CausalLm>(
    model: &M,
    cache: &mut KvCache,
    batch: usize,
    capacity: usize,
) -> Option<HostDecoder> {
    let view = model.host_view()?;
    let kv = cache
        .layers
        .iter_mut()
        .map(|l| (&mut l.k, &mut l.v))
        .collect();
    HostDecoder::new(&view, kv, batch, capacity)
}

/// Sample one response per prompt from `model` (a non-autodiff copy) with `cfg`, running the
/// steps as `decoding` says.
pub fn generate<M: CausalLm>(
    model: &M,
    prompts: &[Vec<u32>],
    cfg: &SamplingConfig,
    decoding: Decoding,
) -> Result<Rollout, PolicyError> {
    let shape = model.shape();
    let specials = model.specials();
    let vocab = shape.vocab_size;
    cfg.validate_for(vocab)?;
    let r = cfg.max_new_tokens;
    // Before anything is allocated for `r` tokens (checked: `r` may be any size).
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if longest
        .checked_add(r)
        .is_none_or(|total| total > shape.max_len)
    {
        return Err(PolicyError::TooLong {
            prompt: longest,
            response: r,
            max_len: shape.max_len,
        });
    }
    let layout = PromptLayout::new(prompts, r, vocab)?;
    let (b, p) = (layout.batch(), layout.width);
    let device = model.device();
    let draws = uniform_draws(cfg, b, r, &device);
    let (mut tokens, positions, key_pad) = layout.tensors(&device);
    let total = p + r;
    let mut cache =
        (decoding != Decoding::Recompute).then(|| KvCache::new(&shape, b, total, &device));
    // With the cache, queries attend over the whole preallocated buffer (no per-step copy of
    // a prefix view); slots not yet written are hidden by the causal mask.
    let keys = if cache.is_some() { total } else { p };
    let prompt_mask = attn_mask(key_pad.as_ref(), 0, p, keys, &device);
    let h = model.hidden(
        tokens.clone().slice([0..b, 0..p]),
        positions.clone().slice([0..b, 0..p]),
        &prompt_mask,
        cache.as_mut(),
    );
    let mut steps = match (decoding, cache) {
        (_, None) => Steps::Recompute,
        (Decoding::Host, Some(mut c)) => match host_decoder(model, &mut c, b, total) {
            Some(d) => Steps::Host(Box::new(d)),
            None => Steps::Cached(c),
        },
        (_, Some(c)) => Steps::Cached(c),
    };
    let last = h.clone().narrow(1, h.dims()[1] - 1, 1);
    let mut logits = model.logits(last).reshape([b, vocab]);
    let mut log_probs = Vec::with_capacity(r);
    let mut done: Option<Tensor<2, Bool>> = None;
    let mut generated = 0;
    for step in 0..r {
        let (tok, lp) = sample_next(logits, cfg, draws.clone().narrow(1, step, 1));
        let col = p + step;
        tokens = tokens.slice_assign([0..b, col..col + 1], tok.clone());
        log_probs.push(lp);
        generated = step + 1;
        if cfg.stop_at_eos {
            let eos = specials
                .eos
                .iter()
                .map(|&e| tok.clone().equal_elem(e as i64))
                .reduce(|a, e| a.bool_or(e))
                .expect("at least one EOS id");
            let all = done.take().map_or(eos.clone(), |d| d.bool_or(eos));
            if generated % 8 == 0 && all.clone().all().into_scalar::<bool>() {
                break;
            }
            done = Some(all);
        }
        if step + 1 == r {
            break;
        }
        // Feed the drawn token, get the next logits.
        logits = match &mut steps {
            Steps::Host(dec) => {
                let ids: Vec<i64> = tok.into_data().iter::<i64>().collect();
                let pos: Vec<i64> = (0..b).map(|i| layout.positions[i * total + col]).collect();
                let pad = layout.any_pad.then_some((&layout.pad[..], total));
                let next = dec.step(&ids, &pos, col, pad);
                Tensor::from_data(TensorData::new(next, [b, vocab]), &device)
            }
            Steps::Cached(c) => {
                let h = model.hidden(
                    tok,
                    positions.clone().slice([0..b, col..col + 1]),
                    &attn_mask(key_pad.as_ref(), col, 1, total, &device),
                    Some(c),
                );
                model.logits(h).reshape([b, vocab])
            }
            Steps::Recompute => {
                let h = model.hidden(
                    tokens.clone().slice([0..b, 0..col + 1]),
                    positions.clone().slice([0..b, 0..col + 1]),
                    &attn_mask(key_pad.as_ref(), 0, col + 1, col + 1, &device),
                    None,
                );
                let last = h.narrow(1, col, 1);
                model.logits(last).reshape([b, vocab])
            }
        };
    }
    let mut log_probs = Tensor::cat(log_probs, 1);
    if generated < r {
        // Early stop: the rest of every row is padding with zero log-probability.
        tokens = tokens.slice_fill([0..b, p + generated..total], specials.pad as i64);
        log_probs = Tensor::cat(
            vec![log_probs, Tensor::zeros([b, r - generated], &device)],
            1,
        );
    }
    let sequences = Sequences {
        tokens,
        positions,
        key_pad,
        prompt_len: p,
    };
    let mask = response_mask(sequences.response(), &specials.eos);
    Ok(Rollout {
        sequences,
        response_mask: mask,
        log_probs,
        eos: specials.eos.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::default_device;
    use crate::policy::{AutoPolicy, Policy};
    use crate::policy::{Gpt, GptConfig};
    use burn::tensor::Int;

    fn ids(t: Tensor<2, Int>) -> Vec<i64> {
        t.into_data().iter::<i64>().collect()
    }

    /// Sample with the host steps and with Burn's cached steps from the same seed: the same
    /// tokens, log-probabilities within `tol`.
    fn host_and_burn_agree<M: CausalLm>(
        model: &M,
        prompts: &[Vec<u32>],
        temperature: f32,
        tol: f32,
    ) {
        let cfg = SamplingConfig {
            max_new_tokens: 24,
            temperature,
            seed: Some(3),
            ..Default::default()
        };
        let model = model.valid();
        let host = generate(&model, prompts, &cfg, Decoding::Host).unwrap();
        let burn = generate(&model, prompts, &cfg, Decoding::Cached).unwrap();
        assert_eq!(ids(host.sequences.tokens), ids(burn.sequences.tokens));
        let diff: f32 = (host.log_probs - burn.log_probs).abs().max().into_scalar();
        assert!(diff <= tol, "log-probs differ by {diff}");
    }

    /// Padded prompts, an untied head and widths no kernel tile divides (d_head 9, d_ff 50,
    /// vocab 13).
    #[test]
    fn host_steps_match_burn_steps() {
        let dev = default_device();
        dev.seed(4);
        let model = GptConfig::new(2, 4, 36, 50, 13, 48)
            .with_tie_weights(false)
            .init(&dev);
        let prompts = vec![vec![1], vec![1, 5, 6, 7], vec![1, 8], vec![1, 9, 3]];
        host_and_burn_agree(&model, &prompts, 1.0, 1e-5);
    }

    /// The shipped SMILES policy, whose trained attention is far from uniform, batch 64.
    #[test]
    fn host_steps_match_burn_steps_on_trained_weights() {
        let dir = crate::assets::smiles_policy().unwrap();
        let model = Gpt::load(&dir, &default_device()).unwrap();
        let start = model.specials().start();
        let prompts: Vec<Vec<u32>> = (0..64).map(|i| vec![start; 1 + i % 3]).collect();
        host_and_burn_agree(&model, &prompts, 0.7, 1e-4);
    }

    /// The Llama family on the host path: rotary positions, grouped-query heads, SwiGLU and
    /// Qwen2's biases, with padded prompts (the fixtures made by transformers).
    #[test]
    fn host_steps_match_burn_steps_for_the_llama_family() {
        for name in ["llama-gqa", "llama-mqa", "qwen2", "gpt2"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/hf")
                .join(name);
            let model = AutoPolicy::load(&dir, &default_device()).unwrap();
            let prompts = vec![
                vec![1],
                vec![1, 5, 6, 7],
                vec![1, 8],
                vec![1, 9, 3, 4, 5, 6],
            ];
            host_and_burn_agree(&model, &prompts, 1.0, 1e-4);
        }
    }
}
