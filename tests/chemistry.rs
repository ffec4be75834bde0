//! The chemistry layer against RDKit 2026.09.1 (fixtures written by
//! `scripts/make-rdkit-fixtures.py`) and a fuzz test of the reward path on malformed SMILES:
//! 100k random and mutated strings through the chemistry layer and every shipped molecule
//! reward (analytic, QM9 oracles, and — on the first 5,000 — the backbone QM9 rewards).

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use multireward::checkpoint::tokenizer_path;
use multireward::device::default_device;
use multireward::policy::{Gpt, Policy};
use multireward::reward::{Reward, Sample};
use multireward::tasks::molecules::SmilesTokenizer;
use multireward::tasks::molecules::analytic::{Descriptor, DescriptorReward};
use multireward::tasks::molecules::metrics::internal_diversity;
use multireward::tasks::molecules::qm9::{
    BackboneFeatures, MorganFeatures, Property, PropertyReward,
};
use multireward::tasks::molecules::regressor::Regressor;
use multireward::tasks::molecules::{ChemError, MAX_ATOMS, MAX_BRANCH_DEPTH, Molecule, sa_score};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Numeric agreement required with RDKit.
const TOL: f64 = 1e-3;

/// Fixture SMILES whose values may differ from RDKit, with the reason (also listed in
/// `assets/chem/README.md`).
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[];

/// Strings RDKit accepts and we reject (also listed in `assets/chem/README.md`): RDKit's lexer
/// reads non-ASCII bytes erratically (`Cé` is methane, `CéC` invalid); we reject every
/// non-ASCII string.
const KNOWN_VALIDITY_DISAGREEMENTS: &[&str] = &["Cé"];

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Data rows of a fixture (after the `#` comment lines and the column header).
fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .skip(1)
        .map(|l| l.split('\t').collect())
}

