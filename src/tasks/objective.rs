//! [`Objective`]: one objective of a comparison (its training reward and its evaluation
//! oracle), what a domain's `objective` makes and its `reward_sets` turns into a
//! [`RewardSet`] pair.

use super::SetupError;
use crate::reward::{Normalizer, Reward, RewardSet, Transform};
use serde_json::{Map, Value};

/// One objective of a comparison: the reward it trains on, the oracle that evaluates it.
#[derive(Debug)]
pub struct Objective {
    /// The objective's name: both rewards carry it (the report's column).
    pub name: String,
    /// The reward the strategies train on.
    pub train: Box<dyn Reward>,
    /// The independent reward every final policy is judged by.
    pub oracle: Box<dyn Reward>,
    /// The objective's weight (its preference; 0 = log-only).
    pub weight: f64,
    /// Applied to both the training reward and the oracle.
    pub transform: Transform,
    /// Applied to the training reward only.
    pub normalizer: Normalizer,
    /// What the two rewards are, recorded in `results.json` under the task's `rewards`.
    pub about: Value,
}

impl Objective {
    /// The objective `name` trained on `train`, judged by `oracle`, with this weight, no
    /// transform, no normaliser and no description.
    pub fn new(
        name: impl Into<String>,
        train: Box<dyn Reward>,
        oracle: Box<dyn Reward>,
        weight: f64,
    ) -> Self {
        Self {
            name: name.into(),
            train,
            oracle,
            weight,
            transform: Transform::Identity,
            normalizer: Normalizer::None,
            about: Value::Null,
        }
    }

    /// With this transform of both rewards.
    #[must_use]
    pub fn with_transform(self, transform: Transform) -> Self {
        Self { transform, ..self }
    }

    /// With this normaliser of the training reward.
    #[must_use]
    pub fn with_normalizer(self, normalizer: Normalizer) -> Self {
        Self { normalizer, ..self }
    }

    /// With this description of the rewards.
    #[must_use]
    pub fn with_about(self, about: Value) -> Self {
        Self { about, ..self }
    }

    /// An error unless both rewards carry the objective's name.
    fn check_names(&self) -> Result<(), SetupError> {
        for (role, reward) in [("training reward", &self.train), ("oracle", &self.oracle)] {
            if reward.name() != self.name {
                return Err(SetupError::ObjectiveName {
                    name: self.name.clone(),
                    role,
                    reward: reward.name().to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Training rewards, evaluation oracles, and each objective's name with its description.
type Built = (RewardSet, RewardSet, Vec<(String, Value)>);

/// The training rewards (with `na_penalty`) and the evaluation oracles of `objectives`, in
/// order, and each objective's name with its description (as the domains share it).
pub(crate) fn build_sets(objectives: Vec<Objective>, na_penalty: f64) -> Result<Built, SetupError> {
    let (mut train, mut eval) = (
        RewardSet::builder().na_penalty(na_penalty),
        RewardSet::builder(),
    );
    let mut about = Vec::with_capacity(objectives.len());
    for o in objectives {
        o.check_names()?;
        train = train
            .add_boxed(o.train, o.weight)
            .transform(o.transform)
            .normalizer(o.normalizer);
        eval = eval.add_boxed(o.oracle, o.weight).transform(o.transform);
        about.push((o.name, o.about));
    }
    Ok((train.build()?, eval.build()?, about))
}

/// Descriptions keyed by objective name (a later one of the same name replaces the first;
/// the sets refuse duplicates anyway).
pub(crate) fn about_map(about: Vec<(String, Value)>) -> Value {
    Value::Object(about.into_iter().collect::<Map<String, Value>>())
}

/// Descriptions keyed by objective name, objectives described alike under one key: their
/// names joined by `/` (e.g. `K562/HepG2`).
pub(crate) fn grouped_about_map(about: Vec<(String, Value)>) -> Value {
    let mut groups: Vec<(Vec<String>, Value)> = Vec::new();
    for (name, about) in about {
        match groups.iter_mut().find(|(_, a)| *a == about) {
            Some((names, _)) => names.push(name),
            None => groups.push((vec![name], about)),
        }
    }
    let joined = groups.into_iter().map(|(names, a)| (names.join("/"), a));
    Value::Object(joined.collect())
}

/// The canonical spelling of `name` among `known` (compared without case), else
/// [`SetupError::UnknownObjective`].
pub(crate) fn known_name(
    domain: &'static str,
    name: &str,
    known: &'static [&'static str],
) -> Result<&'static str, SetupError> {
    let wanted = name.trim();
    known
        .iter()
        .find(|k| k.eq_ignore_ascii_case(wanted))
        .copied()
        .ok_or_else(|| SetupError::UnknownObjective {
            domain,
            name: name.to_owned(),
            known,
        })
}
