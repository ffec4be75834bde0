//! Bad input through every public loader, sampler, scorer, merger, reward set and resume: each
//! class of docs/reliability.md gives its typed error with a message that says what is wrong,
//! never a panic, a silent NaN model or a resume that claims what did not happen.

mod common;
#[path = "robustness/fuzz.rs"]
mod fuzz;
#[path = "robustness/rerender.rs"]
mod rerender;
#[path = "robustness/run_dir.rs"]
mod run_dir;
#[path = "robustness/settings.rs"]
mod settings;
#[path = "robustness/study.rs"]
mod study;

use burn::module::{Module, ModuleMapper, Param};
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Int, Tensor, TensorData};
use common::tiny_gpt;
use multireward::checkpoint::{
    CHECKSUM_FILE, CONFIG_FILE, CheckpointError, WEIGHTS_FILE, recover_dir, write_checksums,
    write_dir_atomically,
};
use multireward::device::default_device;
use multireward::merge::{Linear, MergeError, Merger, TaskArithmetic, Ties, check_architectures};
use multireward::policy::hf::peft::load_adapter;
use multireward::policy::lora::LoraError;
use multireward::policy::{
    AutoPolicy, Gpt, GptConfig, MIN_TEMPERATURE, Policy, PolicyError, SamplingConfig, Sequences,
};
use multireward::reward::{FnReward, Normalizer, RewardError, RewardSet, Sample, Transform};
use multireward::strategy::{
    Collected, Collector, Learner, RunOptions, RunState, STATE_FILE, StepContext, StepReport,
    Strategy, StrategyError, soup_front,
};
use multireward::tasks::dna::DnaTokenizer;
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::{BOS, Tokenizer, TokenizerError};
use multireward::train::global_grad_norm;
use std::path::{Path, PathBuf};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mr-robust-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny policy saved with a SMILES tokenizer into `dir`.
fn saved_policy(dir: &Path) -> Gpt {
    let device = default_device();
    device.seed(5);
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let model = tiny_gpt(tok.vocab_size(), 16).init(&device);
    model.save(dir, &tok).unwrap();
    model
}

fn err_text<T, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

// ---- Class 1: checkpoints that load but are wrong -------------------------------------------

#[test]
fn flipped_weight_bytes_fail_the_checksum() {
    let dir = scratch("flip");
    saved_policy(&dir);
    let path = dir.join(WEIGHTS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 64..n - 32] {
        *b ^= 0xFF;
    }
    std::fs::write(&path, bytes).unwrap();
    let err = Gpt::load(&dir, &default_device()).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
    assert!(
        err.to_string().contains("does not match the checksum"),
        "{err}"
    );
}

#[test]
fn edited_config_fails_the_checksum() {
    // n_head 2 → 1 keeps every shape: only the checksum can tell.
    let dir = scratch("nhead");
    saved_policy(&dir);
    let path = dir.join(CONFIG_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"n_head\": 2", "\"n_head\": 1")).unwrap();
    let err = Gpt::load(&dir, &default_device()).unwrap_err();
    assert!(matches!(err, CheckpointError::Corrupt { .. }), "{err}");
}

#[test]
fn a_partial_checksum_record_is_refused() {
    // An empty record, and one that leaves out the weights: the unlisted file cannot be
    // checked, so it is not read.
    for (tag, keep) in [("empty", &[][..]), ("noweights", &[CONFIG_FILE][..])] {
        let dir = scratch(&format!("partial-{tag}"));
        saved_policy(&dir);
        let path = dir.join("checksums.json");
        let mut sums: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        sums.retain(|name, _| keep.contains(&name.as_str()));
        std::fs::write(&path, serde_json::Value::Object(sums).to_string()).unwrap();
        let err = Gpt::load(&dir, &default_device()).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Unlisted { .. }),
            "{tag}: {err}"
        );
        assert!(err.to_string().contains("is not listed in"), "{err}");
    }
}

/// Without a checksum file (as before checksums were recorded), every loaded weight is still
/// checked for NaN and ±∞.
#[test]
fn non_finite_weights_are_refused() {
    struct Poison;
    impl ModuleMapper for Poison {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            p.map(|t| t.mul_scalar(f32::NAN))
        }
    }
    let dir = scratch("nan");
    let model = saved_policy(&dir);
    let tok = SmilesTokenizer::load(&dir.join("tokenizer.json")).unwrap();
    model.map(&mut Poison).save(&dir, &tok).unwrap();
    std::fs::remove_file(dir.join(CHECKSUM_FILE)).unwrap();
    let err = Gpt::load(&dir, &default_device()).unwrap_err();
    assert!(matches!(err, CheckpointError::NonFinite { .. }), "{err}");
    assert!(err.to_string().contains("NaN or infinite"), "{err}");
}

/// Every shipped checkpoint kind (policy, QM9 regressor, DNA classifier, faithfulness head)
/// refuses a damaged weights file through the same checks.
#[test]
fn every_loader_refuses_damaged_weights() {
    use multireward::tasks::dna::CellClassifier;
    use multireward::tasks::molecules::regressor::Regressor;
    use multireward::tasks::text::FaithfulnessHead;
    let device = default_device();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    type Load = fn(&Path, &burn::tensor::Device) -> Result<(), CheckpointError>;
    let loaders: [(&str, Load); 4] = [
        ("smiles-gpt", |d, dev| Gpt::load(d, dev).map(|_| ())),
        ("qm9-rewards/alpha-reward", |d, dev| {
            Regressor::load(d, dev).map(|_| ())
        }),
        ("dna-rewards/classifier-reward", |d, dev| {
            CellClassifier::load(d, dev).map(|_| ())
        }),
        ("text-rewards/faithfulness", |d, dev| {
            FaithfulnessHead::load(d, dev).map(|_| ())
        }),
    ];
    for (name, load) in loaders {
        let dir = scratch(&format!("loader-{}", name.replace('/', "-")));
        for entry in std::fs::read_dir(assets.join(name)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        load(&dir, &device).unwrap_or_else(|e| panic!("{name} loads: {e}"));
        let path = dir.join(WEIGHTS_FILE);
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 5] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
        let err = load(&dir, &device).unwrap_err();
        assert!(
            matches!(err, CheckpointError::Corrupt { .. }),
            "{name}: {err}"
        );
    }
}