#[test]
fn descriptors_match_rdkit() {
    let text = read("tests/fixtures/rdkit/descriptors.tsv");
    let columns = ["qed", "logp", "tpsa", "mw", "heavy_atoms", "sa"];
    let mut max_diff = [0.0f64; 6];
    let mut failures = Vec::new();
    let mut n = 0;
    for r in rows(&text) {
        n += 1;
        let (source, smiles) = (r[0], r[1]);
        let known = KNOWN_DISAGREEMENTS.iter().any(|(s, _)| *s == smiles);
        let mol = match Molecule::from_smiles(smiles) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{source} {smiles}: rejected: {e}"));
                continue;
            }
        };
        let d = mol.descriptors().expect("descriptors");
        let ours = [
            d.qed,
            d.logp,
            d.tpsa,
            d.mol_weight,
            d.heavy_atoms as f64,
            d.sa,
        ];
        let mut bad = Vec::new();
        for (k, (&v, col)) in ours.iter().zip(columns).enumerate() {
            let want: f64 = r[3 + k].parse().unwrap();
            let diff = (v - want).abs();
            if known {
                continue;
            }
            max_diff[k] = max_diff[k].max(diff);
            if diff > TOL {
                bad.push(format!("{col} {v} vs {want}"));
            }
        }
        if mol.canonical_smiles() != r[2] {
            bad.push(format!("canonical {} vs {}", mol.canonical_smiles(), r[2]));
        }
        let fp = mol.morgan().unwrap();
        let sum = fp
            .counts()
            .iter()
            .fold(0u32, |s, &(id, c)| s.wrapping_add(id.wrapping_mul(c)));
        if (fp.counts().len().to_string(), sum.to_string()) != (r[9].into(), r[10].into()) {
            bad.push("Morgan counts".into());
        }
        if !bad.is_empty() && !known {
            failures.push(format!("{source} {smiles}: {}", bad.join("; ")));
        }
    }
    eprintln!("{n} molecules; max |ours - RDKit|:");
    for (c, d) in columns.iter().zip(max_diff) {
        eprintln!("  {c:12} {d:.2e}");
    }
    assert!(n >= 1000, "only {n} fixture molecules");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn validity_matches_rdkit() {
    let text = read("tests/fixtures/rdkit/validity.tsv");
    let (mut n, mut invalid, mut failures) = (0, 0, Vec::new());
    for r in rows(&text) {
        let (source, smiles, want) = (r[0], r[1], r[2] == "1");
        n += 1;
        invalid += usize::from(source == "invalid");
        let got = Molecule::from_smiles(smiles);
        if got.is_ok() != want && !KNOWN_VALIDITY_DISAGREEMENTS.contains(&smiles) {
            failures.push(format!("{source} {smiles:?}: RDKit {want}, ours {got:?}"));
        }
    }
    eprintln!("{n} strings, {invalid} hand-written invalid");
    assert!(invalid >= 50);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn internal_diversity_matches_rdkit() {
    let text = read("tests/fixtures/rdkit/descriptors.tsv");
    let want: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("# internal_diversity "))
        .and_then(|l| l.split(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    let mols: Vec<Molecule> = rows(&text)
        .map(|r| Molecule::from_smiles(r[1]).unwrap())
        .collect();
    let mut seen = HashSet::new();
    let distinct: Vec<&Molecule> = mols
        .iter()
        .filter(|m| seen.insert(m.canonical_smiles().to_string()))
        .collect();
    let got = internal_diversity(&distinct).unwrap();
    assert!((got - want).abs() < 1e-9, "{got} vs RDKit {want}");
}

/// Everything a reward computes from one generated string.
fn reward_path(s: &str) -> Result<(), ChemError> {
    let mol = Molecule::from_smiles(s)?;
    let d = mol.descriptors()?;
    let fp = mol.morgan()?;
    let sa = sa_score(&mol)?;
    assert!(d.qed.is_finite() && d.logp.is_finite() && d.tpsa.is_finite());
    assert!((1.0..=10.0).contains(&sa) && sa == d.sa);
    assert_eq!(fp.folded(256).len(), 256);
    Ok(())
}

const ALPHABET: &[char] = &[
    'C', 'N', 'O', 'S', 'P', 'F', 'I', 'B', 'r', 'l', 'c', 'n', 'o', 's', 'p', 'H', '(', ')', '[',
    ']', '=', '#', '$', ':', '@', '+', '-', '/', '\\', '.', '%', '*', '0', '1', '2', '3', '4', '5',
    '9', 'e', 'a', 'K', 'Z', 'X', 'x', '!', '~', '&', '?', ' ', 'é', '日', '\u{0}',
];

fn mutate(s: &str, rng: &mut StdRng) -> String {
    let mut c: Vec<char> = s.chars().collect();
    for _ in 0..rng.random_range(1..=3) {
        let i = rng.random_range(0..=c.len());
        match rng.random_range(0..4) {
            0 => c.insert(i, ALPHABET[rng.random_range(0..ALPHABET.len())]),
            1 if i < c.len() => drop(c.remove(i)),
            2 if i < c.len() => {
                let j = rng.random_range(0..c.len());
                c.swap(i, j);
            }
            _ => {
                // Duplicate a random slice: repeated rings, branches and charges.
                let j = rng.random_range(i..=c.len());
                let dup: Vec<char> = c[i..j].to_vec();
                c.splice(j..j, dup);
            }
        }
    }
    c.into_iter().collect()
}

/// Whether `s` has a `:` bond outside bracket atoms.
fn explicit_aromatic_bond(s: &str) -> bool {
    let mut depth = 0;
    s.chars().any(|c| {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ => {}
        }
        c == ':' && depth == 0
    })
}

/// The shipped rewards a molecule policy is trained and judged with.
struct RewardSuite(Vec<(Box<dyn Reward>, bool)>);

impl RewardSuite {
    /// Analytic rewards, the QM9 oracles (Morgan features) and the QM9 training rewards
    /// (policy-backbone features; `true`: only scored on the first batches, as they run the
    /// policy).
    fn load() -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let device = default_device();
        let policy_dir = root.join("assets/smiles-gpt");
        let policy = Gpt::load(&policy_dir, &device).unwrap();
        let tokenizer = SmilesTokenizer::load(&tokenizer_path(&policy_dir)).unwrap();
        let mut v: Vec<(Box<dyn Reward>, bool)> =
            [Descriptor::Qed, Descriptor::LogP, Descriptor::Sa]
                .into_iter()
                .map(|d| (Box::new(DescriptorReward(d)) as Box<dyn Reward>, false))
                .collect();
        for p in Property::ALL {
            let dir = |role: &str| root.join(format!("assets/qm9-rewards/{}-{role}", p.name()));
            let oracle = Regressor::load(&dir("oracle"), &device).unwrap();
            let bits = oracle.config().d_in;
            v.push((
                Box::new(PropertyReward::new(
                    p.name(),
                    p,
                    Box::new(MorganFeatures { bits }),
                    oracle,
                )),
                false,
            ));
            let reward = Regressor::load(&dir("reward"), &device).unwrap();
            let features = BackboneFeatures::new(&policy, tokenizer.clone());
            v.push((
                Box::new(PropertyReward::new(p.name(), p, Box::new(features), reward)),
                true,
            ));
        }
        Self(v)
    }

    /// Score `batch` with every reward (the backbone ones only if `all`); every value must be
    /// finite or not applicable, and there must be one per string.
    fn score(&self, batch: &[String], all: bool) {
        let samples: Vec<Sample> = batch
            .iter()
            .map(|s| Sample {
                prompt: "",
                completion: s,
            })
            .collect();
        for (reward, slow) in &self.0 {
            if *slow && !all {
                continue;
            }
            let scores = reward.score(&samples).unwrap();
            assert_eq!(scores.len(), batch.len());
            assert!(
                scores.iter().flatten().all(|v| v.is_finite()),
                "{}",
                reward.name()
            );
        }
    }
}

