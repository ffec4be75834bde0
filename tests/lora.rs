//! LoRA on the model families: adapters attach to the named projections and nothing else is
//! trainable; a fresh adapter leaves the policy unchanged; sampling's host path reads the
//! adapted weights; merging experts' updates exactly equals merging their folded weights, and
//! averaging the factors separately (Rewarded Soups' practice) differs where experts disagree.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use multireward::device::default_device;
use multireward::merge::{AdapterFactors, Linear, Merger};
use multireward::policy::lora::{self, LoraConfig, LoraError};
use multireward::policy::{AutoPolicy, CausalLm, Decoding, Policy, SamplingConfig, generate};
use std::path::Path;

fn fixture(name: &str) -> AutoPolicy {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name);
    AutoPolicy::load(&dir, &default_device()).unwrap()
}

fn logits(p: &AutoPolicy) -> Vec<f32> {
    let device = p.device();
    let ids: Vec<i64> = vec![1, 5, 9, 14, 20, 3];
    let t = ids.len();
    let tokens = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, t]), &device);
    let pos =
        Tensor::<2, Int>::from_data(TensorData::new((0..t as i64).collect(), [1, t]), &device);
    let h = p.hidden(tokens, pos, &None, None);
    p.logits(h).into_data().iter::<f32>().collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Every factor replaced by random values (as if trained), from the device RNG.
struct Randomise(Vec<String>);

impl ModuleMapper for Randomise {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.0.push(name.into());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.0.pop();
    }
    fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.0.iter().any(|n| n == "lora") {
            return p;
        }
        p.map(|t| t.random_like(Distribution::Normal(0.0, 0.3)))
    }
}

fn trained(p: AutoPolicy, seed: u64) -> AutoPolicy {
    p.device().seed(seed);
    p.map(&mut Randomise(Vec::new()))
}

#[test]
fn adapters_attach_to_named_projections_only() {
    let base = fixture("llama-gqa");
    let before = logits(&base);
    let cfg = LoraConfig::new(4, 8.0, &["q_proj", "v_proj"]);
    let adapted = lora::attach(base.clone(), &cfg, 0).unwrap();
    // B starts at zero: the policy is unchanged.
    assert!(max_diff(&logits(&adapted), &before) < 1e-6);
    // Trainable: r·(in + out) per adapted weight; 2 layers × (q 32→32, v 32→16).
    let expected = 2 * (4 * (32 + 32) + 4 * (32 + 16));
    assert_eq!(lora::trainable_params(&adapted), expected);
    assert_eq!(lora::trainable_params(&base), base.num_params());
    // GPT-2's names and ours both reach the fused projection.
    for targets in [&["c_attn"][..], &["qkv"][..], &["c_proj", "c_fc"][..]] {
        let gpt2 = lora::attach(fixture("gpt2"), &LoraConfig::new(2, 4.0, targets), 0).unwrap();
        assert!(lora::trainable_params(&gpt2) > 0, "{targets:?}");
    }
    // A target that matches nothing names the ones that exist.
    match lora::attach(fixture("qwen2"), &LoraConfig::new(4, 8.0, &["query"]), 0) {
        Err(LoraError::NoTarget { available, .. }) => {
            assert!(
                available.contains("q_proj") && available.contains("down_proj"),
                "{available}"
            )
        }
        other => panic!("expected NoTarget, got {other:?}"),
    }
    for (cfg, field) in [
        (LoraConfig::new(0, 8.0, &["q_proj"]), "r"),
        (LoraConfig::new(4, f64::NAN, &["q_proj"]), "lora_alpha"),
        (LoraConfig::new(4, -1.0, &["q_proj"]), "lora_alpha"),
        (
            LoraConfig::new(4, 8.0, &["q_proj"]).with_dropout(1.0),
            "lora_dropout",
        ),
        (LoraConfig::new(4, 8.0, &[]), "target_modules"),
    ] {
        let e = lora::attach(fixture("llama-mqa"), &cfg, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains(field), "{e}");
    }
    // Adapting an adapted policy is refused.
    assert!(matches!(
        lora::attach(adapted, &cfg, 0),
        Err(LoraError::AlreadyAdapted)
    ));
}

