//! Per-token rewards, KL estimators, GAE, whitening and group baselines, computed on the host
//! over `[B, R]` row-major buffers (a rollout's quantities are small; GAE's reverse scan is
//! sequential).

/// Estimator of the per-token KL divergence to the reference policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum KlEstimator {
    /// `log π − log π_ref` (TRL's default; unbiased, can be negative per token).
    #[default]
    K1,
    /// `exp(r) − 1 − r` with `r = log π_ref − log π` (non-negative, lower variance).
    K3,
}

impl KlEstimator {
    /// Per-token estimate from the policy's and the reference's log-probability.
    pub fn estimate(self, logp: f32, ref_logp: f32) -> f32 {
        match self {
            Self::K1 => logp - ref_logp,
            Self::K3 => {
                let r = ref_logp - logp;
                r.exp() - 1.0 - r
            }
        }
    }
}

/// A `[B, R]` row-major buffer with its response mask.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenGrid<'a> {
    /// Rows (batch size).
    pub rows: usize,
    /// Columns (response length).
    pub cols: usize,
    /// `true` for response tokens up to and including the first EOS.
    pub mask: &'a [bool],
}

impl TokenGrid<'_> {
    /// Number of valid tokens in `row`; the mask is a prefix (tokens up to EOS).
    pub fn len(&self, row: usize) -> usize {
        self.mask[row * self.cols..(row + 1) * self.cols]
            .iter()
            .take_while(|&&m| m)
            .count()
    }
}

/// Per-token KL estimates, 0 on masked positions.
pub fn kl_per_token(
    grid: &TokenGrid,
    logp: &[f32],
    ref_logp: &[f32],
    est: KlEstimator,
) -> Vec<f32> {
    (0..grid.rows * grid.cols)
        .map(|i| {
            if grid.mask[i] {
                est.estimate(logp[i], ref_logp[i])
            } else {
                0.0
            }
        })
        .collect()
}

/// TRL's per-token rewards: `−β·kl` on every valid token, plus the sequence score on the last
/// valid token of the row (its EOS, or the last position if it never stopped).
pub fn token_rewards(grid: &TokenGrid, kl: &[f32], scores: &[f32], beta: f32) -> Vec<f32> {
    let mut out: Vec<f32> = kl.iter().map(|k| -beta * k).collect();
    for (row, &score) in scores.iter().enumerate().take(grid.rows) {
        let len = grid.len(row).max(1);
        out[row * grid.cols + len - 1] += score;
    }
    out
}

/// Generalised advantage estimation over each row's valid prefix (values after the last valid
/// token are 0). Returns `(advantages, returns)` with `returns = advantages + values`; masked
/// positions are 0.
pub fn gae(
    grid: &TokenGrid,
    rewards: &[f32],
    values: &[f32],
    gamma: f32,
    lam: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = grid.rows * grid.cols;
    let (mut adv, mut ret) = (vec![0.0; n], vec![0.0; n]);
    for row in 0..grid.rows {
        let base = row * grid.cols;
        let len = grid.len(row);
        let mut last = 0.0;
        for t in (0..len).rev() {
            let next = if t + 1 < len {
                values[base + t + 1]
            } else {
                0.0
            };
            let delta = rewards[base + t] + gamma * next - values[base + t];
            last = delta + gamma * lam * last;
            adv[base + t] = last;
            ret[base + t] = last + values[base + t];
        }
    }
    (adv, ret)
}

/// Whiten `x` over masked positions (mean 0, unbiased variance 1, `+1e-8` in the square root);
/// masked-out positions become 0.
pub fn whiten(x: &mut [f32], mask: &[bool]) {
    let n = mask.iter().filter(|&&m| m).count();
    if n == 0 {
        return;
    }
    let mean = x
        .iter()
        .zip(mask)
        .filter(|p| *p.1)
        .map(|p| *p.0 as f64)
        .sum::<f64>()
        / n as f64;
    let var = x
        .iter()
        .zip(mask)
        .filter(|p| *p.1)
        .map(|p| (*p.0 as f64 - mean).powi(2))
        .sum::<f64>()
        / (n.max(2) - 1) as f64;
    let scale = 1.0 / (var + 1e-8).sqrt();
    for (v, &m) in x.iter_mut().zip(mask) {
        *v = if m {
            ((*v as f64 - mean) * scale) as f32
        } else {
            0.0
        };
    }
}

