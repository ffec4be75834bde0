//! Score transforms (REINVENT 4 style) mapping raw reward values, mostly to [0, 1].

use serde::{Deserialize, Serialize};
use std::f64::consts::LN_10;

/// A map from a raw reward value `x` to a score.
///
/// The sigmoids are REINVENT 4's formulas, computed in the equivalent logistic form
/// `σ(z) = 1/(1 + e^(−z))` (so `10^a = e^(a·ln 10)`), which stays finite for any finite `x`.
/// With `mid = (high + low)/2`:
/// - `Sigmoid`: `1/(1 + 10^(k·(mid − x)·10/(high − low)))`, rising through 0.5 at `mid`;
/// - `ReverseSigmoid`: `1/(1 + 10^(k·(x − mid)·10/(high − low)))`, i.e. `1 − Sigmoid`;
/// - `DoubleSigmoid`: `A/B − C` with `A = 10^(coef_se·x/coef_div)`,
///   `B = A + 10^(coef_se·low/coef_div)`,
///   `C = 10^(coef_si·x/coef_div)/(10^(coef_si·x/coef_div) + 10^(coef_si·high/coef_div))`:
///   ≈ 1 inside `[low, high]`, ≈ 0 outside; clamped to [0, 1] because it dips just below 0 far
///   outside the window when `coef_si < coef_se`;
/// - `Step`: 1 if `low ≤ x ≤ high`, else 0;
/// - `Clamp`: `x` clamped to `[min, max]` (not a [0, 1] map unless the bounds are 0 and 1).
///
/// All parameters must be finite (use `f64::MAX` for an open end), so they survive JSON.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Transform {
    /// `x` unchanged (the default).
    #[default]
    Identity,
    /// Rises from 0 to 1 around `(low + high)/2`; `k > 0` sets the steepness.
    Sigmoid {
        /// Lower end of the transition.
        low: f64,
        /// Upper end of the transition (`> low`).
        high: f64,
        /// Steepness (`> 0`; REINVENT's default is 0.25).
        k: f64,
    },
    /// Falls from 1 to 0 around `(low + high)/2`; `k > 0` sets the steepness.
    ReverseSigmoid {
        /// Lower end of the transition.
        low: f64,
        /// Upper end of the transition (`> low`).
        high: f64,
        /// Steepness (`> 0`).
        k: f64,
    },
    /// A bump: ≈ 1 between `low` and `high`, ≈ 0 outside.
    DoubleSigmoid {
        /// Left edge of the window.
        low: f64,
        /// Right edge of the window (`> low`).
        high: f64,
        /// Divisor of both slopes (`> 0`, default 100).
        #[serde(default = "default_coef_div")]
        coef_div: f64,
        /// Slope of the right (falling) edge (`> 0`, default 150).
        #[serde(default = "default_coef_s")]
        coef_si: f64,
        /// Slope of the left (rising) edge (`> 0`, default 150).
        #[serde(default = "default_coef_s")]
        coef_se: f64,
    },
    /// 1 inside `[low, high]` (`low ≤ high`), 0 outside.
    Step {
        /// Smallest value scored 1.
        low: f64,
        /// Largest value scored 1.
        high: f64,
    },
    /// `x` clamped to `[min, max]` (`min ≤ max`).
    Clamp {
        /// Lower bound.
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

fn default_coef_div() -> f64 {
    100.0
}

fn default_coef_s() -> f64 {
    150.0
}

/// `1/(1 + e^(−z))` without overflow; exact 0 and 1 at ∓∞.
fn logistic(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

impl Transform {
    /// REINVENT 4's double sigmoid with its default coefficients (100, 150, 150).
    pub fn double_sigmoid(low: f64, high: f64) -> Self {
        Self::DoubleSigmoid {
            low,
            high,
            coef_div: default_coef_div(),
            coef_si: default_coef_s(),
            coef_se: default_coef_s(),
        }
    }

    /// Maps the raw value `x`.
    pub fn apply(&self, x: f64) -> f64 {
        match *self {
            Self::Identity => x,
            Self::Sigmoid { low, high, k } => logistic(Self::sigmoid_arg(x, low, high, k)),
            Self::ReverseSigmoid { low, high, k } => logistic(-Self::sigmoid_arg(x, low, high, k)),
            Self::DoubleSigmoid {
                low,
                high,
                coef_div,
                coef_si,
                coef_se,
            } => {
                let rise = logistic(LN_10 * coef_se * (x - low) / coef_div);
                let fall = logistic(LN_10 * coef_si * (x - high) / coef_div);
                (rise - fall).clamp(0.0, 1.0)
            }
            Self::Step { low, high } => {
                if low <= x && x <= high {
                    1.0
                } else {
                    0.0
                }
            }
            Self::Clamp { min, max } => x.clamp(min, max),
        }
    }

    /// `ln 10 · k · (x − mid) · 10/(high − low)`: the sigmoid's exponent in base e.
    fn sigmoid_arg(x: f64, low: f64, high: f64, k: f64) -> f64 {
        LN_10 * k * 10.0 * ((x - f64::midpoint(low, high)) / (high - low))
    }

    /// Whether the transform keeps the raw order (so a [`super::Direction::Minimize`] reward
    /// must be negated afterwards).
    pub(crate) fn preserves_order(&self) -> bool {
        matches!(self, Self::Identity | Self::Clamp { .. })
    }

    /// Why the parameters are unusable, if they are.
    pub(crate) fn check(&self) -> Result<(), &'static str> {
        let (params, ok): (&[f64], bool) = match self {
            Self::Identity => (&[], true),
            Self::Sigmoid { low, high, k } | Self::ReverseSigmoid { low, high, k } => {
                (&[*low, *high, *k], high > low && *k > 0.0)
            }
            Self::DoubleSigmoid {
                low,
                high,
                coef_div,
                coef_si,
                coef_se,
            } => (
                &[*low, *high, *coef_div, *coef_si, *coef_se],
                high > low && *coef_div > 0.0 && *coef_si > 0.0 && *coef_se > 0.0,
            ),
            Self::Step { low, high } => (&[*low, *high], low <= high),
            Self::Clamp { min, max } => (&[*min, *max], min <= max),
        };
        if !params.iter().all(|p| p.is_finite()) {
            Err("parameters must be finite")
        } else if !ok {
            Err("need high > low (min ≤ max, low ≤ high for steps) and positive slopes")
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: Transform = Transform::Sigmoid {
        low: 0.0,
        high: 10.0,
        k: 0.25,
    };
    const REV: Transform = Transform::ReverseSigmoid {
        low: 0.0,
        high: 10.0,
        k: 0.25,
    };

    /// REINVENT's formula taken literally (fine for moderate inputs).
    fn reinvent_sigmoid(x: f64, low: f64, high: f64, k: f64) -> f64 {
        1.0 / (1.0 + 10f64.powf(k * ((high + low) / 2.0 - x) * 10.0 / (high - low)))
    }

    #[test]
    fn sigmoids_match_reinvent_and_are_finite_and_monotone() {
        assert!((SIG.apply(5.0) - 0.5).abs() < 1e-15);
        assert!((REV.apply(5.0) - 0.5).abs() < 1e-15);
        for x in [-3.0, 0.0, 2.5, 7.0, 12.0] {
            assert!((SIG.apply(x) - reinvent_sigmoid(x, 0.0, 10.0, 0.25)).abs() < 1e-12);
            assert!((SIG.apply(x) + REV.apply(x) - 1.0).abs() < 1e-12);
        }
        let xs: Vec<f64> = (-50..=50).map(|i| f64::from(i) * 0.5).collect();
        for w in xs.windows(2) {
            assert!(SIG.apply(w[0]) <= SIG.apply(w[1]));
            assert!(REV.apply(w[0]) >= REV.apply(w[1]));
        }
        for big in [1e300, -1e300, f64::MAX, f64::MIN] {
            for t in [SIG, REV, Transform::double_sigmoid(0.0, 10.0)] {
                let y = t.apply(big);
                assert!(
                    y.is_finite() && (0.0..=1.0).contains(&y),
                    "{t:?}({big}) = {y}"
                );
            }
        }
        assert_eq!(SIG.apply(1e300), 1.0);
        assert_eq!(SIG.apply(-1e300), 0.0);
    }

    #[test]
    fn double_sigmoid_matches_reinvent() {
        let t = Transform::double_sigmoid(2.0, 8.0);
        let literal = |x: f64| {
            let a = 10f64.powf(150.0 * x / 100.0);
            let b = a + 10f64.powf(150.0 * 2.0 / 100.0);
            let ci = 10f64.powf(150.0 * x / 100.0);
            a / b - ci / (ci + 10f64.powf(150.0 * 8.0 / 100.0))
        };
        for x in [0.0, 2.0, 5.0, 8.0, 10.0] {
            assert!((t.apply(x) - literal(x)).abs() < 1e-12, "x = {x}");
        }
        assert!(t.apply(5.0) > 0.99);
        assert!(t.apply(-20.0) < 1e-6 && t.apply(30.0) < 1e-6);
    }

    #[test]
    fn step_and_clamp() {
        let step = Transform::Step {
            low: 1.0,
            high: 2.0,
        };
        let got: Vec<f64> = [0.9, 1.0, 1.5, 2.0, 2.1].map(|x| step.apply(x)).into();
        assert_eq!(got, [0.0, 1.0, 1.0, 1.0, 0.0]);
        let clamp = Transform::Clamp {
            min: -1.0,
            max: 1.0,
        };
        assert_eq!([-5.0, 0.3, 5.0].map(|x| clamp.apply(x)), [-1.0, 0.3, 1.0]);
        assert_eq!(Transform::Identity.apply(-7.5), -7.5);
    }

    #[test]
    fn bad_parameters_are_rejected_and_serde_round_trips() {
        let bad = [
            Transform::Sigmoid {
                low: 1.0,
                high: 1.0,
                k: 0.25,
            },
            Transform::ReverseSigmoid {
                low: 0.0,
                high: 1.0,
                k: 0.0,
            },
            Transform::Step {
                low: 0.0,
                high: f64::INFINITY,
            },
            Transform::Clamp { min: 1.0, max: 0.0 },
        ];
        assert!(bad.iter().all(|t| t.check().is_err()));
        assert!(SIG.check().is_ok() && Transform::double_sigmoid(0.0, 1.0).check().is_ok());

        let json = r#"{"type":"double_sigmoid","low":1.0,"high":3.0}"#;
        let t: Transform = serde_json::from_str(json).unwrap();
        assert_eq!(t, Transform::double_sigmoid(1.0, 3.0));
        let back: Transform = serde_json::from_str(&serde_json::to_string(&SIG).unwrap()).unwrap();
        assert_eq!(back, SIG);
    }
}