#[test]
fn fuzz_reward_path_never_panics() {
    let mut gz = String::new();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/moses_sample.smi.gz");
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut gz)
        .unwrap();
    let moses: Vec<&str> = gz.lines().collect();
    let mut rng = StdRng::seed_from_u64(7);
    let start = Instant::now();
    let (n, mut valid, mut backend, mut aliphatic_aromatic) = (100_000, 0, Vec::new(), 0);
    let rewards = RewardSuite::load();
    let mut batch = Vec::with_capacity(1000);
    for k in 0..n {
        let s = if k % 2 == 0 {
            let len = rng.random_range(1..40);
            (0..len)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())])
                .collect()
        } else {
            mutate(moses[rng.random_range(0..moses.len())], &mut rng)
        };
        match reward_path(&s) {
            Ok(()) => valid += 1,
            // Known gap (assets/chem/README.md): RDKit and our parser accept an explicit
            // aromatic bond `:` between aliphatic atoms (`C:C`), chematic cannot kekulize it
            // for the fingerprint; the reward path returns a typed error (scored as NA).
            Err(ChemError::Backend(e)) if explicit_aromatic_bond(&s) && e.contains("kekul") => {
                aliphatic_aromatic += 1
            }
            Err(ChemError::Backend(e)) => backend.push(format!("{s:?}: {e}")),
            Err(_) => {}
        }
        batch.push(s);
        if batch.len() == 1000 || k + 1 == n {
            rewards.score(&batch, k < 5000);
            batch.clear();
        }
    }
    eprintln!(
        "{n} fuzzed strings, {valid} valid, {aliphatic_aromatic} with aliphatic ':' bonds, \
         {} other backend failures, {:.1} s",
        backend.len(),
        start.elapsed().as_secs_f64()
    );
    assert!(backend.is_empty(), "{}", backend.join("\n"));
}

