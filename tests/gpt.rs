//! The GPT policy: KV-cache decoding equals full recomputation, padding is invisible, scoring
//! matches sampling, and checkpoints round-trip.

use burn::module::Module;
use burn::tensor::{Int, Tensor};
use multireward::device::default_device;
use multireward::policy::{CausalLm, Gpt, GptConfig, Policy, SamplingConfig, Sequences};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tokenizer::{BOS, EOS};

fn tiny(vocab: usize, value_head: bool) -> GptConfig {
    GptConfig::new(2, 4, 32, 64, vocab, 64).with_value_head(value_head)
}

fn host(t: Tensor<2, Int>) -> Vec<i64> {
    t.into_data().iter::<i64>().collect()
}

fn max_abs_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    (a - b).abs().max().into_scalar()
}

#[test]
fn kv_cache_matches_full_recomputation() {
    let dev = default_device();
    dev.seed(1);
    let model = tiny(12, false).init(&dev);
    let prompts = vec![vec![BOS], vec![BOS, 5, 6], vec![BOS, 7]];
    let cfg = SamplingConfig {
        max_new_tokens: 20,
        temperature: 1.0,
        seed: Some(7),
        ..Default::default()
    };
    let cached = model.sample(&prompts, &cfg).unwrap();
    let full = model
        .sample(
            &prompts,
            &SamplingConfig {
                use_kv_cache: false,
                ..cfg.clone()
            },
        )
        .unwrap();
    // Same seed, same tokens.
    assert_eq!(
        host(cached.sequences.tokens.clone()),
        host(full.sequences.tokens.clone())
    );
    // Cached sampling log-probs equal a full forward over the finished sequences.
    let diff = max_abs_diff(cached.log_probs.clone(), full.log_probs.clone());
    assert!(diff <= 1e-4, "sampling log-probs differ by {diff}");
    let rescored = model
        .score(&cached.sequences, cfg.temperature)
        .unwrap()
        .log_probs;
    let diff = max_abs_diff(cached.log_probs.clone(), rescored);
    assert!(
        diff <= 1e-4,
        "cached vs full-forward log-probs differ by {diff}"
    );
}

#[test]
fn kv_cache_logits_match_full_forward_at_every_step() {
    // Greedy decoding: the cached path's per-step log-probs of the chosen tokens must equal
    // those of a full forward, and at temperature 1 the full distributions must agree too.
    let dev = default_device();
    dev.seed(3);
    let model = GptConfig::new(3, 4, 64, 128, 20, 64).init(&dev);
    let prompts = vec![vec![BOS, 4, 5, 6]; 2];
    let cfg = SamplingConfig {
        max_new_tokens: 30,
        temperature: 1.0,
        greedy: true,
        ..Default::default()
    };
    let rollout = model.sample(&prompts, &cfg).unwrap();
    let (logits, _) = model.forward(&rollout.sequences);
    let [b, l, v] = logits.dims();
    let p = rollout.sequences.prompt_len;
    // Greedy token at each step is the arg-max of the full-forward logits.
    let argmax = logits
        .clone()
        .narrow(1, p - 1, l - p)
        .argmax(2)
        .reshape([b, l - p]);
    assert_eq!(host(argmax), host(rollout.sequences.response()));
    let full_lp = burn::tensor::activation::log_softmax(logits.narrow(1, p - 1, l - p), 2);
    let chosen = full_lp
        .gather(2, rollout.sequences.response().reshape([b, l - p, 1]))
        .reshape([b, l - p]);
    let diff = max_abs_diff(chosen, rollout.log_probs);
    assert!(diff <= 1e-4, "max abs diff {diff} (vocab {v})");
}

#[test]
fn left_padding_does_not_change_a_row() {
    let dev = default_device();
    dev.seed(5);
    let model = tiny(12, true).init(&dev);
    let cfg = SamplingConfig {
        max_new_tokens: 8,
        greedy: true,
        ..Default::default()
    };
    let alone = model.sample(&[vec![BOS, 4]], &cfg).unwrap();
    let padded = model
        .sample(&[vec![BOS, 4], vec![BOS, 5, 6, 7, 8]], &cfg)
        .unwrap();
    let a = host(alone.sequences.response());
    let b = host(padded.sequences.response());
    assert_eq!(a[..], b[..8]);
    let diff = max_abs_diff(alone.log_probs, padded.log_probs.narrow(0, 0, 1));
    assert!(diff <= 1e-4, "{diff}");
    // Values exist and are finite for every response token.
    let scores = model.score(&padded.sequences, 1.0).unwrap();
    let values = scores.values.expect("value head");
    assert_eq!(values.dims(), [2, 8]);
    assert!(values.is_finite().all().into_scalar::<bool>());
}

#[test]
fn seeded_sampling_is_reproducible_and_masks_after_eos() {
    let dev = default_device();
    dev.seed(9);
    let model = tiny(8, false).init(&dev);
    let cfg = SamplingConfig {
        max_new_tokens: 40,
        temperature: 1.5,
        seed: Some(11),
        ..Default::default()
    };
    let a = model.sample(&vec![vec![BOS]; 16], &cfg).unwrap();
    let b = model.sample(&vec![vec![BOS]; 16], &cfg).unwrap();
    assert_eq!(
        host(a.sequences.tokens.clone()),
        host(b.sequences.tokens.clone())
    );
    let tokens = host(a.sequences.response());
    let mask: Vec<bool> = a.response_mask.clone().into_data().iter::<bool>().collect();
    let mut saw_eos = false;
    for row in 0..16 {
        let mut ended = false;
        for j in 0..40 {
            let i = row * 40 + j;
            assert_eq!(mask[i], !ended, "row {row} col {j}");
            if tokens[i] == EOS as i64 {
                ended = true;
                saw_eos = true;
            }
        }
    }
    assert!(saw_eos, "a random 8-token model emits EOS within 40 tokens");
}