/// How a group of samples of the same prompt sets its baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum GroupBaseline {
    /// RLOO: subtract the mean of the *other* samples of the group.
    #[default]
    LeaveOneOut,
    /// GRPO: subtract the group mean and divide by the group's standard deviation (+1e-4).
    MeanStd,
}

/// Sequence advantages of consecutive groups of `group` samples (the rollout lists each
/// prompt's samples next to each other).
pub fn group_advantages(rewards: &[f32], group: usize, baseline: GroupBaseline) -> Vec<f32> {
    rewards
        .chunks(group.max(1))
        .flat_map(|g| {
            let k = g.len() as f32;
            let sum: f32 = g.iter().sum();
            let mean = sum / k;
            let std = (g.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / k).sqrt();
            g.iter()
                .map(move |&r| match baseline {
                    GroupBaseline::LeaveOneOut if k > 1.0 => r - (sum - r) / (k - 1.0),
                    GroupBaseline::LeaveOneOut => 0.0,
                    GroupBaseline::MeanStd => (r - mean) / (std + 1e-4),
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_estimators() {
        assert_eq!(KlEstimator::K1.estimate(-1.0, -1.5), 0.5);
        let k3 = KlEstimator::K3.estimate(-1.0, -1.5);
        assert!((k3 - ((-0.5f32).exp() - 1.0 + 0.5)).abs() < 1e-7);
        assert_eq!(KlEstimator::K3.estimate(-2.0, -2.0), 0.0);
    }

    #[test]
    fn score_lands_on_the_last_valid_token() {
        let mask = [true, true, false, true, true, true];
        let grid = TokenGrid {
            rows: 2,
            cols: 3,
            mask: &mask,
        };
        let kl = kl_per_token(
            &grid,
            &[0.0, -1.0, 5.0, 0.0, 0.0, 0.0],
            &[0.0; 6],
            KlEstimator::K1,
        );
        assert_eq!(kl[2], 0.0);
        let r = token_rewards(&grid, &kl, &[1.0, 2.0], 0.5);
        assert_eq!(r, vec![0.0, 1.5, 0.0, 0.0, 0.0, 2.0]);
    }

    #[test]
    fn gae_matches_hand_computation() {
        // One row of 3 valid tokens, γ = 1, λ = 0.5.
        let mask = [true, true, true, false];
        let grid = TokenGrid {
            rows: 1,
            cols: 4,
            mask: &mask,
        };
        let rewards = [0.0, 0.0, 1.0, 0.0];
        let values = [0.5, 0.25, 0.75, 9.0];
        let (adv, ret) = gae(&grid, &rewards, &values, 1.0, 0.5);
        // δ2 = 1 − 0.75 = 0.25; δ1 = 0 + 0.75 − 0.25 = 0.5; δ0 = 0.25 − 0.5 = −0.25
        // A2 = 0.25; A1 = 0.5 + 0.5·0.25 = 0.625; A0 = −0.25 + 0.5·0.625 = 0.0625
        assert_eq!(adv, vec![0.0625, 0.625, 0.25, 0.0]);
        assert_eq!(ret, vec![0.5625, 0.875, 1.0, 0.0]);
        // λ = 1, γ = 1: returns are the reward-to-go.
        let (_, ret) = gae(&grid, &rewards, &values, 1.0, 1.0);
        assert_eq!(ret, vec![1.0, 1.0, 1.0, 0.0]);
    }

    #[test]
    fn whitening_uses_only_masked_positions() {
        let mut x = [1.0, 2.0, 3.0, 100.0];
        whiten(&mut x, &[true, true, true, false]);
        assert_eq!(x[3], 0.0);
        assert!((x[0] + 1.0).abs() < 1e-6 && x[1].abs() < 1e-6 && (x[2] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn group_baselines() {
        let a = group_advantages(&[1.0, 3.0, 2.0, 2.0], 2, GroupBaseline::LeaveOneOut);
        assert_eq!(a, vec![-2.0, 2.0, 0.0, 0.0]);
        let g = group_advantages(&[1.0, 3.0], 2, GroupBaseline::MeanStd);
        assert!((g[0] + 1.0).abs() < 1e-3 && (g[1] - 1.0).abs() < 1e-3);
    }
}
