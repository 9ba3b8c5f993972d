//! How measured health turns into ranking factors: pure functions over the
//! store's rows, so discovery and the gateway weigh endpoints alike.

use cairn_store::EndpointHealth;

/// Health factor of an endpoint nobody has probed.
pub const UNKNOWN_HEALTH_FACTOR: f64 = 0.5;
/// Health factor of an endpoint whose last probe failed: above zero, so
/// stake still orders failing endpoints among themselves.
pub const FAILING_HEALTH_FACTOR: f64 = 0.05;
/// Each slash halves a provider's reputation factor.
pub const REPUTATION_PER_SLASH: f64 = 0.5;
/// Each recent evidence record against a provider's operator (a signed
/// answer the gateway proved wrong) halves it too: the lie is proven as
/// soon as it is recorded, long before any slash it leads to.
pub const REPUTATION_PER_EVIDENCE: f64 = 0.5;
/// Blocks of tip lag that halve the health factor.
pub const LAG_HALVING_BLOCKS: f64 = 4.0;
/// Milliseconds of latency that halve the health factor.
pub const LATENCY_HALVING_MS: f64 = 1_000.0;

/// What was measured, for `why`.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub verified: Option<bool>,
    pub latency_ms: Option<u64>,
    pub tip: Option<u64>,
    pub tip_lag: Option<u64>,
    pub success_ratio: f64,
    pub probes: u64,
    pub probation: bool,
    /// `kind: message` of the last probe, when it failed.
    pub last_error: Option<String>,
    /// Unix milliseconds.
    pub last_probe_at: i64,
}

/// The factors an endpoint ranks by.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// `unknown`, `healthy`, `lagging` or `failing`.
    pub health: &'static str,
    pub health_factor: f64,
    /// Reputation score (the decayed success ratio; 1 before any probe)
    /// halved per slash and per recent evidence record.
    pub reputation_factor: f64,
    /// Recent evidence records against the provider's operator.
    pub evidence: u64,
    /// Ranked after every endpoint that is not.
    pub probation: bool,
    pub measured: Option<Measured>,
    /// A phrase for the summary line.
    pub summary: String,
}

impl Assessment {
    /// What to weigh the endpoint by when choosing among a chain's
    /// endpoints (a router's weight; discovery multiplies in the stake
    /// share too): zero on probation, so it is tried only when nothing
    /// else is left.
    pub fn weight(&self) -> f64 {
        if self.probation { 0.0 } else { self.health_factor * self.reputation_factor }
    }
}

/// Ranking factors of an endpoint with `health` (none before its first
/// probe) whose provider was slashed `slashes` times.
pub fn assess(health: Option<&EndpointHealth>, slashes: u64) -> Assessment {
    assess_with_evidence(health, slashes, 0)
}

/// As [`assess`], for a provider whose operator also has `evidence`
/// records against it within the window the caller counts over.
pub fn assess_with_evidence(
    health: Option<&EndpointHealth>,
    slashes: u64,
    evidence: u64,
) -> Assessment {
    let mut assessment = assess_measured(health, slashes);
    if evidence > 0 {
        let factor = REPUTATION_PER_EVIDENCE.powi(i32::try_from(evidence).unwrap_or(i32::MAX));
        assessment.reputation_factor *= factor;
        assessment.evidence = evidence;
        let records = if evidence == 1 { "record" } else { "records" };
        assessment.summary.push_str(&format!(
            "; {evidence} recent evidence {records} against its operator (reputation ×{factor})"
        ));
    }
    assessment
}