#[test]
fn unusable_configs_are_refused_before_allocating() {
    for (field, value, says) in [
        ("layer_norm_eps", "-1.0", "layer_norm_eps"),
        ("max_len", "1099511627776", "at most"),
        ("n_head", "3", "divisible"),
        ("vocab_size", "0", "positive"),
        ("d_model", "16000000", "parameters"),
    ] {
        let dir = scratch(&format!("cfg-{field}"));
        saved_policy(&dir);
        std::fs::remove_file(dir.join(CHECKSUM_FILE)).unwrap();
        let path = dir.join(CONFIG_FILE);
        let mut cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        cfg[field] = serde_json::from_str(value).unwrap();
        std::fs::write(&path, cfg.to_string()).unwrap();
        let err = Gpt::load(&dir, &default_device()).unwrap_err();
        assert!(
            matches!(err, CheckpointError::BadConfig(_)),
            "{field}: {err}"
        );
        assert!(err.to_string().contains(says), "{field}: {err}");
    }
}

#[test]
fn a_tokenizer_of_another_domain_says_so() {
    let dir = scratch("domain");
    let dna = dir.join("dna.json");
    DnaTokenizer::new(4).unwrap().save(&dna).unwrap();
    let smiles = dir.join("smiles.json");
    SmilesTokenizer::from_corpus(["CCO"])
        .unwrap()
        .save(&smiles)
        .unwrap();
    let e = err_text(SmilesTokenizer::load(&dna));
    assert!(
        e.contains("DNA k-mers") && e.contains("another domain"),
        "{e}"
    );
    let e = err_text(DnaTokenizer::load(&smiles));
    assert!(
        e.contains("SMILES molecules") && e.contains("another domain"),
        "{e}"
    );
    let e = err_text(multireward::tasks::text::BpeTokenizer::load(&smiles));
    assert!(e.contains("SMILES molecules"), "{e}");
    assert!(matches!(
        SmilesTokenizer::load(&dna),
        Err(TokenizerError::BadVocab(_))
    ));
}

#[test]
fn a_tokenizer_that_does_not_fit_the_policy_is_refused_by_the_comparison() {
    use multireward::experiment::{Budget, Comparison, ComparisonConfig, Task};
    let device = default_device();
    let tok = SmilesTokenizer::from_corpus(["CCO"]).unwrap();
    // More tokens than the policy models (fewer is a padded vocabulary, as Hugging Face
    // checkpoints have; they are never sampled).
    let reference = tiny_gpt(tok.vocab_size() - 1, 16).init(&device);
    let set = || {
        RewardSet::builder()
            .add(
                FnReward::new("len", |s: &Sample| Some(s.completion.len() as f64)),
                1.0,
            )
            .build()
            .unwrap()
    };
    let task = Task::new(reference, &tok, set(), set());
    let config = ComparisonConfig::new(Budget::new(2, 8), 8);
    let e = err_text(Comparison::new(task, config));
    assert!(e.contains("different checkpoints"), "{e}");
}

// ---- Class 1b: Hugging Face directories -----------------------------------------------------

/// A copy of the transformers fixture `name` in a scratch directory, for damaging.
fn hf_copy(name: &str, fixture: &str) -> PathBuf {
    let dir = scratch(name);
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(fixture);
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    dir
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, v.to_string()).unwrap();
}

fn hf_error(dir: &Path) -> String {
    err_text(AutoPolicy::load(dir, &default_device()))
}

#[test]
fn damaged_hugging_face_directories_are_typed_errors() {
    // No weights at all.
    let dir = hf_copy("hf-noweights", "llama-gqa");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let e = hf_error(&dir);
    assert!(e.contains("model.safetensors"), "{e}");
    // Truncated weights: refused from the header, before anything is allocated.
    let dir = hf_copy("hf-truncated", "llama-gqa");
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let e = hf_error(&dir);
    assert!(e.contains("truncated"), "{e}");
    // Not a safetensors file.
    std::fs::write(&path, b"not safetensors").unwrap();
    let e = hf_error(&dir);
    assert!(e.contains("safetensors"), "{e}");
    // A shard index naming a missing shard.
    let dir = hf_copy("hf-shard", "llama-gqa-sharded");
    std::fs::remove_file(dir.join("model-00002-of-00003.safetensors")).unwrap();
    let e = hf_error(&dir);
    assert!(e.contains("model-00002-of-00003.safetensors"), "{e}");
    // Non-finite weights.
    let dir = hf_copy("hf-nan", "gpt2");
    let path = dir.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    bytes[8 + n..8 + n + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    assert!(matches!(
        AutoPolicy::load(&dir, &default_device()),
        Err(CheckpointError::NonFinite { .. })
    ));
}

#[test]
fn hugging_face_configs_that_do_not_fit_are_refused_naming_the_field() {
    let config = |dir: &Path| dir.join("config.json");
    // A config that does not fit the weights: refused before allocating.
    let dir = hf_copy("hf-shape", "llama-gqa");
    edit_json(&config(&dir), |c| c["intermediate_size"] = 96.into());
    let e = hf_error(&dir);
    assert!(e.contains("does not belong to these weights"), "{e}");
    // A config of another family over these weights.
    let dir = hf_copy("hf-family", "qwen2");
    edit_json(&config(&dir), |c| c["model_type"] = "llama".into());
    let e = hf_error(&dir);
    assert!(
        e.contains("does not belong") || e.contains("does not have"),
        "{e}"
    );
    // An unknown model type.
    let dir = hf_copy("hf-mistral", "llama-gqa");
    edit_json(&config(&dir), |c| c["model_type"] = "mistral".into());
    let e = hf_error(&dir);
    assert!(
        e.contains("\"mistral\"") && e.contains("gpt2, llama, qwen2"),
        "{e}"
    );
    // Settings this library does not implement are refused, never ignored.
    for (field, value) in [
        (
            "rope_scaling",
            serde_json::json!({"rope_type": "linear", "factor": 2.0}),
        ),
        ("hidden_act", serde_json::json!("gelu")),
        ("use_sliding_window", serde_json::json!(true)),
    ] {
        let dir = hf_copy("hf-unsupported", "llama-gqa");
        edit_json(&config(&dir), |c| c[field] = value.clone());
        let e = hf_error(&dir);
        assert!(
            e.contains(field) && e.contains("does not support"),
            "{field}: {e}"
        );
    }
    let dir = hf_copy("hf-rope", "llama-gqa");
    edit_json(&config(&dir), |c| {
        c["rope_parameters"]["rope_type"] = "yarn".into()
    });
    let e = hf_error(&dir);
    assert!(e.contains("rope_parameters") && e.contains("yarn"), "{e}");
    let dir = hf_copy("hf-gpt2-act", "gpt2");
    edit_json(&config(&dir), |c| c["activation_function"] = "relu".into());
    let e = hf_error(&dir);
    assert!(e.contains("activation_function"), "{e}");
    // A missing or malformed size.
    let dir = hf_copy("hf-missing", "llama-gqa");
    edit_json(&config(&dir), |c| {
        c["hidden_size"] = serde_json::Value::Null
    });
    let e = hf_error(&dir);
    assert!(e.contains("hidden_size") && e.contains("missing"), "{e}");
    edit_json(&config(&dir), |c| c["hidden_size"] = "big".into());
    let e = hf_error(&dir);
    assert!(
        e.contains("hidden_size") && e.contains("positive integer"),
        "{e}"
    );
    // Special token ids outside the vocabulary.
    let dir = hf_copy("hf-eos", "llama-gqa");
    edit_json(&dir.join("generation_config.json"), |c| {
        c["eos_token_id"] = 4000.into()
    });
    let e = hf_error(&dir);
    assert!(e.contains("4000") && e.contains("vocabulary"), "{e}");
}

// ---- Class 1c: LoRA settings and PEFT adapters ---------------------------------------------

/// A copy of the PEFT fixture `name` in a scratch directory, for damaging.
fn peft_copy(name: &str, tag: &str) -> PathBuf {
    let dir = scratch(&format!("peft-{tag}"));
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/peft")
                .join(name)
                .join(f),
            dir.join(f),
        )
        .unwrap();
    }
    dir
}

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

