//! PEFT adapters in and out: adapters made by the `peft` library itself
//! (`scripts/make-peft-fixtures.py`, `tests/fixtures/peft/`) applied to their transformers-made
//! bases give PEFT's logits within 1e-4, folded too; adapters we save load back equal (and in
//! PEFT: `--check-adapter`, run once, recorded in docs/performance.md). Bad adapters:
//! `tests/robustness.rs`, class 1c.

use burn::tensor::{Int, Tensor, TensorData};
use multireward::device::default_device;
use multireward::policy::hf::peft::{load_adapter, save_adapter};
use multireward::policy::lora::{self, LoraConfig};
use multireward::policy::{AutoPolicy, CausalLm, Policy};
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn base(name: &str) -> AutoPolicy {
    AutoPolicy::load(
        &root().join("tests/fixtures/hf").join(name),
        &default_device(),
    )
    .unwrap()
}

fn reference(adapter: &str) -> Value {
    let path = root()
        .join("tests/fixtures/peft")
        .join(adapter)
        .join("reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn logits(p: &AutoPolicy, prompt: &[u32]) -> Vec<f32> {
    let device = p.device();
    let t = prompt.len();
    let ids = TensorData::new(prompt.iter().map(|&i| i as i64).collect(), [1, t]);
    let pos = TensorData::new((0..t as i64).collect(), [1, t]);
    let h = p.hidden(
        Tensor::<2, Int>::from_data(ids, &device),
        Tensor::<2, Int>::from_data(pos, &device),
        &None,
        None,
    );
    p.logits(h).into_data().iter::<f32>().collect()
}

fn check(p: &AutoPolicy, reference: &Value, field: &str, what: &str) {
    for (i, prompt) in reference["prompts"].as_array().unwrap().iter().enumerate() {
        let prompt: Vec<u32> = prompt
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect();
        let want: Vec<f32> = reference[field][i]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
            })
            .collect();
        let got = logits(p, &prompt);
        let diff = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff <= 1e-4, "{what} prompt {i}: {field} differ by {diff}");
    }
}

const FIXTURES: [(&str, &str); 4] = [
    ("llama-gqa-r4", "llama-gqa"),
    ("llama-gqa-rslora", "llama-gqa"),
    ("qwen2-r4", "qwen2"),
    ("gpt2-r4", "gpt2"),
];

#[test]
fn peft_adapters_give_peft_logits_unfolded_and_folded() {
    for (adapter, on) in FIXTURES {
        let dir = root().join("tests/fixtures/peft").join(adapter);
        let base_dir = root().join("tests/fixtures/hf").join(on);
        let (policy, cfg) = load_adapter(base(on), &dir, Some(&base_dir)).unwrap();
        let reference = reference(adapter);
        assert_eq!(cfg.rank as u64, reference["r"].as_u64().unwrap());
        check(&policy, &reference, "logits", adapter);
        check(&lora::fold(policy), &reference, "merged_logits", adapter);
    }
}

#[test]
fn saved_adapters_load_back_equal() {
    let out = std::env::temp_dir().join(format!("mr-peft-{}", std::process::id()));
    for (adapter, on) in FIXTURES {
        let dir = root().join("tests/fixtures/peft").join(adapter);
        let (policy, cfg) = load_adapter(base(on), &dir, None).unwrap();
        let target = out.join(adapter);
        save_adapter(&policy, &target, &cfg, &format!("tests/fixtures/hf/{on}")).unwrap();
        let (back, back_cfg) = load_adapter(base(on), &target, None).unwrap();
        assert_eq!(back_cfg.rank, cfg.rank);
        assert_eq!(back_cfg.use_rslora, cfg.use_rslora);
        check(
            &back,
            &reference(adapter),
            "logits",
            &format!("saved {adapter}"),
        );
        assert_eq!(
            lora::trainable_params(&back),
            lora::trainable_params(&policy)
        );
    }
    // An adapter trained here (fresh factors on our names) saves with Hugging Face's names.
    let adapted = lora::attach(base("gpt2"), &LoraConfig::new(2, 4.0, &["qkv", "fc"]), 0).unwrap();
    save_adapter(
        &adapted,
        &out.join("ours"),
        &LoraConfig::new(2, 4.0, &["qkv", "fc"]),
        "gpt2",
    )
    .unwrap();
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("ours/adapter_config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        config["target_modules"],
        serde_json::json!(["c_attn", "c_fc"])
    );
    assert_eq!(config["fan_in_fan_out"], true);
    let _ = std::fs::remove_dir_all(&out);
}

/// Writes our saves of the fixture adapters, with our logits, into `target/peft-check/` for
/// `python3 scripts/make-peft-fixtures.py --check-adapter BASE target/peft-check/NAME
/// target/peft-check/NAME.json` (PEFT loads them and compares; run once, recorded in
/// docs/performance.md).
#[test]
#[ignore = "writes files for the PEFT check script"]
fn write_saved_adapters_for_the_peft_check() {
    let out = root().join("target/peft-check");
    for (adapter, on) in FIXTURES {
        let dir = root().join("tests/fixtures/peft").join(adapter);
        let (policy, cfg) = load_adapter(base(on), &dir, None).unwrap();
        // Change the factors (as training would), so that PEFT must read ours, not its own.
        let policy = burn::module::Module::map(policy, &mut Nudge(Vec::new()));
        let target = out.join(adapter);
        save_adapter(&policy, &target, &cfg, &format!("tests/fixtures/hf/{on}")).unwrap();
        let prompts = reference(adapter)["prompts"].clone();
        let logits: Vec<Vec<Vec<f32>>> = prompts
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let p: Vec<u32> = p
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as u32)
                    .collect();
                let flat = logits(&policy, &p);
                flat.chunks(policy.vocab_size())
                    .map(<[f32]>::to_vec)
                    .collect()
            })
            .collect();
        let json = serde_json::json!({"prompts": prompts, "logits": logits});
        std::fs::write(out.join(format!("{adapter}.json")), json.to_string()).unwrap();
    }
}

/// Every LoRA factor (not the scale) times 0.7 plus 0.01.
struct Nudge(Vec<String>);

impl burn::module::ModuleMapper for Nudge {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.0.push(name.into());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.0.pop();
    }
    fn map_float<const D: usize>(
        &mut self,
        p: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        let factor =
            self.0.iter().any(|n| n == "lora") && self.0.last().is_some_and(|n| n != "scale");
        match factor {
            true => p.map(|t| t * 0.7 + 0.01),
            false => p,
        }
    }
}