fn assess_measured(health: Option<&EndpointHealth>, slashes: u64) -> Assessment {
    let slashed = REPUTATION_PER_SLASH.powi(i32::try_from(slashes).unwrap_or(i32::MAX));
    let Some(health) = health else {
        return Assessment {
            health: "unknown",
            health_factor: UNKNOWN_HEALTH_FACTOR,
            reputation_factor: slashed,
            evidence: 0,
            probation: false,
            measured: None,
            summary: "health unknown (not probed yet)".to_owned(),
        };
    };
    let success_ratio = if health.total_weight > 0.0 {
        (health.success_weight / health.total_weight).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let failed = health.last_error_kind.is_some();
    let lag = health.tip_lag.unwrap_or(0);
    let (label, health_factor) = if failed {
        ("failing", FAILING_HEALTH_FACTOR)
    } else {
        let lag_factor = 1.0 / (1.0 + lag as f64 / LAG_HALVING_BLOCKS);
        let latency = health.latency_ms.unwrap_or(0) as f64;
        let latency_factor = 1.0 / (1.0 + latency / LATENCY_HALVING_MS);
        (if lag > 2 { "lagging" } else { "healthy" }, lag_factor * latency_factor)
    };
    let last_error = health
        .last_error_kind
        .as_ref()
        .map(|kind| format!("{kind}: {}", health.last_error.as_deref().unwrap_or_default()));
    let mut summary = match &last_error {
        Some(error) => format!("failing ({error})"),
        None => {
            let latency = health.latency_ms.map_or_else(|| "?".to_owned(), |ms| format!("{ms} ms"));
            let tip = health.tip.map_or_else(|| "?".to_owned(), |t| t.to_string());
            format!("{label}: {latency}, tip {tip} (lag {lag})")
        }
    };
    summary.push_str(match health.verified {
        Some(true) => ", answers signed by the operator",
        Some(false) => ", answers not verified",
        None => ", answers unsigned",
    });
    summary.push_str(&format!(
        "; {} of {} probes ok, score {:.2}",
        health.successes, health.probes, success_ratio
    ));
    if health.probation {
        summary.push_str("; on probation (ranked last)");
    }
    Assessment {
        health: label,
        health_factor,
        reputation_factor: success_ratio * slashed,
        evidence: 0,
        probation: health.probation,
        measured: Some(Measured {
            verified: health.verified,
            latency_ms: health.latency_ms,
            tip: health.tip,
            tip_lag: health.tip_lag,
            success_ratio,
            probes: health.probes,
            probation: health.probation,
            last_error,
            last_probe_at: health.last_probe_at,
        }),
        summary,
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::B256;

    use super::*;

    fn row() -> EndpointHealth {
        EndpointHealth {
            chain: "eip155:31337".into(),
            service_id: B256::ZERO,
            service_chain: "eip155:1".into(),
            provider: "0x01".into(),
            url: "http://127.0.0.1:1".into(),
            probes: 4,
            successes: 4,
            consecutive_failures: 0,
            consecutive_successes: 4,
            success_weight: 4.0,
            total_weight: 4.0,
            probation: false,
            verified: Some(true),
            latency_ms: Some(0),
            tip: Some(10),
            tip_hash: Some(B256::ZERO),
            tip_lag: Some(0),
            last_error_kind: None,
            last_error: None,
            last_probe_at: 1,
            last_success_at: Some(1),
        }
    }

    #[test]
    fn unprobed_endpoints_keep_the_old_factors() {
        let unknown = assess(None, 1);
        assert_eq!((unknown.health, unknown.health_factor), ("unknown", 0.5));
        assert_eq!(unknown.reputation_factor, 0.5);
        assert!(unknown.summary.contains("health unknown"));
        assert_eq!(unknown.measured, None);
    }

    #[test]
    fn a_healthy_endpoint_beats_a_lagging_slow_or_failing_one() {
        let healthy = assess(Some(&row()), 0);
        assert_eq!(
            (healthy.health, healthy.health_factor, healthy.reputation_factor),
            ("healthy", 1.0, 1.0)
        );
        let lagging = assess(Some(&EndpointHealth { tip_lag: Some(4), ..row() }), 0);
        assert_eq!((lagging.health, lagging.health_factor), ("lagging", 0.5));
        let slow = assess(Some(&EndpointHealth { latency_ms: Some(1_000), ..row() }), 0);
        assert_eq!(slow.health_factor, 0.5);
        let failing = assess(
            Some(&EndpointHealth {
                last_error_kind: Some("connect".into()),
                last_error: Some("refused".into()),
                success_weight: 3.0,
                ..row()
            }),
            0,
        );
        assert_eq!((failing.health, failing.health_factor), ("failing", FAILING_HEALTH_FACTOR));
        assert_eq!(failing.reputation_factor, 0.75);
        let measured = failing.measured.unwrap();
        assert_eq!(measured.last_error.as_deref(), Some("connect: refused"));
        assert!(failing.summary.contains("failing (connect: refused)"), "{}", failing.summary);
    }

    #[test]
    fn slashes_halve_the_measured_reputation() {
        let once = assess(Some(&EndpointHealth { success_weight: 2.0, ..row() }), 1);
        assert_eq!(once.reputation_factor, 0.25);
    }

    #[test]
    fn recent_evidence_lowers_the_reputation_and_says_so() {
        let clean = assess_with_evidence(Some(&row()), 0, 0);
        assert_eq!(clean, assess(Some(&row()), 0), "no evidence changes nothing");
        assert!(!clean.summary.contains("evidence"), "{}", clean.summary);
        let once = assess_with_evidence(Some(&row()), 0, 1);
        assert_eq!((once.reputation_factor, once.evidence), (0.5, 1));
        assert!(
            once.summary.contains("1 recent evidence record against its operator"),
            "{}",
            once.summary
        );
        assert_eq!(once.weight(), 0.5);
        // With a slash, both count; unprobed endpoints are lowered too.
        let both = assess_with_evidence(Some(&row()), 1, 2);
        assert_eq!(both.reputation_factor, 0.125);
        assert!(both.summary.contains("2 recent evidence records"), "{}", both.summary);
        let unknown = assess_with_evidence(None, 0, 1);
        assert_eq!(unknown.reputation_factor, 0.5);
        assert!(unknown.weight() < assess(None, 0).weight());
        // However many, it stays a factor in [0, 1].
        let many = assess_with_evidence(Some(&row()), 0, u64::MAX);
        assert!((0.0..=1.0).contains(&many.reputation_factor));
    }

    #[test]
    fn probation_is_reported() {
        let on = assess(Some(&EndpointHealth { probation: true, ..row() }), 0);
        assert_eq!(on.weight(), 0.0);
        assert_eq!(assess(Some(&row()), 0).weight(), 1.0);
        assert_eq!(assess(None, 0).weight(), 0.5);
        assert!(on.probation && on.measured.unwrap().probation);
        assert!(on.summary.contains("probation"));
    }
}