fn peft_base(name: &str) -> AutoPolicy {
    AutoPolicy::load(&fixture_dir(name), &default_device()).unwrap()
}

fn peft_error(dir: &Path, on: &str) -> String {
    match load_adapter(peft_base(on), dir, Some(&fixture_dir(on))) {
        Ok(_) => panic!("expected an error for {}", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_adapters_are_typed_errors_before_training() {
    for (field, value, says) in [
        ("r", serde_json::json!(0), "r"),
        ("lora_alpha", serde_json::json!(0.0), "lora_alpha"),
        ("lora_alpha", serde_json::json!(-3), "lora_alpha"),
        ("use_dora", serde_json::json!(true), "use_dora"),
        (
            "modules_to_save",
            serde_json::json!(["lm_head"]),
            "modules_to_save",
        ),
        ("fan_in_fan_out", serde_json::json!(true), "fan_in_fan_out"),
        (
            "base_model_name_or_path",
            serde_json::json!("other-model"),
            "base_model_name_or_path",
        ),
        ("r", serde_json::json!(8), "rank"),
    ] {
        let dir = peft_copy("llama-gqa-r4", "field");
        edit_json(&dir.join("adapter_config.json"), |c| {
            c[field] = value.clone()
        });
        let e = peft_error(&dir, "llama-gqa");
        assert!(e.contains(says), "{field}={value}: {e}");
    }
    // Another base: the k/v projections of the MQA Llama are narrower.
    let dir = peft_copy("llama-gqa-r4", "shape");
    edit_json(&dir.join("adapter_config.json"), |c| {
        c["base_model_name_or_path"] = "llama-mqa".into()
    });
    let e = peft_error(&dir, "llama-mqa");
    assert!(e.contains("another base"), "{e}");
    // A GPT-2 adapter on a Llama: Conv1D against Linear.
    let dir = peft_copy("gpt2-r4", "family");
    edit_json(&dir.join("adapter_config.json"), |c| {
        c["base_model_name_or_path"] = "llama-gqa".into()
    });
    let e = peft_error(&dir, "llama-gqa");
    assert!(e.contains("fan_in_fan_out"), "{e}");
    // Modules the base does not have.
    let dir = peft_copy("qwen2-r4", "modules");
    edit_json(&dir.join("adapter_config.json"), |c| {
        c["base_model_name_or_path"] = "llama-mqa".into()
    });
    // Renamed in the header (same length: the offsets stay valid).
    let path = dir.join("adapter_model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let patched: Vec<u8> = {
        let mut b = bytes.clone();
        let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        let header = String::from_utf8(b[8..8 + n].to_vec())
            .unwrap()
            .replace("up_proj", "xx_proj");
        b[8..8 + n].copy_from_slice(header.as_bytes());
        b
    };
    std::fs::write(&path, patched).unwrap();
    let e = peft_error(&dir, "llama-mqa");
    assert!(e.contains("xx_proj") && e.contains("does not have"), "{e}");
    // Not an adapter at all.
    let dir = peft_copy("qwen2-r4", "garbage");
    std::fs::write(dir.join("adapter_model.safetensors"), b"garbage").unwrap();
    assert!(matches!(
        load_adapter(peft_base("qwen2"), &dir, None),
        Err(LoraError::Peft { .. })
    ));
}

#[test]
fn lora_settings_are_refused_by_the_comparison_before_training() {
    use multireward::experiment::{Budget, Comparison, ComparisonConfig, Task};
    use multireward::policy::lora::LoraConfig;
    let device = default_device();
    let tok = SmilesTokenizer::from_corpus(["CCO"]).unwrap();
    let set = || {
        RewardSet::builder()
            .add(
                FnReward::new("len", |s: &Sample| Some(s.completion.len() as f64)),
                1.0,
            )
            .build()
            .unwrap()
    };
    for (lora, says) in [
        (LoraConfig::new(0, 8.0, &["all-linear"]), "r is 0"),
        (LoraConfig::new(4, f64::NAN, &["all-linear"]), "lora_alpha"),
        (
            LoraConfig::new(4, 8.0, &["all-linear"]).with_dropout(-0.1),
            "lora_dropout",
        ),
        // A target the model does not have: the error lists the ones it has.
        (LoraConfig::new(4, 8.0, &["q_proj"]), "qkv"),
    ] {
        let reference = tiny_gpt(tok.vocab_size(), 128).init(&device);
        let task = Task::new(reference, &tok, set(), set());
        let budget = Budget::new(2, 8).with_merge_every(2);
        let config = ComparisonConfig::new(budget, 8).with_lora(Some(lora));
        let e = err_text(Comparison::new(task, config));
        assert!(e.contains("lora") && e.contains(says), "{says}: {e}");
    }
}

// ---- Class 2: library calls that panicked --------------------------------------------------

#[test]
fn scoring_past_the_context_is_an_error() {
    let device = default_device();
    let model = tiny_gpt(9, 8).init(&device);
    let seqs = Sequences::from_parts(&[vec![BOS]], &[vec![4; 12]], 9, &device).unwrap();
    let err = model.score(&seqs, 1.0).unwrap_err();
    assert!(
        matches!(err, PolicyError::TooLong { max_len: 8, .. }),
        "{err}"
    );
}

/// Sequences made for another vocabulary or by hand are checked by `score` before the forward
/// pass (which would panic inside the backend): ids, positions and the parts' shapes.
#[test]
fn scoring_checks_ids_positions_and_shapes() {
    let device = default_device();
    let model = tiny_gpt(9, 8).init(&device);
    // Built for a vocabulary of 1000: id 999 is outside the policy's 9.
    let other = Sequences::from_parts(&[vec![BOS]], &[vec![999, 4]], 1000, &device).unwrap();
    let e = err_text(model.score(&other, 1.0));
    assert!(
        e.contains("token id 999") && e.contains("vocabulary of 9"),
        "{e}"
    );
    let good = Sequences::from_parts(&[vec![BOS]], &[vec![4, 5]], 9, &device).unwrap();
    assert!(model.score(&good, 1.0).is_ok());
    let ints = |v: Vec<i64>| {
        let n = v.len();
        Tensor::<2, Int>::from_data(TensorData::new(v, [1, n]), &device)
    };
    let cases = [
        (
            Sequences {
                tokens: ints(vec![BOS as i64, -5, 4]),
                ..good.clone()
            },
            "token id -5",
        ),
        (
            Sequences {
                positions: ints(vec![0, 1, 8]),
                ..good.clone()
            },
            "position 8",
        ),
        (
            Sequences {
                positions: ints(vec![0, -1, 2]),
                ..good.clone()
            },
            "position -1",
        ),
        (
            Sequences {
                positions: ints(vec![0, 1]),
                ..good.clone()
            },
            "positions",
        ),
        (
            Sequences {
                key_pad: Some(Tensor::from_data(
                    TensorData::new(vec![false; 4], [2, 2]),
                    &device,
                )),
                ..good.clone()
            },
            "key_pad",
        ),
    ];
    for (seqs, want) in cases {
        let e = err_text(model.score(&seqs, 1.0));
        assert!(e.contains(want), "{want}: {e}");
    }
}

// ---- Class 3: one validation of sampling and scoring parameters ----------------------------

#[test]
fn sampling_and_scoring_parameters_are_checked_on_every_path() {
    let device = default_device();
    let model = tiny_gpt(9, 16).init(&device);
    let prompts = vec![vec![BOS]];
    let floor = SamplingConfig {
        suppress: (0..9).collect(),
        max_new_tokens: 4,
        ..Default::default()
    };
    let e = err_text(model.sample(&prompts, &floor));
    assert!(e.contains("leaves no token"), "{e}");
    let seqs = Sequences::from_parts(&prompts, &[vec![4, 5]], 9, &device).unwrap();
    for t in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        let e = err_text(model.score(&seqs, t));
        assert!(
            e.contains("temperature must be finite and at least"),
            "{t}: {e}"
        );
        let cfg = SamplingConfig {
            temperature: t,
            max_new_tokens: 4,
            ..Default::default()
        };
        let e = err_text(model.sample(&prompts, &cfg));
        assert!(
            e.contains("temperature must be finite and at least"),
            "{t}: {e}"
        );
    }
}

/// Below the temperature floor (`MIN_TEMPERATURE`) scaled logits overflow f32 (1e-45 made every
/// log-probability non-finite and every sample empty); at the floor log-probabilities and
/// their gradients are finite.
#[test]
fn temperatures_below_the_floor_are_refused() {
    let device = default_device();
    device.seed(3);
    let model = tiny_gpt(9, 16).init(&device);
    let prompts = vec![vec![BOS]; 4];
    let seqs = Sequences::from_parts(&prompts, &vec![vec![4, 5]; 4], 9, &device).unwrap();
    for t in [1e-45, f32::MIN_POSITIVE, 1e-20, 1e-7] {
        let e = err_text(model.score(&seqs, t));
        assert!(
            e.contains("temperature must be finite and at least"),
            "{t}: {e}"
        );
        let cfg = SamplingConfig {
            temperature: t,
            max_new_tokens: 4,
            ..Default::default()
        };
        let e = err_text(model.sample(&prompts, &cfg));
        assert!(
            e.contains("temperature must be finite and at least"),
            "{t}: {e}"
        );
    }
    let cfg = SamplingConfig {
        temperature: MIN_TEMPERATURE,
        max_new_tokens: 6,
        seed: Some(1),
        ..Default::default()
    };
    let rollout = model.sample(&prompts, &cfg).unwrap();
    let finite = |t: Tensor<2>| t.into_data().iter::<f32>().all(f32::is_finite);
    assert!(finite(rollout.log_probs.clone()));
    let scores = model.score(&rollout.sequences, cfg.temperature).unwrap();
    assert!(finite(scores.log_probs));
    // And so are the gradients of the log-probabilities.
    let trained = tiny_gpt(9, 16).init(&device.autodiff());
    let scores = trained.score(&rollout.sequences, MIN_TEMPERATURE).unwrap();
    let grads = GradientsParams::from_grads(scores.log_probs.sum().backward(), &trained);
    assert!(global_grad_norm(&trained, &grads).is_finite());
}

// ---- Class 4: merges -----------------------------------------------------------------------

#[test]
fn merges_check_architectures_scalars_and_emptiness() {
    let device = default_device();
    let a = GptConfig::new(1, 2, 16, 32, 9, 8).init(&device);
    let b = GptConfig::new(1, 4, 16, 32, 9, 8).init(&device);
    // Same shapes, other head count: refused by the policy-level check and by the strategies'
    // merges (here Rewarded Soups' λ sweep).
    let e = err_text(check_architectures(&[&a, &b]));
    assert!(
        e.contains("\"n_head\":2") && e.contains("\"n_head\":4"),
        "{e}"
    );
    let e = err_text(soup_front(
        &[a.clone(), b.clone()],
        &[vec![0.5, 0.5]],
        &Linear,
        &a,
    ));
    assert!(e.contains("architecture"), "{e}");
    for (method, e) in [
        (
            "task arithmetic",
            err_text(TaskArithmetic { scale: f64::NAN }.merge(&[&a, &a], &[0.5, 0.5], Some(&a))),
        ),
        (
            "TIES",
            err_text(
                Ties {
                    density: 0.5,
                    scale: f64::INFINITY,
                }
                .merge(&[&a, &a], &[0.5, 0.5], Some(&a)),
            ),
        ),
    ] {
        assert!(e.contains(&format!("{method} scale must be finite")), "{e}");
    }
    let none: [&Gpt; 0] = [];
    assert_eq!(
        Linear.merge(&none, &[], None).unwrap_err(),
        MergeError::Empty
    );
    assert_eq!(
        TaskArithmetic { scale: 1.0 }
            .merge(&none, &[], Some(&a))
            .unwrap_err(),
        MergeError::Empty
    );
}

/// `model` with element 0 of its `which`-th float parameter (traversal order) set to NaN.
fn poisoned(model: &Gpt, which: usize) -> Gpt {
    struct One(usize, usize);
    impl ModuleMapper for One {
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            self.1 += 1;
            if self.1 - 1 != self.0 {
                return p;
            }
            p.map(|t| {
                let mut values: Vec<f32> = t.to_data().iter::<f32>().collect();
                values[0] = f32::NAN;
                Tensor::from_data(TensorData::new(values, t.dims()), &t.device())
            })
        }
    }
    model.clone().map(&mut One(which, 0))
}

/// A NaN in any model (or the base) is refused by every method, naming the model and the
/// parameter; a task-arithmetic scale that overflows every weight is refused naming the
/// parameter.
#[test]
fn merges_refuse_non_finite_inputs_and_outputs() {
    let device = default_device();
    let config = GptConfig::new(1, 2, 16, 32, 9, 8);
    let [base, a, b] = [1, 2, 3].map(|s| {
        device.seed(s);
        config.init(&device)
    });
    let bad = poisoned(&b, 3);
    let w = [0.5, 0.5];
    let task = TaskArithmetic { scale: 1.0 };
    let ties = Ties {
        density: 0.5,
        scale: 1.0,
    };
    for (method, e) in [
        ("linear", err_text(Linear.merge(&[&a, &bad], &w, None))),
        (
            "linear owned",
            err_text(Linear.merge_owned(vec![a.clone(), bad.clone()], &w, None)),
        ),
        (
            "task arithmetic",
            err_text(task.merge(&[&a, &bad], &w, Some(&base))),
        ),
        ("TIES", err_text(ties.merge(&[&a, &bad], &w, Some(&base)))),
    ] {
        assert!(
            e.contains("model 1") && e.contains("NaN or infinite"),
            "{method}: {e}"
        );
    }
    // The first model, whose buffers the owned merge accumulates into.
    let e = err_text(Linear.merge_owned(vec![poisoned(&a, 0), b.clone()], &w, None));
    assert!(e.contains("model 0"), "{e}");
    let e = err_text(task.merge(&[&a, &b], &w, Some(&poisoned(&base, 5))));
    assert!(e.contains("base model"), "{e}");
    // Finite inputs, infinite result.
    let huge = TaskArithmetic { scale: 1e300 };
    let e = err_text(huge.merge(&[&a, &b], &w, Some(&base)));
    assert!(e.contains("overflow"), "{e}");
    // Valid merges still succeed.
    assert!(Linear.merge(&[&a, &b], &w, None).is_ok());
    assert!(ties.merge(&[&a, &b], &w, Some(&base)).is_ok());
}

// ---- Class 5: resume validates its state ---------------------------------------------------

/// Leaves the policy as it is; reports one sample per step.
struct Idle(Vec<f64>);

impl Learner<Gpt> for Idle {
    fn objectives(&self) -> usize {
        self.0.len()
    }
    fn preferences(&self) -> Vec<f64> {
        self.0.clone()
    }
    fn optimizer(&self) -> ModuleOptimizer {
        SgdConfig::new().init()
    }
    fn step(
        &mut self,
        policy: Gpt,
        _: &mut ModuleOptimizer,
        weights: &[f64],
        _: &StepContext,
    ) -> Result<(Gpt, StepReport), StrategyError> {
        let report = StepReport {
            optimised: weights.iter().sum(),
            samples: 1,
            ..Default::default()
        };
        Ok((policy, report))
    }
}

/// Samples nothing: every row gets an empty response scoring 0 on every objective.
impl Collector<Gpt> for Idle {
    fn collect(
        &mut self,
        _: &Gpt,
        rows: &[Vec<u32>],
        _: &[usize],
        _: u64,
        _: Option<usize>,
    ) -> Result<Collected, StrategyError> {
        Ok(Collected {
            responses: vec![Vec::new(); rows.len()],
            values: vec![vec![0.0; self.0.len()]; rows.len()],
        })
    }
}

/// An IterativeRS run (T = 4, m = 2, M = 2 of 3) stopped after its first merge round, its
/// checkpoint in the returned directory.
fn stopped_run(name: &str) -> (PathBuf, Gpt) {
    let dir = scratch(name).join("ckpt");
    let device = default_device().autodiff();
    device.seed(9);
    let reference = tiny_gpt(9, 8).init(&device);
    let options = RunOptions {
        checkpoint_dir: Some(dir.clone()),
        stop_after_round: Some(1),
        ..Default::default()
    };
    let out = Strategy::iterative_rs(4, 2, 2)
        .run_with(&reference, &mut Idle(vec![1.0; 3]), 0, &options)
        .unwrap();
    assert!(!out.completed);
    (dir, reference)
}

/// Rewrite the state file with `edit` and its checksum, as a consistent but wrong state.
fn edit_state(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(STATE_FILE);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut state);
    std::fs::write(&path, state.to_string()).unwrap();
    write_checksums(dir).unwrap();
}

