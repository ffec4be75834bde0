//! A comparison of all four strategies on a Hugging Face policy (the transformers-made Llama
//! fixture, with its own tokenizer, a vocabulary padded past the tokenizer's, and a BOS its
//! tokenizer adds): every strategy trains, the final policies are kept in Hugging Face's format
//! and load back.

use multireward::device::default_device;
use multireward::experiment::{Budget, Comparison, ComparisonConfig, Task};
use multireward::policy::{AutoPolicy, Policy};
use multireward::reward::{FnReward, RewardSet, Sample};
use multireward::tokenizer::{HfTokenizer, Tokenizer};
use std::path::Path;

#[test]
fn all_four_strategies_run_on_a_hugging_face_policy_and_keep_it() {
    let device = default_device();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf/llama-gqa");
    let reference = AutoPolicy::load(&dir, &device).unwrap();
    let tokenizer = HfTokenizer::from_dir(&dir).unwrap();
    assert!(tokenizer.vocab_size() < reference.vocab_size());
    let count = |c: char| move |s: &Sample| Some(s.completion.matches(c).count() as f64);
    let set = || {
        RewardSet::builder()
            .add(FnReward::new("e", count('e')), 0.5)
            .add(FnReward::new("t", count('t')), 0.5)
            .build()
            .unwrap()
    };
    let task = Task::new(reference, &tokenizer, set(), set());
    let config = ComparisonConfig::new(
        Budget::new(4, 8)
            .with_merge_every(1)
            .with_max_new_tokens(8)
            .with_updates(1, 2),
        16,
    );
    let out = std::env::temp_dir().join(format!("mr-hf-comparison-{}", std::process::id()));
    let outcome = Comparison::new(task, config)
        .unwrap()
        .with_progress(false)
        .run(&out)
        .unwrap();
    let names: Vec<&str> = outcome.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Pretrained",
            "IterativeRS",
            "MORLHF",
            "Rewarded Soups",
            "RiC"
        ]
    );
    assert_eq!(outcome.policies.len(), 4);
    for kept in &outcome.policies {
        assert!(kept.path.join("model.safetensors").exists(), "{kept:?}");
        assert!(kept.path.join("tokenizer.json").exists(), "{kept:?}");
        let back = AutoPolicy::load(&kept.path, &device).unwrap();
        assert_eq!(back.family(), "llama");
        // RiC's policy carries its conditioning tokens; the others the reference's vocabulary.
        let extra = if kept.strategy == "RiC" { 2 * 4 } else { 0 };
        assert_eq!(back.vocab_size(), 128 + extra, "{}", kept.strategy);
        assert_eq!(kept.condition.is_empty(), kept.strategy != "RiC");
    }
    let _ = std::fs::remove_dir_all(&out);
}
