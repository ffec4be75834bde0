//! What makes a [`CausalLm`] a [`Policy`](super::Policy): sampling through the generic loop
//! ([`super::generate`]) on a frozen copy, and scoring by one forward pass. A family's
//! `Policy` implementation calls these.

use super::causal_lm::{CausalLm, attn_mask};
use super::generate::{Decoding, generate};
use super::sampling::{SamplingConfig, check_temperature};
use super::sequences::{Rollout, Sequences};
use super::{PolicyError, ResponseScores};
use burn::tensor::activation::log_softmax;

/// [`Policy::sample`](super::Policy::sample) of a causal LM: the fastest decoding path for
/// `cfg` on the model's device, on a non-autodiff copy.
pub fn sample<M: CausalLm>(
    model: &M,
    prompts: &[Vec<u32>],
    cfg: &SamplingConfig,
) -> Result<Rollout, PolicyError> {
    let frozen = model.valid();
    let decoding = Decoding::choose(cfg, &frozen);
    generate(&frozen, prompts, cfg, decoding)
}

/// [`Policy::score`](super::Policy::score) of a causal LM: log-probabilities (and values) of
/// the response tokens of `seqs` at `temperature`, in one forward pass.
pub fn score<M: CausalLm>(
    model: &M,
    seqs: &Sequences,
    temperature: f32,
) -> Result<ResponseScores, PolicyError> {
    check_temperature(temperature)?;
    let device = model.device();
    let max_len = model.shape().max_len;
    let [b, l] = seqs.dims();
    let p = seqs.prompt_len;
    if p == 0 || l <= p {
        return Err(PolicyError::BadConfig(format!(
            "sequences of {l} tokens with a {p}-token prompt: scoring needs at least one prompt \
             token and one response token"
        )));
    }
    if l > max_len {
        return Err(PolicyError::TooLong {
            prompt: p,
            response: l - p,
            max_len,
        });
    }
    seqs.check(model.shape().vocab_size, max_len)?;
    let mask = attn_mask(seqs.key_pad.as_ref(), 0, l, l, &device);
    let h = model.hidden(seqs.tokens.clone(), seqs.positions.clone(), &mask, None);
    // The state before response token j is position p - 1 + j.
    let h = h.narrow(1, p - 1, l - p);
    let logits = model.logits(h.clone()) / temperature;
    let targets = seqs.response().to_device(&device).reshape([b, l - p, 1]);
    let log_probs = log_softmax(logits, 2)
        .gather(2, targets)
        .squeeze_dim::<2>(2);
    Ok(ResponseScores {
        log_probs,
        values: model.values(h),
    })
}

/// The [`Policy`](super::Policy) methods every causal LM answers the same way, for the
/// families' `impl Policy` blocks.
macro_rules! causal_lm_policy {
    () => {
        fn sample(
            &self,
            prompts: &[Vec<u32>],
            cfg: &$crate::policy::SamplingConfig,
        ) -> Result<$crate::policy::Rollout, $crate::policy::PolicyError> {
            $crate::policy::sample(self, prompts, cfg)
        }

        fn score(
            &self,
            seqs: &$crate::policy::Sequences,
            temperature: f32,
        ) -> Result<$crate::policy::ResponseScores, $crate::policy::PolicyError> {
            $crate::policy::score(self, seqs, temperature)
        }

        fn has_value_head(&self) -> bool {
            $crate::policy::CausalLm::value_head(self).is_some()
        }

        fn vocab_size(&self) -> usize {
            $crate::policy::CausalLm::shape(self).vocab_size
        }

        fn max_len(&self) -> Option<usize> {
            Some($crate::policy::CausalLm::shape(self).max_len)
        }

        fn with_lora(
            &self,
            cfg: &$crate::policy::lora::LoraConfig,
            seed: u64,
        ) -> Result<Self, $crate::policy::PolicyError> {
            $crate::policy::lora::attach(self.clone(), cfg, seed)
                .map_err(|e| $crate::policy::PolicyError::Lora(e.to_string()))
        }
    };
}
pub(crate) use causal_lm_policy;