fn resume_error(dir: &Path, reference: &Gpt, prefs: Vec<f64>) -> String {
    err_text(Strategy::resume(
        dir,
        reference,
        &mut Idle(prefs),
        &RunOptions::default(),
    ))
}

#[test]
fn resume_refuses_states_that_do_not_fit_the_run() {
    let (dir, reference) = stopped_run("resume");
    // The untouched checkpoint resumes (a copy of it, to the end).
    assert!(RunState::read(&dir).is_ok());
    let copy = dir.with_file_name("ckpt-copy");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let out = Strategy::resume(
        &copy,
        &reference,
        &mut Idle(vec![1.0; 3]),
        &Default::default(),
    )
    .unwrap();
    assert!(out.completed && out.spent.iterations == 8);
    // An edited state file without its checksum rewritten: corrupt.
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"done\":2", "\"done\":3", 1)).unwrap();
    let e = resume_error(&dir, &reference, vec![1.0; 3]);
    assert!(e.contains("does not match the checksum"), "{e}");
    std::fs::write(&path, &text).unwrap();
    // Progress past the plan.
    edit_state(&dir, |s| s["done"] = 12.into());
    let e = resume_error(&dir, &reference, vec![1.0; 3]);
    assert!(e.contains("12 steps done of the 4 planned"), "{e}");
    // An active set naming an objective that does not exist.
    edit_state(&dir, |s| {
        s["done"] = 2.into();
        s["active"] = serde_json::json!([0, 7]);
    });
    let e = resume_error(&dir, &reference, vec![1.0; 3]);
    assert!(e.contains("active set [0, 7]"), "{e}");
    edit_state(&dir, |s| s["active"] = serde_json::json!([0, 1]));
    // Another reference policy, other preferences.
    let other = tiny_gpt(9, 8).init(&default_device().autodiff());
    let e = resume_error(&dir, &other, vec![1.0; 3]);
    assert!(e.contains("reference policy differs"), "{e}");
    let e = resume_error(&dir, &reference, vec![1.0, 2.0, 1.0]);
    assert!(e.contains("preferences"), "{e}");
    // A budget that disagrees with the log.
    edit_state(&dir, |s| s["spent"]["iterations"] = 99.into());
    let e = resume_error(&dir, &reference, vec![1.0; 3]);
    assert!(e.contains("99 learner steps in the budget"), "{e}");
    edit_state(&dir, |s| s["spent"]["iterations"] = 4.into());
    // Restored, the state resumes to the end.
    let out = Strategy::resume(
        &dir,
        &reference,
        &mut Idle(vec![1.0; 3]),
        &Default::default(),
    )
    .unwrap();
    assert!(out.completed && out.spent.iterations == 8);
}

