//! Causal-LM pretraining on a real data slice (QM9 SMILES) lowers training and validation loss.

use multireward::data::{data_path, split};
use multireward::device::default_device;
use multireward::policy::{GptConfig, PolicyError};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::load_qm9;
use multireward::tokenizer::Tokenizer;
use multireward::train::{LmTrainer, LmTrainingConfig};

#[test]
fn pretraining_loss_falls_on_qm9() {
    let smiles: Vec<String> = load_qm9(&data_path("qm9_slim.csv.gz"))
        .unwrap()
        .into_iter()
        .map(|r| r.smiles)
        .collect();
    let parts = split(&smiles, &[0.01, 0.002], 0);
    let tok = SmilesTokenizer::from_corpus(smiles.iter().map(String::as_str)).unwrap();
    let encode = |rows: &[String]| -> Vec<Vec<u32>> {
        rows.iter()
            .map(|s| tok.encode_with_specials(s).unwrap())
            .collect()
    };
    let (train, valid) = (encode(&parts[0]), encode(&parts[1][..200]));
    let device = default_device().autodiff();
    device.seed(0);
    let model = GptConfig::new(2, 2, 64, 128, tok.vocab_size(), 64).init(&device);
    let initial = LmTrainer::evaluate(&model, &valid, 64, tok.vocab_size()).unwrap();
    // A row longer than the context is a typed error, not an out-of-bounds panic.
    let long = vec![vec![1u32; 65]];
    let too_long = LmTrainer::new(LmTrainingConfig {
        steps: 1,
        progress: false,
        ..Default::default()
    })
    .fit(model.clone(), &long, &[], tok.vocab_size());
    assert!(matches!(
        too_long,
        Err(PolicyError::TooLong {
            response: 65,
            max_len: 64,
            ..
        })
    ));
    let trainer = LmTrainer::new(LmTrainingConfig {
        steps: 80,
        batch_size: 32,
        lr: 3e-3,
        warmup: 8,
        eval_every: 40,
        progress: false,
        ..Default::default()
    });
    let (_, report) = trainer
        .fit(model, &train, &valid, tok.vocab_size())
        .unwrap();
    let (first, last) = (report.train_loss[0].1, report.train_loss[1].1);
    let final_valid = report.valid.last().unwrap().1;
    // Uniform guessing over the vocabulary costs ln(V) ≈ 3.2 nats; a model that has learned
    // SMILES syntax is far below it.
    assert!(
        (initial - (tok.vocab_size() as f64).ln()).abs() < 0.3,
        "initial {initial}"
    );
    assert!(last < first, "train loss {first} → {last}");
    assert!(
        final_valid < 0.6 * initial,
        "validation loss {initial} → {final_valid}"
    );
    assert!(report.tokens_per_s > 0.0);
}
