//! The domains' shared setup pieces: objectives into reward sets, descriptions, names, options.

use super::dna::DnaOptions;
use super::molecules::MoleculesOptions;
use super::objective::{about_map, build_sets, grouped_about_map, known_name};
use super::text::TextOptions;
use super::{Objective, SetupError};
use crate::reward::{FnReward, Normalizer, Reward, Transform};
use serde_json::json;

fn length(name: &str) -> Box<dyn Reward> {
    Box::new(FnReward::new(name, |s| Some(s.completion.len() as f64)))
}

#[test]
fn objectives_become_two_sets_with_the_transform_on_both_and_the_normaliser_on_training() {
    let window = Transform::double_sigmoid(1.0, 3.0);
    let objectives = vec![
        Objective::new("a", length("a"), length("a"), 0.25).with_about(json!("first")),
        Objective::new("b", length("b"), length("b"), 0.75)
            .with_transform(window)
            .with_normalizer(Normalizer::running()),
    ];
    let (train, eval, about) = build_sets(objectives, -2.0).unwrap();
    assert_eq!(train.names(), ["a", "b"]);
    assert_eq!(eval.weights(), [0.25, 0.75]);
    let (t, e) = (train.metadata(), eval.metadata());
    assert_eq!(t["na_penalty"], json!(-2.0));
    assert_eq!(e["na_penalty"], json!(0.0));
    assert_eq!(t["rewards"][1]["transform"], json!(window));
    assert_eq!(e["rewards"][1]["transform"], json!(window));
    assert_eq!(t["rewards"][1]["normalizer"], json!(Normalizer::running()));
    assert_eq!(e["rewards"][1]["normalizer"], json!(Normalizer::None));
    assert_eq!(
        about_map(about),
        json!({"a": "first", "b": serde_json::Value::Null})
    );
}

#[test]
fn an_objective_whose_reward_has_another_name_is_refused() {
    let wrong = Objective::new("a", length("a"), length("b"), 1.0);
    let e = build_sets(vec![wrong], 0.0).unwrap_err();
    assert!(
        matches!(e, SetupError::ObjectiveName { role: "oracle", .. }),
        "{e}"
    );
    let twice = vec![
        Objective::new("a", length("a"), length("a"), 0.5),
        Objective::new("a", length("a"), length("a"), 0.5),
    ];
    assert!(matches!(build_sets(twice, 0.0), Err(SetupError::Reward(_))));
    assert!(matches!(
        build_sets(Vec::new(), 0.0),
        Err(SetupError::Reward(_))
    ));
}

#[test]
fn names_are_found_without_case_and_an_unknown_one_lists_the_known() {
    const KNOWN: &[&str] = &["K562", "rougeL"];
    assert_eq!(known_name("d", " rougel", KNOWN).unwrap(), "rougeL");
    let e = known_name("dna", "K56", KNOWN).unwrap_err().to_string();
    assert_eq!(
        e,
        "unknown dna objective \"K56\"; the known ones are K562, rougeL"
    );
}

#[test]
fn objectives_described_alike_share_one_key() {
    let same = json!({"reward": "cnn"});
    let about = vec![
        ("K562".into(), same.clone()),
        ("SK-N-SH".into(), json!("motifs")),
        ("HepG2".into(), same.clone()),
    ];
    assert_eq!(
        grouped_about_map(about),
        json!({"K562/HepG2": same, "SK-N-SH": "motifs"})
    );
}

#[test]
fn options_default_to_the_examples_flags_and_refuse_unknown_fields() {
    let molecules: MoleculesOptions = serde_json::from_str("{}").unwrap();
    assert_eq!(molecules, MoleculesOptions::default());
    assert_eq!(molecules.backbone, molecules.policy);
    let dna: DnaOptions = serde_json::from_str(r#"{"temperature": 0.5}"#).unwrap();
    assert_eq!(
        (dna.temperature, dna.policy),
        (0.5, "assets/dna-gpt".into())
    );
    let text: TextOptions = serde_json::from_str(r#"{"train_prompts": 8}"#).unwrap();
    assert_eq!((text.train_prompts, text.prompt_tokens), (Some(8), 48));
    let e = serde_json::from_str::<TextOptions>(r#"{"minilm_dir": "x"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `minilm_dir`"), "{e}");
}