#[test]
fn saved_normaliser_statistics_are_checked() {
    let mut set = RewardSet::builder()
        .add(FnReward::new("x", |_: &Sample| Some(1.0)), 1.0)
        .normalizer(Normalizer::running())
        .build()
        .unwrap();
    let bad: Normalizer = serde_json::from_str(
        r#"{"type":"running","stats":{"count":3,"mean":0.5,"m2":-2.0},"frozen":false}"#,
    )
    .unwrap();
    let err = set.restore_normalizers(&[bad]).unwrap_err();
    assert!(matches!(err, RewardError::StateMismatch(_)), "{err}");
    assert!(err.to_string().contains("m2 ≥ 0"), "{err}");
    assert_eq!(
        set.normalizers(),
        vec![Normalizer::running()],
        "nothing was applied"
    );
}

// ---- Class 6: a user reward that panics ----------------------------------------------------

#[test]
fn a_panicking_reward_is_a_typed_error_naming_the_sample() {
    let mut set = RewardSet::builder()
        .add(
            FnReward::new("fragile", |s: &Sample| {
                assert!(s.completion != "boom", "cannot score {}", s.completion);
                Some(1.0)
            }),
            1.0,
        )
        .build()
        .unwrap();
    let samples = ["ok", "boom", "fine"].map(|c| Sample {
        prompt: "",
        completion: c,
    });
    for result in [set.score(&samples), set.score_and_update(&samples)] {
        let err = result.unwrap_err();
        match &err {
            RewardError::Panicked {
                reward,
                index,
                sample,
                message,
            } => {
                assert_eq!(reward, "fragile");
                assert_eq!(*index, Some(1));
                assert_eq!(sample.as_deref(), Some("boom"));
                assert!(message.contains("cannot score boom"), "{message}");
            }
            other => panic!("expected Panicked, got {other}"),
        }
        assert!(err.to_string().contains("panicked on sample 1"), "{err}");
    }
    // A transform before any reward is a build error, not a panic.
    let e = err_text(
        RewardSet::builder()
            .transform(multireward::reward::Transform::Identity)
            .build(),
    );
    assert!(e.contains("before any reward was added"), "{e}");
}