#[test]
fn too_long_and_bad_tokens_are_typed_errors() {
    let dev = default_device();
    let model = tiny(8, false).init(&dev);
    let cfg = SamplingConfig {
        max_new_tokens: 64,
        ..Default::default()
    };
    assert!(matches!(
        model.sample(&[vec![BOS]], &cfg),
        Err(multireward::policy::PolicyError::TooLong { .. })
    ));
    let cfg = SamplingConfig {
        max_new_tokens: 4,
        ..Default::default()
    };
    assert!(matches!(
        model.sample(&[vec![BOS, 99]], &cfg),
        Err(multireward::policy::PolicyError::BadToken { id: 99, .. })
    ));
    assert!(matches!(
        model.sample(&[vec![]], &cfg),
        Err(multireward::policy::PolicyError::EmptyPrompt)
    ));
}

#[test]
fn checkpoint_round_trip_and_errors() {
    let dev = default_device();
    dev.seed(13);
    let tok = SmilesTokenizer::from_corpus(["CCO", "c1ccccc1N"]).unwrap();
    let model = GptConfig::new(1, 2, 16, 32, 12, 32)
        .with_tie_weights(false)
        .with_value_head(true)
        .init(&dev);
    let dir = std::env::temp_dir().join(format!("mr-ckpt-{}", std::process::id()));
    model.save(&dir, &tok).unwrap();
    // Saving again over an existing directory replaces it atomically.
    model.save(&dir, &tok).unwrap();
    let back = Gpt::load(&dir, &dev).unwrap();
    assert_eq!(back.config(), model.config());
    let seqs = Sequences::from_parts(&[vec![BOS, 4]], &[vec![5, 6, EOS]], 12, &dev).unwrap();
    let diff = max_abs_diff(
        model.score(&seqs, 1.0).unwrap().log_probs,
        back.score(&seqs, 1.0).unwrap().log_probs,
    );
    assert_eq!(diff, 0.0);
    let tok_back = SmilesTokenizer::load(&multireward::checkpoint::tokenizer_path(&dir)).unwrap();
    assert_eq!(tok_back.tokens(), tok.tokens());
    // A config with another shape does not load the weights: typed error, no panic. The
    // checksum recorded at save time catches the edit first; without it, the shapes do.
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_string(&GptConfig::new(1, 2, 8, 32, 12, 32)).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        Gpt::load(&dir, &dev),
        Err(multireward::checkpoint::CheckpointError::Corrupt { .. })
    ));
    std::fs::remove_file(dir.join(multireward::checkpoint::CHECKSUM_FILE)).unwrap();
    assert!(matches!(
        Gpt::load(&dir, &dev),
        Err(multireward::checkpoint::CheckpointError::Weights { .. })
    ));
    std::fs::write(dir.join("config.json"), "{").unwrap();
    assert!(matches!(
        Gpt::load(&dir, &dev),
        Err(multireward::checkpoint::CheckpointError::Json { .. })
    ));
    assert!(Gpt::load(&dir.join("missing"), &dev).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn paper_shapes_are_expressible() {
    // 17.36 M (QM9) and 4.84 M (MPRA) parameters with tied heads, as computed from the
    // reference configs (docs/algorithms.md, "The reference code's settings").
    let dev = default_device();
    let qm9 = multireward::tasks::molecules::paper_policy().init(&dev);
    assert_eq!(
        qm9.num_params(),
        multireward::tasks::molecules::paper_policy().num_params()
    );
    let n = qm9.num_params() as f64 / 1e6;
    assert!((n - 17.36).abs() < 0.05, "{n} M parameters");
    let mpra = multireward::tasks::dna::paper_policy().init(&dev);
    assert_eq!(
        mpra.num_params(),
        multireward::tasks::dna::paper_policy().num_params()
    );
    let n = mpra.num_params() as f64 / 1e6;
    assert!((n - 4.84).abs() < 0.05, "{n} M parameters");
}

#[test]
fn autodiff_scoring_with_padding_matches_inference() {
    let dev = default_device();
    dev.seed(17);
    let model = tiny(12, true).init(&dev.clone().autodiff());
    let seqs = Sequences::from_parts(
        &[vec![BOS, 4], vec![BOS, 5, 6, 7]],
        &[vec![8, 9, EOS], vec![10, EOS, 0]],
        12,
        &dev,
    )
    .unwrap();
    let train = model.score(&seqs, 0.7).unwrap();
    let infer = model.valid().score(&seqs, 0.7).unwrap();
    let diff = max_abs_diff(train.log_probs.clone().without_autodiff(), infer.log_probs);
    assert!(diff <= 1e-5, "{diff}");
    // Gradients flow through the padded batch.
    let loss = train.log_probs.sum() + train.values.unwrap().sum();
    let grads = burn::optim::GradientsParams::from_grads(loss.backward(), &model);
    let norm = multireward::train::global_grad_norm(&model, &grads);
    assert!(norm.is_finite() && norm > 0.0, "{norm}");
}

#[test]
fn embeddings_read_the_last_real_token() {
    let dev = default_device();
    dev.seed(31);
    let model = tiny(12, false).init(&dev);
    let rows = vec![vec![BOS, 4, 5, EOS], vec![BOS, 6, EOS]];
    let both = model.embed(&rows).unwrap();
    assert_eq!(both.dims(), [2, 32]);
    let alone = model.embed(&rows[1..]).unwrap();
    let diff = max_abs_diff(both.narrow(0, 1, 1), alone);
    assert!(diff <= 1e-5, "right padding changed an embedding by {diff}");
    assert!(model.embed(&[vec![]]).is_err());
}
