//! The shipped DNA rewards (`assets/dna-rewards`, `assets/dna/jaspar2024.tsv`): the cell-type
//! classifiers separate the held-out (chr1) DHS sites, the training reward and its oracle are
//! different models, the motif rewards are standardised on real sequences, the shipped policy
//! samples exactly 200 bp, and malformed sequences are not scored (never a panic).

use multireward::checkpoint::tokenizer_path;
use multireward::device::default_device;
use multireward::policy::{Gpt, Policy, SamplingConfig};
use multireward::reward::{Reward, Sample};
use multireward::tasks::dna::{
    CellClassifier, CellType, CellTypeReward, DnaTokenizer, MotifReward, SK_N_SH, SK_N_SH_EVAL,
    Split, UNIFORM_BACKGROUND, dhs_path, group_pwms, jaspar2024, load_dhs,
};
use multireward::tokenizer::{BOS, Tokenizer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;

#[test]
fn classifiers_separate_held_out_sites_and_differ() {
    let device = default_device();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dna-rewards");
    let test: Vec<_> = load_dhs(&dhs_path())
        .unwrap()
        .into_iter()
        .filter(|r| r.split == Split::Test)
        .step_by(3)
        .collect();
    let mut probs = Vec::new();
    for role in ["reward", "oracle"] {
        let model = CellClassifier::load(&dir.join(format!("classifier-{role}")), &device).unwrap();
        let report = model.evaluate(&test);
        // Held-out numbers on the whole test split are in assets/dna-rewards/README.md.
        assert!(
            report.n == test.len() && report.accuracy > 0.65,
            "{role}: {report:?}"
        );
        assert!(report.macro_auroc > 0.88, "{role}: {report:?}");
        let seqs: Vec<&str> = test.iter().take(200).map(|r| r.sequence.as_str()).collect();
        probs.push(model.probabilities(&seqs));
    }
    // Different models: their probabilities disagree noticeably on some sites.
    let max_diff = probs[0]
        .iter()
        .zip(&probs[1])
        .map(|(a, b)| {
            let (a, b) = (a.unwrap(), b.unwrap());
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max);
    assert!(max_diff > 0.3, "{max_diff}");

    // The log-odds reward ranks the target class's sites above the others.
    let reward = CellTypeReward::new(
        "HepG2",
        CellType::HepG2,
        CellClassifier::load(&dir.join("classifier-reward"), &device).unwrap(),
    );
    let texts: Vec<String> = test.iter().map(|r| r.sequence.clone()).collect();
    let v = reward.score(&Sample::unprompted(&texts)).unwrap();
    let mean = |hepg2: bool| {
        let xs: Vec<f64> = test
            .iter()
            .zip(&v)
            .filter(|(r, _)| (r.cell_type == CellType::HepG2) == hepg2)
            .map(|(_, x)| x.unwrap())
            .collect();
        xs.iter().sum::<f64>() / xs.len() as f64
    };
    assert!(
        mean(true) > 0.0 && mean(false) < -2.0,
        "{} {}",
        mean(true),
        mean(false)
    );
}

#[test]
fn motif_rewards_are_standardised_on_real_sites() {
    let records = load_dhs(&dhs_path()).unwrap();
    let valid: Vec<&str> = records
        .iter()
        .filter(|r| r.split == Split::Val)
        .map(|r| r.sequence.as_str())
        .collect();
    let pfms = jaspar2024().unwrap();
    for group in [SK_N_SH, SK_N_SH_EVAL] {
        let pwms = group_pwms(&pfms, group, 0.5, UNIFORM_BACKGROUND).unwrap();
        assert_eq!(pwms.len(), 5);
        let reward = MotifReward::calibrated(group, pwms, &valid).unwrap();
        let texts: Vec<String> = valid.iter().map(|s| s.to_string()).collect();
        let z: Vec<f64> = reward
            .score(&Sample::unprompted(&texts))
            .unwrap()
            .into_iter()
            .map(Option::unwrap)
            .collect();
        let mean = z.iter().sum::<f64>() / z.len() as f64;
        let var = z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (z.len() - 1) as f64;
        assert!(
            mean.abs() < 1e-9 && (var - 1.0).abs() < 1e-9,
            "{group}: {mean} {var}"
        );
    }
}

/// Random, truncated, lower-case, non-ACGT and non-ASCII strings through every DNA reward:
/// each gets a value or `None`, never a panic; only exact 200-bp ACGT gets a classifier score.
#[test]
fn malformed_sequences_are_not_scored() {
    let device = default_device();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dna-rewards");
    let valid: Vec<String> = load_dhs(&dhs_path())
        .unwrap()
        .into_iter()
        .filter(|r| r.split == Split::Val)
        .map(|r| r.sequence)
        .collect();
    let pwms = group_pwms(&jaspar2024().unwrap(), SK_N_SH, 0.5, UNIFORM_BACKGROUND).unwrap();
    let rewards: Vec<Box<dyn Reward>> = vec![
        Box::new(CellTypeReward::new(
            "K562",
            CellType::K562,
            CellClassifier::load(&dir.join("classifier-reward"), &device).unwrap(),
        )),
        Box::new(CellTypeReward::new(
            "K562-oracle",
            CellType::K562,
            CellClassifier::load(&dir.join("classifier-oracle"), &device).unwrap(),
        )),
        Box::new(MotifReward::calibrated(SK_N_SH, pwms, &valid).unwrap()),
    ];
    let mut rng = StdRng::seed_from_u64(5);
    let alphabet: Vec<char> = "ACGTacgtNn-é \n>".chars().collect();
    let mut texts: Vec<String> = (0..2000)
        .map(|i| {
            let len = match i % 4 {
                0 => 200,
                1 => rng.random_range(0..400),
                2 => rng.random_range(0..10),
                _ => 199,
            };
            (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())])
                .collect()
        })
        .collect();
    texts.push(valid[0].to_lowercase());
    texts.push(valid[0][..196].to_string());
    texts.push(String::new());
    for r in &rewards {
        let v = r.score(&Sample::unprompted(&texts)).unwrap();
        assert_eq!(v.len(), texts.len());
        for (t, x) in texts.iter().zip(&v) {
            let acgt = !t.is_empty() && t.bytes().all(|b| b"ACGTacgt".contains(&b));
            if r.name().starts_with("K562") {
                assert_eq!(x.is_some(), acgt && t.len() == 200, "{t:?}");
            } else {
                // Occupancy needs at least one window of the shortest motif (6 bp).
                assert_eq!(x.is_some(), acgt && t.len() >= 6, "{t:?}");
            }
            assert!(x.is_none_or(f64::is_finite));
        }
    }
}

#[test]
fn shipped_policy_samples_exactly_200_bp() {
    let device = default_device();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dna-gpt");
    let policy = Gpt::load(&dir, &device).unwrap();
    let tokenizer = DnaTokenizer::load(&tokenizer_path(&dir)).unwrap();
    let cfg = SamplingConfig {
        max_new_tokens: 200 / tokenizer.k(),
        temperature: 1.5,
        suppress: tokenizer.specials().all,
        seed: Some(9),
        ..Default::default()
    };
    let rollout = policy.sample(&vec![vec![BOS]; 64], &cfg).unwrap();
    for ids in rollout.response_ids() {
        assert!(ids.iter().all(|t| !cfg.suppress.contains(t)), "{ids:?}");
        let seq = tokenizer.decode(&ids).unwrap();
        assert_eq!(seq.len(), 200, "{seq}");
        assert!(seq.bytes().all(|b| b"ACGT".contains(&b)));
    }
}
