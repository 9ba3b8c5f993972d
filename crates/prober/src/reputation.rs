//! Reputation from probe outcomes: pure functions, no I/O.
//!
//! The score is a time-decayed average of outcomes (1 for a success, 0 for
//! a failure): each outcome's weight halves every `half_life`, so the score
//! is mostly what the endpoint did over the last few half-lives, and a
//! long-gone outage fades away without being forgotten at once. Two sums
//! are kept, of weighted successes and of weights; their ratio is the score,
//! which is therefore always in [0, 1] and moves towards each new outcome.
//!
//! Probation has hysteresis: it starts after `probation_after_failures`
//! failures in a row and ends only after `probation_exit_successes`
//! successes in a row, so an endpoint that fails every other probe does not
//! flap in and out of the ranking.

/// How outcomes become a reputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Milliseconds after which an outcome weighs half; at least 1.
    pub half_life_ms: u64,
    /// At least 1.
    pub probation_after_failures: u64,
    /// At least 1.
    pub probation_exit_successes: u64,
}

/// One endpoint's reputation state, as the store keeps it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reputation {
    pub success_weight: f64,
    pub total_weight: f64,
    pub consecutive_failures: u64,
    pub consecutive_successes: u64,
    pub probation: bool,
    /// When the weights were last decayed (Unix milliseconds).
    pub at_ms: i64,
}

impl Reputation {
    /// Nothing recorded yet.
    pub fn new(at_ms: i64) -> Self {
        Self {
            success_weight: 0.0,
            total_weight: 0.0,
            consecutive_failures: 0,
            consecutive_successes: 0,
            probation: false,
            at_ms,
        }
    }

    /// The share of (decayed) probes that succeeded, `None` before any.
    pub fn score(&self) -> Option<f64> {
        ratio(self.success_weight, self.total_weight)
    }

    /// The state after one more outcome at `now_ms`.
    pub fn record(&self, success: bool, now_ms: i64, policy: &Policy) -> Self {
        let kept = decay(now_ms.saturating_sub(self.at_ms), policy.half_life_ms);
        let success_weight = self.success_weight * kept + if success { 1.0 } else { 0.0 };
        // Rounding can leave the success sum a hair above the total; the
        // score must stay a share.
        let total_weight = (self.total_weight * kept + 1.0).max(success_weight);
        let (consecutive_successes, consecutive_failures) = if success {
            (self.consecutive_successes.saturating_add(1), 0)
        } else {
            (0, self.consecutive_failures.saturating_add(1))
        };
        let probation = if self.probation {
            consecutive_successes < policy.probation_exit_successes.max(1)
        } else {
            consecutive_failures >= policy.probation_after_failures.max(1)
        };
        Self {
            success_weight,
            total_weight,
            consecutive_failures,
            consecutive_successes,
            probation,
            at_ms: now_ms.max(self.at_ms),
        }
    }
}

/// The share of weight an outcome keeps after `elapsed_ms`: 2^(−elapsed /
/// half-life). Time running backwards (a clock step) decays nothing.
pub fn decay(elapsed_ms: i64, half_life_ms: u64) -> f64 {
    if elapsed_ms <= 0 {
        return 1.0;
    }
    let half_lives = elapsed_ms as f64 / half_life_ms.max(1) as f64;
    (-half_lives).exp2()
}