/// Running normalisers start afresh in every run of a comparison: a strategy's results do not
/// depend on which strategies ran before it in the same comparison.
#[test]
fn running_normalisers_do_not_carry_over_between_runs() {
    use multireward::experiment::{Budget, Comparison, ComparisonConfig, StrategyKind, Task};
    use multireward::reward::Normalizer;
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let set = || {
        RewardSet::builder()
            .add(
                FnReward::new("c", |s: &Sample| {
                    Some(s.completion.matches('C').count() as f64)
                }),
                1.0,
            )
            .normalizer(Normalizer::running())
            .add(
                FnReward::new("len", |s: &Sample| Some(s.completion.len() as f64)),
                1.0,
            )
            .normalizer(Normalizer::running())
            .build()
            .unwrap()
    };
    // One reference for both comparisons (other tests share the device's RNG).
    let device = default_device().autodiff();
    device.seed(3);
    let reference = tiny_gpt(tok.vocab_size(), 32).init(&device);
    // MORLHF's first step samples from the reference alike in both comparisons; its rewards'
    // normalised statistics show where the normalisers started (later steps may differ by
    // float noise, so they are not compared).
    let first_step = |strategies: Vec<StrategyKind>, tag: &str| -> Vec<(f64, f64, f64)> {
        let task = Task::new(reference.clone(), &tok, set(), set());
        let budget = Budget::new(2, 8).with_merge_every(1).with_max_new_tokens(8);
        let config = ComparisonConfig::new(budget, 8).with_strategies(strategies);
        let out = Comparison::new(task, config)
            .unwrap()
            .run(&scratch(&format!("fresh-norm-{tag}")))
            .unwrap();
        let run = out
            .results
            .into_iter()
            .find(|r| r.name == "MORLHF")
            .unwrap();
        run.log[0]
            .report
            .rewards
            .iter()
            .map(|r| {
                let v = |x: Option<f64>| x.expect("every sample scored");
                (v(r.raw_mean), v(r.transformed_mean), v(r.transformed_std))
            })
            .collect()
    };
    let alone = first_step(vec![StrategyKind::Morlhf], "alone");
    let after = first_step(
        vec![StrategyKind::IterativeRs, StrategyKind::Morlhf],
        "after",
    );
    for ((raw_a, mean_a, std_a), (raw_b, mean_b, std_b)) in alone.iter().zip(&after) {
        assert!(
            (raw_a - raw_b).abs() < 1e-9
                && (mean_a - mean_b).abs() < 1e-9
                && (std_a - std_b).abs() < 1e-9,
            "MORLHF's normalisers depend on the run before it: {alone:?} against {after:?}"
        );
    }
}