#[test]
fn sampling_reads_the_adapted_weights_on_every_path() {
    for name in ["llama-gqa", "gpt2", "qwen2"] {
        let targets: &[&str] = match name {
            "gpt2" => &["c_attn", "c_proj", "c_fc"],
            _ => &[
                "q_proj",
                "k_proj",
                "v_proj",
                "o_proj",
                "gate_proj",
                "up_proj",
                "down_proj",
            ],
        };
        let adapted = lora::attach(fixture(name), &LoraConfig::new(4, 8.0, targets), 0).unwrap();
        let adapted = trained(adapted, 7);
        let folded = lora::fold(adapted.clone());
        // Folding keeps the function.
        assert!(
            max_diff(&logits(&adapted), &logits(&folded)) < 1e-4,
            "{name}"
        );
        let cfg = SamplingConfig {
            max_new_tokens: 12,
            temperature: 1.0,
            seed: Some(3),
            ..Default::default()
        };
        let prompts = vec![vec![1], vec![1, 5, 6]];
        let want = generate(&folded.valid(), &prompts, &cfg, Decoding::Recompute).unwrap();
        let frozen = adapted.valid();
        for decoding in [Decoding::Host, Decoding::Cached, Decoding::Recompute] {
            let got = generate(&frozen, &prompts, &cfg, decoding).unwrap();
            let ids = |r: &multireward::policy::Rollout| -> Vec<i64> {
                r.sequences
                    .tokens
                    .clone()
                    .into_data()
                    .iter::<i64>()
                    .collect()
            };
            assert_eq!(ids(&got), ids(&want), "{name} {decoding:?}");
        }
    }
}

#[test]
fn merging_updates_equals_merging_folded_weights_and_factor_averaging_differs() {
    let cfg = LoraConfig::new(4, 8.0, &["q_proj", "v_proj", "down_proj"]).with_rslora(true);
    let base = lora::attach(fixture("llama-gqa"), &cfg, 0).unwrap();
    let experts: Vec<AutoPolicy> = (0..3).map(|k| trained(base.clone(), 10 + k)).collect();
    let w = [0.5, 0.3, 0.2];
    let exact = lora::merge_folded(&experts.iter().collect::<Vec<_>>(), &w);
    let folded: Vec<AutoPolicy> = experts.iter().cloned().map(lora::fold).collect();
    let refs: Vec<&AutoPolicy> = folded.iter().collect();
    let of_folded = Linear.merge(&refs, &w, None).unwrap();
    let diff = max_diff(&logits(&exact), &logits(&of_folded));
    assert!(
        diff < 1e-4,
        "exact LoRA merge vs merge of folded weights: {diff}"
    );
    // Linear merges adapted policies by their effective weights: the same.
    let refs: Vec<&AutoPolicy> = experts.iter().collect();
    let linear = Linear.merge(&refs, &w, None).unwrap();
    assert!(max_diff(&logits(&linear), &logits(&exact)) < 1e-4);
    // Rewarded Soups' practice: A and B averaged separately, then folded.
    let factors = AdapterFactors.merge(&refs, &w, None).unwrap();
    let gap = max_diff(&logits(&factors), &logits(&exact));
    assert!(
        gap > 1e-2,
        "averaging factors differs when experts disagree: {gap}"
    );
    // ... and agrees when the experts agree.
    let same_a: Vec<AutoPolicy> = (0..3).map(|_| experts[0].clone()).collect();
    let refs: Vec<&AutoPolicy> = same_a.iter().collect();
    let factors = AdapterFactors.merge(&refs, &w, None).unwrap();
    let exact = lora::merge_folded(&same_a.iter().collect::<Vec<_>>(), &w);
    assert!(max_diff(&logits(&factors), &logits(&exact)) < 1e-4);
}