fn ratio(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0 && part.is_finite() && whole.is_finite()).then(|| (part / whole).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const HOUR: u64 = 3_600_000;

    fn policy() -> Policy {
        Policy { half_life_ms: HOUR, probation_after_failures: 3, probation_exit_successes: 2 }
    }

    fn run(outcomes: &[bool], step_ms: i64) -> Reputation {
        let mut reputation = Reputation::new(0);
        for (i, success) in outcomes.iter().enumerate() {
            reputation = reputation.record(*success, (i as i64 + 1) * step_ms, &policy());
        }
        reputation
    }

    #[test]
    fn no_score_before_the_first_probe() {
        assert_eq!(Reputation::new(0).score(), None);
        assert_eq!(run(&[true], 1).score(), Some(1.0));
        assert_eq!(run(&[false], 1).score(), Some(0.0));
    }

    #[test]
    fn an_outcome_one_half_life_old_weighs_half() {
        assert!((decay(HOUR as i64, HOUR) - 0.5).abs() < 1e-12);
        assert!((decay(3 * HOUR as i64, HOUR) - 0.125).abs() < 1e-12);
        assert_eq!(decay(-5, HOUR), 1.0, "a clock step back decays nothing");
        // A failure, then a success one half-life later: (0·½ + 1) / (1·½ + 1).
        let failed = Reputation::new(0).record(false, 0, &policy());
        let recovered = failed.record(true, HOUR as i64, &policy());
        assert!((recovered.score().unwrap() - 1.0 / 1.5).abs() < 1e-12);
    }

    #[test]
    fn old_failures_fade_faster_with_a_shorter_half_life() {
        let short = Policy { half_life_ms: 1_000, ..policy() };
        let failed = Reputation::new(0).record(false, 0, &short);
        let later = failed.record(true, 10_000, &short);
        assert!(later.score().unwrap() > 0.999, "ten half-lives on, the failure is nearly gone");
        let failed = Reputation::new(0).record(false, 0, &policy());
        let later = failed.record(true, 10_000, &policy());
        assert!(later.score().unwrap() < 0.51, "ten seconds into an hour's half-life it is not");
    }

    #[test]
    fn probation_starts_after_n_failures_and_ends_after_m_successes() {
        let two = run(&[false, false], 1_000);
        assert!(!two.probation);
        let three = run(&[false, false, false], 1_000);
        assert!(three.probation);
        let one_back = three.record(true, 10_000, &policy());
        assert!(one_back.probation, "one success is not enough");
        let relapse = one_back.record(false, 11_000, &policy());
        assert!(relapse.probation, "a failure on probation keeps it there");
        let back = relapse.record(true, 12_000, &policy()).record(true, 13_000, &policy());
        assert!(!back.probation, "two successes in a row end it");
        assert_eq!(back.consecutive_successes, 2);
        let interrupted = run(&[false, false, true, false, false], 1_000);
        assert!(!interrupted.probation, "failures must be consecutive");
    }

    fn outcomes() -> impl Strategy<Value = Vec<(bool, u32)>> {
        prop::collection::vec((any::<bool>(), 0u32..10_000_000), 1..60)
    }

    proptest! {
        #[test]
        fn the_score_stays_a_share(steps in outcomes(), half_life in 1u64..100_000_000) {
            let policy = Policy { half_life_ms: half_life, ..policy() };
            let mut reputation = Reputation::new(0);
            let mut now = 0i64;
            for (success, step) in steps {
                now += i64::from(step);
                reputation = reputation.record(success, now, &policy);
                let score = reputation.score().unwrap();
                prop_assert!((0.0..=1.0).contains(&score), "score {score}");
                prop_assert!(reputation.success_weight <= reputation.total_weight);
            }
        }

        #[test]
        fn each_outcome_moves_the_score_towards_itself(
            steps in outcomes(),
            success in any::<bool>(),
            step in 0u32..10_000_000,
        ) {
            let mut reputation = Reputation::new(0);
            let mut now = 0i64;
            for (s, dt) in steps {
                now += i64::from(dt);
                reputation = reputation.record(s, now, &policy());
            }
            let target = if success { 1.0 } else { 0.0 };
            let before = reputation.score().unwrap();
            let after = reputation.record(success, now + i64::from(step), &policy()).score().unwrap();
            prop_assert!((after - target).abs() <= (before - target).abs() + 1e-12,
                "{before} → {after} after a {success} outcome");
        }

        #[test]
        fn probation_follows_the_runs(steps in prop::collection::vec(any::<bool>(), 1..80)) {
            let policy = policy();
            let mut reputation = Reputation::new(0);
            for (i, success) in steps.iter().enumerate() {
                let was = reputation.probation;
                reputation = reputation.record(*success, i as i64, &policy);
                if !was && reputation.probation {
                    prop_assert!(reputation.consecutive_failures >= policy.probation_after_failures);
                }
                if was && !reputation.probation {
                    prop_assert!(reputation.consecutive_successes >= policy.probation_exit_successes);
                }
                if reputation.consecutive_failures >= policy.probation_after_failures {
                    prop_assert!(reputation.probation);
                }
            }
        }
    }
}