/// Values that stay finite alone but not after the set's arithmetic: a total past f64::MAX,
/// a transform that yields NaN, and a running normaliser whose variance overflows (which made
/// every total 0).
#[test]
fn reward_values_that_overflow_are_typed_errors() {
    let one = [Sample {
        prompt: "",
        completion: "x",
    }];
    let mut huge = RewardSet::builder()
        .add(FnReward::new("small", |_: &Sample| Some(1.0)), 1.0)
        .add(FnReward::new("huge", |_: &Sample| Some(f64::MAX)), 2.0)
        .build()
        .unwrap();
    let steep = Transform::Sigmoid {
        low: 0.0,
        high: 1.0,
        k: f64::MAX,
    };
    let mut nan = RewardSet::builder()
        .add(FnReward::new("steep", |_: &Sample| Some(0.5)), 1.0)
        .transform(steep)
        .build()
        .unwrap();
    for (set, name) in [(&mut huge, "huge"), (&mut nan, "steep")] {
        for result in [set.score(&one), set.score_and_update(&one)] {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, RewardError::NonFinite { reward, .. } if reward == name),
                "{err}"
            );
        }
    }
    let mut running = RewardSet::builder()
        .add(
            FnReward::new("wide", |s: &Sample| s.completion.parse().ok()),
            1.0,
        )
        .normalizer(Normalizer::running())
        .build()
        .unwrap();
    let wide = ["1e300", "-1e300"].map(|c| Sample {
        prompt: "",
        completion: c,
    });
    let e = err_text(running.score_and_update(&wide));
    assert!(e.contains("\"wide\"") && e.contains("overflow"), "{e}");
    assert_eq!(
        running.normalizers(),
        vec![Normalizer::running()],
        "nothing was applied"
    );
}

// ---- Class 7: atomic directory replace -----------------------------------------------------

/// A process id no live process has (above Linux's largest `pid_max`).
const DEAD: u32 = 99_999_999;

#[test]
fn a_crash_between_the_two_renames_is_recovered() {
    let root = scratch("crash");
    let dir = root.join("ckpt");
    let write = |text: &'static str| {
        write_dir_atomically(&dir, |tmp| {
            std::fs::write(tmp.join("f"), text).map_err(|source| CheckpointError::Io {
                path: tmp.to_path_buf(),
                source,
            })
        })
        .unwrap()
    };
    write("old");
    // Simulate the crash: the old copy moved aside, the new complete copy not yet renamed.
    std::fs::rename(&dir, root.join(format!(".ckpt.old-{DEAD}"))).unwrap();
    let tmp = root.join(format!(".ckpt.tmp-{DEAD}"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("f"), "new").unwrap();
    std::fs::write(tmp.join(".complete"), "").unwrap();
    assert!(recover_dir(&dir).unwrap());
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "new");
    // The moved-aside copy of the dead process is gone.
    assert!(!root.join(format!(".ckpt.old-{DEAD}")).exists());

    // A crash while filling (no marker) with the old copy moved aside: the old one returns.
    std::fs::rename(&dir, root.join(format!(".ckpt.old-{DEAD}"))).unwrap();
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("f"), "half").unwrap();
    // Readers recover too: RunState::read finds no state file, but the directory is back.
    let e = err_text(RunState::read(&dir));
    assert!(e.contains(STATE_FILE), "{e}");
    assert_eq!(std::fs::read_to_string(dir.join("f")).unwrap(), "new");
    // The unfinished temporary copy of the dead process was cleaned.
    assert!(!tmp.exists());
}

#[test]
fn stale_leftovers_are_cleaned_by_the_next_write() {
    let root = scratch("stale");
    let dir = root.join("ckpt");
    let stale = root.join(format!(".ckpt.tmp-{DEAD}"));
    std::fs::create_dir_all(&stale).unwrap();
    write_dir_atomically(&dir, |_| Ok(())).unwrap();
    assert!(dir.exists() && !stale.exists());
}

