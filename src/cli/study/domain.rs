//! What the study runner needs of a task ([`Domain`]): the built-in domains' setups
//! (`tasks::*::setup`) and the study's own `prompts` task implement it.

use crate::experiment::{ComparisonConfig, Preset, RicSettings, Task};
use crate::policy::AutoPolicy;
use crate::reward::RewardSet;
use crate::strategy::Strategy;
use crate::tasks::Objective;
use crate::tasks::dna::Dna;
use crate::tasks::molecules::Molecules;
use crate::tasks::text::Text;
use burn::tensor::Device;
use serde_json::Value;
use std::error::Error;

/// What the study runner needs of a task (the built-in domains and [`PromptsTask`]).
pub(super) trait Domain {
    fn presets(&self, n: usize) -> [Preset; 3];
    fn ric(&self) -> RicSettings;
    fn objective(&self, name: &str, weight: f64) -> Result<Objective, Box<dyn Error>>;
    fn reward_sets(
        &self,
        o: Vec<Objective>,
    ) -> Result<(RewardSet, RewardSet, Value), Box<dyn Error>>;
    fn configure(&self, config: ComparisonConfig, n: usize) -> ComparisonConfig;
    fn reference(&self, device: &Device) -> Result<AutoPolicy, Box<dyn Error>>;
    fn task(
        &self,
        reference: AutoPolicy,
        train: RewardSet,
        eval: RewardSet,
        info: Value,
    ) -> Task<'_, AutoPolicy>;
    fn edit(&self, strategy: &mut Strategy);
}

macro_rules! domain {
    ($t:ty) => {
        impl Domain for $t {
            fn presets(&self, n: usize) -> [Preset; 3] {
                <$t>::presets(self, n)
            }
            fn ric(&self) -> RicSettings {
                <$t>::ric(self)
            }
            fn objective(&self, name: &str, weight: f64) -> Result<Objective, Box<dyn Error>> {
                Ok(<$t>::objective(self, name, weight)?)
            }
            fn reward_sets(
                &self,
                o: Vec<Objective>,
            ) -> Result<(RewardSet, RewardSet, Value), Box<dyn Error>> {
                Ok(<$t>::reward_sets(self, o)?)
            }
            fn configure(&self, config: ComparisonConfig, n: usize) -> ComparisonConfig {
                <$t>::configure_for(self, config, n)
            }
            fn reference(&self, device: &Device) -> Result<AutoPolicy, Box<dyn Error>> {
                Ok(<$t>::reference(self, device)?)
            }
            fn task(
                &self,
                reference: AutoPolicy,
                train: RewardSet,
                eval: RewardSet,
                info: Value,
            ) -> Task<'_, AutoPolicy> {
                <$t>::task(self, reference, train, eval, info)
            }
            fn edit(&self, strategy: &mut Strategy) {
                <$t>::edit(self, strategy)
            }
        }
    };
}

domain!(Molecules);
domain!(Dna);
domain!(Text);
