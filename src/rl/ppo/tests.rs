//! Tests of PPO's prompt draws.

use super::*;
use crate::device::default_device;
use crate::policy::GptConfig;
use crate::rl::GroupBaseline;

#[test]
fn steps_draw_different_prompts_in_groups() {
    let reference = GptConfig::new(1, 1, 16, 32, 8, 16).init(&default_device());
    let config = PpoConfig {
        samples_per_step: 32,
        estimator: Estimator::Group {
            size: 4,
            baseline: GroupBaseline::LeaveOneOut,
        },
        ..Default::default()
    };
    let ppo = Ppo::new(config, &reference);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let rows = ppo.step_prompt_indices(100, seed);
        assert_eq!(rows.len(), 32);
        let distinct: std::collections::BTreeSet<_> = rows.iter().collect();
        assert_eq!(distinct.len(), 8, "eight distinct prompts per step");
        for group in rows.chunks(4) {
            assert!(group.iter().all(|&i| i == group[0] && i < 100));
        }
        seen.extend(rows);
    }
    // 40 steps of 8 prompts visit most of the 100, not the same 8 over and over.
    assert!(seen.len() > 90, "{} prompts visited", seen.len());
    assert_eq!(
        ppo.step_prompt_indices(100, 7),
        ppo.step_prompt_indices(100, 7)
    );
    // Fewer prompts than a step needs: every one of them is used.
    let few: std::collections::BTreeSet<_> = ppo.step_prompt_indices(3, 1).into_iter().collect();
    assert_eq!(few.len(), 3);
}