/// What the reward path must give for one pathological input.
#[derive(Debug)]
enum Want {
    /// A valid molecule with this many heavy atoms, scored by every step of [`reward_path`].
    Scored(usize),
    /// Not SMILES (RDKit's `MolFromSmiles` gives `None`): [`ChemError::Syntax`] whose message
    /// contains this (`""`: any message).
    Syntax(&'static str),
    /// Valid SMILES with this many atoms, more than [`MAX_ATOMS`]: [`ChemError::TooLarge`].
    TooLarge(usize),
    /// Valid SMILES nested deeper than [`MAX_BRANCH_DEPTH`] branch levels, the backend
    /// parser's limit: [`ChemError::Unsupported`] naming it.
    TooDeep,
}

impl Want {
    /// Whether `got`, what [`reward_path`] and [`Molecule`] gave for `s`, is what is wanted.
    fn accepts(&self, s: &str, got: &Result<(), ChemError>) -> bool {
        match (self, got) {
            (Want::Scored(n), Ok(())) => {
                let d = Molecule::from_smiles(s).unwrap().descriptors().unwrap();
                d.heavy_atoms == *n
            }
            (Want::Syntax(what), Err(ChemError::Syntax(m))) => m.contains(what),
            (Want::TooLarge(n), Err(ChemError::TooLarge(k))) => k == n,
            (Want::TooDeep, Err(ChemError::Unsupported(m))) => m.contains("nested deeper than"),
            _ => false,
        }
    }
}

/// `C` followed by `k` opening and `k` closing strings: `k` nested branches.
fn nested(open: &str, close: &str, k: usize) -> String {
    format!("C{}{}", open.repeat(k), close.repeat(k))
}

/// Huge, deeply nested and overflowing inputs give the right typed error (never a panic, which
/// the chemistry layer would report as [`ChemError::Backend`]) and valid ones are scored.
/// What RDKit 2026.09.1's `MolFromSmiles` does with each is in the comments; RDKit itself
/// crashes (stack overflow) on 100,000 carbons. Nesting deeper than [`MAX_BRANCH_DEPTH`] is the
/// one place we refuse valid SMILES (the backend parser's limit), with a typed error.
#[test]
fn pathological_inputs_are_typed_errors() {
    let cases: Vec<(String, Want)> = vec![
        // A linear chain written as 10,000 nested branches, C(C(C(…))): valid SMILES (RDKit
        // reads 10,001 atoms), deeper than the parser reads.
        (nested("(C", ")", 10_000), Want::TooDeep),
        // The deepest nesting the parser takes: the same chain with 501 atoms.
        (nested("(C", ")", MAX_BRANCH_DEPTH), Want::Scored(501)),
        // One level deeper: valid (RDKit reads 502 atoms), within MAX_ATOMS, but past the
        // parser's limit: a typed "unsupported" error, not a syntax error.
        (nested("(C", ")", MAX_BRANCH_DEPTH + 1), Want::TooDeep),
        // An isotope overflowing any integer: RDKit rejects it ("number too large"); the
        // backend parser would saturate it at 65,535, so the syntax check refuses it first.
        (
            "[99999999999999999999C]".into(),
            Want::Syntax("bracket atom"),
        ),
        // Isotopes between 16 and 32 bits: RDKit wraps them ([70000C] → [4464C]); refused.
        ("[70000C]".into(), Want::Syntax("bracket atom")),
        ("[65535C]".into(), Want::Scored(1)),
        // Empty branches C((((…)))): invalid.
        (nested("(", ")", 10_000), Want::Syntax("misplaced bracket")),
        ("(".repeat(100_000), Want::Syntax("misplaced bracket")),
        ("[".repeat(100_000), Want::Syntax("bracket atom")),
        // C1C1: the ring closure duplicates the chain bond, which RDKit rejects.
        ("C1".repeat(10_000), Want::Syntax("duplicate ring bond 1")),
        ("c1".repeat(10_000), Want::Syntax("duplicate ring bond 1")),
        ("C%99".repeat(1000), Want::Syntax("duplicate ring bond 99")),
        // Chirality is `@` or `@@`.
        ("[C@@@@@@@@@@@@@@H]".into(), Want::Syntax("bracket atom")),
        // A charge overflowing any integer.
        (
            "[C+99999999999999999999]".into(),
            Want::Syntax("bracket atom"),
        ),
        // Linear alkanes: valid at any length, scored up to MAX_ATOMS.
        ("C".repeat(MAX_ATOMS), Want::Scored(MAX_ATOMS)),
        ("C".repeat(MAX_ATOMS + 1), Want::TooLarge(MAX_ATOMS + 1)),
        ("C".repeat(100_000), Want::TooLarge(100_000)),
        // 160 benzene rings joined by single bonds (ring label 1 reused): a valid polyphenyl.
        ("c1ccccc1".repeat(160), Want::Scored(960)),
    ];
    let mut wrong = Vec::new();
    for (s, want) in &cases {
        let t = Instant::now();
        let got = reward_path(s);
        eprintln!(
            "{:>8} chars {:?}…: {:?} in {:.2} s",
            s.len(),
            &s[..s.len().min(12)],
            got.as_ref().err(),
            t.elapsed().as_secs_f64()
        );
        if !want.accepts(s, &got) {
            wrong.push(format!(
                "{:?}…: got {got:?}, want {want:?}",
                &s[..s.len().min(24)]
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
