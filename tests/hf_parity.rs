//! Hugging Face parity: tiny random-initialised models saved by `transformers` itself
//! (`scripts/make-hf-fixtures.py`, `tests/fixtures/hf/`) load through [`AutoPolicy`] and give
//! transformers' logits (within 1e-4), greedy continuations (identical) and per-token
//! log-probabilities (within 1e-4) on the host, Burn-cached and uncached decoding paths; f16,
//! bf16 and sharded weights load; the tokenizers encode as transformers does. An export of each
//! loads back with the same logits.

use burn::tensor::{Tensor, TensorData};
use multireward::device::default_device;
use multireward::policy::{
    AutoPolicy, CausalLm, Decoding, Policy, Prompts, SamplingConfig, Sequences, generate,
};
use multireward::tokenizer::{HfTokenizer, Tokenizer};
use serde_json::Value;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

fn reference(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// Our logits `[T, V]` of `prompt` alone, flattened.
fn logits(policy: &AutoPolicy, prompt: &[u32]) -> Vec<f32> {
    let device = policy.device();
    let t = prompt.len();
    let tokens = Tensor::<2, burn::tensor::Int>::from_data(
        TensorData::new(prompt.iter().map(|&i| i as i64).collect(), [1, t]),
        &device,
    );
    let positions = Tensor::<2, burn::tensor::Int>::from_data(
        TensorData::new((0..t as i64).collect(), [1, t]),
        &device,
    );
    let h = policy.hidden(tokens, positions, &None, None);
    policy.logits(h).into_data().iter::<f32>().collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Logits, greedy continuations on every decoding path, their log-probabilities as sampled and
/// as scored, against the fixture's reference.
fn check_against_reference(policy: &AutoPolicy, reference: &Value, what: &str) {
    let prompts: Vec<Vec<u32>> = reference["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(ids)
        .collect();
    for (i, prompt) in prompts.iter().enumerate() {
        let want: Vec<f32> = reference["logits"][i]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        let diff = max_diff(&logits(policy, prompt), &want);
        assert!(diff <= TOL, "{what} prompt {i}: logits differ by {diff}");
    }
    let cfg = SamplingConfig {
        max_new_tokens: reference["max_new_tokens"].as_u64().unwrap() as usize,
        greedy: true,
        temperature: 1.0,
        seed: Some(0),
        ..Default::default()
    };
    let frozen = burn::module::Module::valid(policy);
    for (i, prompt) in prompts.iter().enumerate() {
        let want = ids(&reference["greedy"][i]);
        let want_lp = floats(&reference["greedy_logprobs"][i]);
        for decoding in [Decoding::Host, Decoding::Cached, Decoding::Recompute] {
            let rollout = generate(&frozen, std::slice::from_ref(prompt), &cfg, decoding).unwrap();
            let got: Vec<u32> = rollout
                .sequences
                .response()
                .into_data()
                .iter::<i64>()
                .map(|x| x as u32)
                .collect();
            assert_eq!(
                got, want,
                "{what} prompt {i} ({decoding:?}): greedy continuation"
            );
            let lp: Vec<f32> = rollout.log_probs.into_data().iter::<f32>().collect();
            let diff = max_diff(&lp, &want_lp);
            assert!(
                diff <= TOL,
                "{what} prompt {i} ({decoding:?}): log-probs differ by {diff}"
            );
        }
        let seqs = Sequences::from_parts(
            std::slice::from_ref(prompt),
            std::slice::from_ref(&want),
            policy.vocab_size(),
            &policy.device(),
        )
        .unwrap();
        let scored: Vec<f32> = policy
            .score(&seqs, 1.0)
            .unwrap()
            .log_probs
            .into_data()
            .iter::<f32>()
            .collect();
        let diff = max_diff(&scored, &want_lp);
        assert!(
            diff <= TOL,
            "{what} prompt {i}: scored log-probs differ by {diff}"
        );
    }
}

#[test]
fn every_family_matches_transformers() {
    let device = default_device();
    for (name, family) in [
        ("gpt2", "gpt2"),
        ("gpt2-gelu", "gpt2"),
        ("llama-gqa", "llama"),
        ("llama-mqa", "llama"),
        ("qwen2", "qwen2"),
        ("llama-gqa-f16", "llama"),
        ("llama-gqa-bf16", "llama"),
        ("llama-gqa-sharded", "llama"),
    ] {
        let dir = fixture(name);
        let policy = AutoPolicy::load(&dir, &device).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(policy.family(), family, "{name}");
        let reference = reference(&dir);
        assert_eq!(
            policy.shape().vocab_size as u64,
            reference["vocab_size"].as_u64().unwrap()
        );
        check_against_reference(&policy, &reference, name);
    }
}

/// Left padding and batch-mates do not change a row: the three prompts sampled together give
/// each one's greedy continuation.
#[test]
fn batched_padded_prompts_give_each_rows_continuation() {
    let device = default_device();
    for name in ["gpt2", "llama-gqa", "qwen2"] {
        let dir = fixture(name);
        let policy = AutoPolicy::load(&dir, &device).unwrap();
        let reference = reference(&dir);
        let prompts: Vec<Vec<u32>> = reference["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .map(ids)
            .collect();
        let cfg = SamplingConfig {
            max_new_tokens: 10,
            greedy: true,
            temperature: 1.0,
            ..Default::default()
        };
        let rollout = policy.sample(&prompts, &cfg).unwrap();
        let rows = rollout
            .sequences
            .response()
            .into_data()
            .iter::<i64>()
            .collect::<Vec<_>>();
        for (i, row) in rows.chunks(10).enumerate() {
            let row: Vec<u32> = row.iter().map(|&x| x as u32).collect();
            assert_eq!(row, ids(&reference["greedy"][i]), "{name} row {i}");
        }
    }
}

#[test]
fn tokenizers_encode_as_transformers_does() {
    for name in ["gpt2", "llama-gqa", "qwen2"] {
        let dir = fixture(name);
        let reference = reference(&dir);
        let tokenizer = HfTokenizer::from_dir(&dir).unwrap();
        let text = reference["text"].as_str().unwrap();
        assert_eq!(
            tokenizer.encode(text).unwrap(),
            ids(&reference["text_ids_no_special"]),
            "{name}"
        );
        // A prompt row starts with BOS exactly when the tokenizer adds one.
        let row = Prompts::encode(vec![text.into()], &tokenizer)
            .unwrap()
            .ids()[0]
            .clone();
        let adds_bos = reference["tokenizer"]["adds_bos"].as_bool().unwrap();
        assert_eq!(row, ids(&reference["text_ids"]), "{name}");
        assert_eq!(tokenizer.specials().bos.is_some(), adds_bos, "{name}");
        assert_eq!(
            tokenizer
                .decode(&ids(&reference["text_ids"]))
                .unwrap()
                .trim(),
            text,
            "{name}"
        );
    }
}

/// An export loads back with the same logits (both families; transformers' own check of the
/// export is `scripts/make-hf-fixtures.py --check-export`).
#[test]
fn exports_load_back_equal() {
    let device = default_device();
    let out = std::env::temp_dir().join(format!("mr-hf-export-{}", std::process::id()));
    for name in ["gpt2", "llama-gqa", "qwen2"] {
        let dir = fixture(name);
        let policy = AutoPolicy::load(&dir, &device).unwrap();
        let tokenizer = HfTokenizer::from_dir(&dir).unwrap();
        let target = out.join(name);
        policy.save(&target, &tokenizer).unwrap();
        let back = AutoPolicy::load(&target, &device).unwrap();
        assert_eq!(back.family(), policy.family());
        check_against_reference(&back, &reference(&dir), &format!("export of {name}"));
        assert!(target.join("tokenizer.json").exists());
    }
    let _ = std::fs::remove_dir_all(&out);
}
