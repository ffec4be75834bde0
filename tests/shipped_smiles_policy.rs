//! The shipped SMILES policy (`assets/smiles-gpt`) loads and samples mostly valid, diverse
//! molecules at temperature 1.0.

use multireward::checkpoint::tokenizer_path;
use multireward::device::default_device;
use multireward::policy::{Gpt, Policy, SamplingConfig};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::sample_quality;
use multireward::tokenizer::{BOS, Tokenizer};
use std::path::Path;

#[test]
fn shipped_policy_samples_valid_unique_smiles() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/smiles-gpt");
    let device = default_device();
    let model = Gpt::load(&dir, &device).unwrap();
    let tok = SmilesTokenizer::load(&tokenizer_path(&dir)).unwrap();
    let cfg = SamplingConfig {
        max_new_tokens: 64,
        temperature: 1.0,
        seed: Some(2026),
        stop_at_eos: true,
        ..Default::default()
    };
    let rollout = model.sample(&vec![vec![BOS]; 500], &cfg).unwrap();
    let samples: Vec<String> = rollout
        .response_ids()
        .iter()
        .map(|ids| tok.decode(ids).unwrap())
        .collect();
    let q = sample_quality(&samples, None);
    // The example's 1000-sample check reports the exact figures (docs/results.md); this guards
    // the shipped file against regressions with some sampling slack.
    assert!(q.validity >= 0.85, "validity {}", q.validity);
    assert!(q.uniqueness >= 0.85, "uniqueness {}", q.uniqueness);
}