#[test]
fn valid_paths_are_accepted_and_user_files_left_alone() {
    // A checkpoint named by a path without a last name (`.`, `dir/..`-style).
    let root = scratch("dotpath");
    let dir = root.join("policy");
    std::fs::create_dir_all(&dir).unwrap();
    saved_policy(&dir);
    let dotted = dir.join("sub").join("..");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    assert!(Gpt::load(&dotted, &default_device()).is_ok());
    // A user's file whose name looks like a leftover of a dead writer, beside a good
    // checkpoint: the checkpoint loads and is rewritten, the file stays as it was.
    let stray = root.join(format!(".policy.old-{DEAD}"));
    std::fs::write(&stray, "my notes").unwrap();
    assert!(Gpt::load(&dir, &default_device()).is_ok());
    write_dir_atomically(&dir, |_| Ok(())).unwrap();
    assert_eq!(std::fs::read_to_string(&stray).unwrap(), "my notes");
}

// ---- Fuzzing: no input file makes a loader panic -------------------------------------------

/// 100,000 damaged checkpoints, without their checksum file so the parsers and validation see
/// them: 50,000 weights files (bytes flipped, cut short, spliced) and 50,000 configuration
/// files (one field set to a random JSON value). Every load must return, `Ok` or a typed
/// error, never panic. Run with `cargo test --release --test robustness -- --ignored`.
/// Random `Sequences` — ids, positions and pad masks of any value, parts of any shape, prompt
/// lengths past the end — through `score`: a typed error or finite scores, never a panic.
#[test]
#[ignore = "100,000 scorings: about a second in release"]
fn fuzzed_sequences_never_panic() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let device = default_device();
    let model = tiny_gpt(9, 8).init(&device);
    let mut rng = StdRng::seed_from_u64(30);
    let (mut ok, mut refused) = (0usize, 0usize);
    for case in 0..100_000 {
        let (b, l) = (rng.random_range(1..4), rng.random_range(1..11));
        let mut ints = |rows: usize, cols: usize, range: std::ops::Range<i64>| {
            let v: Vec<i64> = (0..rows * cols)
                .map(|_| rng.random_range(range.clone()))
                .collect();
            Tensor::<2, Int>::from_data(TensorData::new(v, [rows, cols]), &device)
        };
        let tokens = ints(b, l, if case % 4 == 0 { -3..13 } else { 0..9 });
        let positions = match case % 5 {
            0 => ints(b, l + 1, 0..8),
            1 => ints(b, l, -2..12),
            _ => ints(b, l, 0..8),
        };
        let pad_cols = if case % 7 == 0 { l + 1 } else { l };
        let key_pad = (case % 3 == 0).then(|| {
            let v: Vec<bool> = (0..b * pad_cols).map(|_| rng.random()).collect();
            Tensor::from_data(TensorData::new(v, [b, pad_cols]), &device)
        });
        let seqs = Sequences {
            tokens,
            positions,
            key_pad,
            prompt_len: rng.random_range(0..l + 2),
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            model.score(&seqs, 1.0).map(|s| {
                s.log_probs
                    .into_data()
                    .iter::<f32>()
                    .all(|x| x.is_finite() || x == f32::NEG_INFINITY)
            })
        }));
        match result {
            Ok(Ok(finite)) => {
                assert!(finite, "case {case}: NaN or +inf log-probabilities");
                ok += 1
            }
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("scoring panicked on case {case}"),
        }
    }
    eprintln!(
        "100000 fuzzed sequences: {ok} scored, {refused} refused with a typed error, 0 panics"
    );
}

#[test]
#[ignore = "100,000 loads: about a minute in release"]
fn fuzzed_checkpoints_never_panic() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let dir = scratch("fuzz");
    saved_policy(&dir);
    std::fs::remove_file(dir.join(CHECKSUM_FILE)).unwrap();
    let weights = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(CONFIG_FILE)).unwrap()).unwrap();
    let fields: Vec<String> = config.as_object().unwrap().keys().cloned().collect();
    let mut rng = StdRng::seed_from_u64(20);
    let device = default_device();
    let (mut ok, mut refused) = (0usize, 0usize);
    let mut load = |case: &str| {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Gpt::load(&dir, &device).map(|_| ())
        }));
        match result {
            Ok(Ok(())) => ok += 1,
            Ok(Err(_)) => refused += 1,
            Err(_) => panic!("loading panicked on {case}"),
        }
    };
    for case in 0..50_000 {
        let mut bytes = weights.clone();
        match case % 3 {
            0 => {
                for _ in 0..rng.random_range(1..8) {
                    let i = rng.random_range(0..bytes.len());
                    bytes[i] ^= 1 << rng.random_range(0..8);
                }
            }
            1 => bytes.truncate(rng.random_range(0..bytes.len())),
            _ => {
                let i = rng.random_range(0..bytes.len());
                let junk: Vec<u8> = (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                bytes.splice(i..i, junk);
            }
        }
        std::fs::write(dir.join(WEIGHTS_FILE), &bytes).unwrap();
        load(&format!("weights case {case}"));
    }
    std::fs::write(dir.join(WEIGHTS_FILE), &weights).unwrap();
    for case in 0..50_000 {
        let mut cfg = config.clone();
        let field = &fields[rng.random_range(0..fields.len())];
        cfg[field] = match rng.random_range(0..9) {
            0 => serde_json::json!(rng.random::<u64>()),
            1 => serde_json::json!(rng.random_range(0..4096u64)),
            2 => serde_json::json!(-rng.random_range(0..1_000_000i64)),
            3 => serde_json::json!(rng.random::<f64>() * 10f64.powi(rng.random_range(-30..30))),
            4 => serde_json::json!(-rng.random::<f64>()),
            5 => serde_json::json!("sixteen"),
            6 => serde_json::Value::Null,
            7 => serde_json::json!(rng.random::<bool>()),
            _ => serde_json::json!([1, 2]),
        };
        std::fs::write(dir.join(CONFIG_FILE), cfg.to_string()).unwrap();
        load(&format!("config case {case}: {field} = {}", cfg[field]));
    }
    eprintln!(
        "100000 fuzzed checkpoints: {ok} loaded, {refused} refused with a typed error, 0 panics"
    );
    assert_eq!(ok + refused, 100_000);
}
