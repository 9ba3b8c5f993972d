#![doc = include_str!("../README.md")]

pub mod cross_check;
pub mod probe;
pub mod rank;
pub mod reputation;

use std::{
    collections::{BTreeMap, HashMap},
    hash::{BuildHasher, RandomState},
    sync::Arc,
    time::Duration,
};

use alloy_primitives::{Address, U256};
use cairn_config::ProberConfig;
use cairn_core::ChainId;
use cairn_store::{EndpointHealth, Store, StoreError};

pub use probe::{Client, ErrorKind, Observed, ProbeFailure, Probed, Protocol, Target};
pub use rank::{Assessment, Measured, assess, assess_with_evidence};
pub use reputation::{Policy, Reputation};

/// Endpoint kinds that speak JSON-RPC and are probed; others are left
/// `unknown`.
pub const PROBED_KINDS: &[&str] = &["rpc", "archive"];

#[derive(Debug, thiserror::Error)]
pub enum ProberError {
    #[error("prober.{key} must be at least {min}")]
    Setting { key: &'static str, min: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A registry whose endpoints are probed: its chain and the stake below
/// which a provider is not served (and so not probed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub chain: String,
    pub min_stake: U256,
}

/// The prober's settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub interval: Duration,
    pub jitter: Duration,
    pub timeout: Duration,
    pub policy: Policy,
    pub cross_check_depth: u64,
    pub max_concurrency: usize,
}

impl Settings {
    pub fn from_config(config: &ProberConfig) -> Result<Self, ProberError> {
        let at_least = |key: &'static str, value: u64, min: u64| {
            if value < min { Err(ProberError::Setting { key, min }) } else { Ok(value) }
        };
        Ok(Self {
            interval: Duration::from_millis(at_least("interval_ms", config.interval_ms, 1)?),
            jitter: Duration::from_millis(config.jitter_ms),
            timeout: Duration::from_millis(at_least("timeout_ms", config.timeout_ms, 1)?),
            policy: Policy {
                half_life_ms: at_least("half_life_secs", config.half_life_secs, 1)?
                    .saturating_mul(1_000),
                probation_after_failures: at_least(
                    "probation_after_failures",
                    config.probation_after_failures,
                    1,
                )?,
                probation_exit_successes: at_least(
                    "probation_exit_successes",
                    config.probation_exit_successes,
                    1,
                )?,
            },
            cross_check_depth: config.cross_check_depth,
            max_concurrency: usize::try_from(at_least(
                "max_concurrency",
                config.max_concurrency as u64,
                1,
            )?)
            .unwrap_or(usize::MAX),
        })
    }
}

/// Probes every active endpoint of its registries and records what it saw.
#[derive(Debug, Clone)]
pub struct Prober {
    store: Store,
    registries: Vec<Registry>,
    settings: Settings,
    client: Client,
}

/// One endpoint's probe in a round, as recorded.
#[derive(Debug, Clone)]
pub struct RoundEntry {
    pub target: Target,
    pub probed: Probed,
    pub health: EndpointHealth,
}

impl Prober {
    pub fn new(store: Store, registries: Vec<Registry>, settings: Settings) -> Self {
        let client = Client::new(settings.timeout);
        Self { store, registries, settings, client }
    }

    /// The endpoints a round probes: http(s) JSON-RPC endpoints on EVM
    /// chains and Solana clusters, of providers at or above their
    /// registry's minimum stake.
    pub async fn targets(&self) -> Result<Vec<Target>, ProberError> {
        let mut targets = Vec::new();
        for registry in &self.registries {
            let operators: HashMap<String, Address> = self
                .store
                .providers(&registry.chain)
                .await?
                .into_iter()
                .filter(|p| !p.stake.is_zero() && p.stake >= registry.min_stake)
                .filter_map(|p| Some((p.provider, p.operator.parse().ok()?)))
                .collect();
            for service in self.store.services(&registry.chain).await? {
                let Some(operator) = operators.get(&service.provider) else { continue };
                let Ok(chain) = service.service_chain.parse::<ChainId>() else { continue };
                let http =
                    service.url.starts_with("http://") || service.url.starts_with("https://");
                if chain.evm_chain_id().is_none()
                    || !http
                    || !PROBED_KINDS.contains(&service.kind.as_str())
                {
                    continue;
                }
                targets.push(Target {
                    registry_chain: registry.chain.clone(),
                    service_id: service.service_id,
                    chain,
                    provider: service.provider,
                    operator: *operator,
                    url: service.url,
                });
            }
        }
        Ok(targets)
    }

    /// Probes every target once (each after its jitter), cross-checks each
    /// chain's block hashes, and records the results; returns them.
    pub async fn round(&self) -> Result<Vec<RoundEntry>, ProberError> {
        let targets = self.targets().await?;
        let limit = Arc::new(tokio::sync::Semaphore::new(self.settings.max_concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, target) in targets.into_iter().enumerate() {
            let (client, limit, jitter) =
                (self.client.clone(), limit.clone(), jitter_delay(self.settings.jitter));
            tasks.spawn(async move {
                tokio::time::sleep(jitter).await;
                let _permit = limit.acquire_owned().await;
                let probed = client.probe(&target).await;
                (index, target, probed)
            });
        }
        let mut probed = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(entry) => probed.push(entry),
                Err(error) => tracing::warn!(%error, "a probe task failed"),
            }
        }
        probed.sort_by_key(|(index, _, _)| *index);
        let mut probed: Vec<(Target, Probed)> =
            probed.into_iter().map(|(_, t, p)| (t, p)).collect();
        let seen = best_tips(&probed);
        self.cross_check(&mut probed, &seen).await;
        // Lag is measured against the tips that survived the cross-check,
        // so an endpoint caught on another fork cannot set everyone's lag.
        let best = best_tips(&probed);
        let now = now_ms();
        let mut entries = Vec::with_capacity(probed.len());
        for (target, result) in probed {
            let best_tip = best.get(&target.chain.to_string()).copied();
            let policy = self.settings.policy;
            let health = self
                .store
                .update_health(&target.registry_chain, &target.service_id, |old| {
                    next_health(old, &target, &result, best_tip, now, &policy)
                })
                .await?;
            entries.push(RoundEntry { target, probed: result, health });
        }
        Ok(entries)
    }

    /// Rounds every `interval` until `shutdown` resolves. A round that fails
    /// (the store away) is logged and the next one tries again.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                result = self.round() => match result {
                    Ok(entries) => {
                        let failed = entries.iter().filter(|e| e.probed.outcome.is_err()).count();
                        tracing::debug!(probed = entries.len(), failed, "probe round done");
                    }
                    Err(error) => tracing::warn!(%error, "probe round failed"),
                },
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = tokio::time::sleep(self.settings.interval) => {}
            }
        }
    }

    /// Asks every endpoint that answered for the hash at one recent height
    /// of its chain and turns a disagreement with the majority into a
    /// `hash_mismatch` failure.
    async fn cross_check(&self, probed: &mut [(Target, Probed)], best: &BTreeMap<String, u64>) {
        for (chain, tip) in best {
            let height = cross_check::height(*tip, self.settings.cross_check_depth);
            let asked: Vec<usize> = probed
                .iter()
                .enumerate()
                .filter(|(_, (t, p))| {
                    t.chain.to_string() == *chain
                        && p.outcome.as_ref().is_ok_and(|seen| seen.tip >= height)
                })
                .map(|(i, _)| i)
                .collect();
            if asked.len() < 3 {
                // Two cannot outvote each other.
                continue;
            }
            let mut tasks = tokio::task::JoinSet::new();
            for i in &asked {
                let (client, target, i) = (self.client.clone(), probed[*i].0.clone(), *i);
                tasks.spawn(async move { (i, client.block_hash(&target, height).await) });
            }
            let mut answers = Vec::new();
            while let Some(Ok((i, hash))) = tasks.join_next().await {
                if let Ok(hash) = hash {
                    answers.push((i, hash));
                }
            }
            answers.sort_by_key(|(i, _)| *i);
            if let Some((agreed, dissenters)) = cross_check::dissenters(&answers) {
                for i in dissenters {
                    let theirs = answers.iter().find(|(j, _)| *j == i).map(|(_, h)| *h);
                    let message = format!(
                        "block {height} has hash {} here, {agreed} at the majority of {} endpoints",
                        theirs.unwrap_or_default(),
                        answers.len()
                    );
                    probed[i].1.outcome = Err(ProbeFailure::new(ErrorKind::HashMismatch, message));
                }
            }
        }
    }
}

/// The highest tip seen per served chain (CAIP-2) among successful probes.
fn best_tips(probed: &[(Target, Probed)]) -> BTreeMap<String, u64> {
    let mut best: BTreeMap<String, u64> = BTreeMap::new();
    for (target, result) in probed {
        if let Ok(seen) = &result.outcome {
            let entry = best.entry(target.chain.to_string()).or_default();
            *entry = (*entry).max(seen.tip);
        }
    }
    best
}

/// The endpoint's next row after `probed`: the reputation moved by the
/// outcome, the figures those of this probe.
pub fn next_health(
    old: Option<EndpointHealth>,
    target: &Target,
    probed: &Probed,
    best_tip: Option<u64>,
    now_ms: i64,
    policy: &Policy,
) -> EndpointHealth {
    let reputation = old.as_ref().map_or_else(
        || Reputation::new(now_ms),
        |old| Reputation {
            success_weight: old.success_weight,
            total_weight: old.total_weight,
            consecutive_failures: old.consecutive_failures,
            consecutive_successes: old.consecutive_successes,
            probation: old.probation,
            at_ms: old.last_probe_at,
        },
    );
    let success = probed.outcome.is_ok();
    let next = reputation.record(success, now_ms, policy);
    let (probes, successes) = old.as_ref().map_or((0, 0), |o| (o.probes, o.successes));
    let seen = probed.outcome.as_ref().ok();
    let failure = probed.outcome.as_ref().err();
    EndpointHealth {
        chain: target.registry_chain.clone(),
        service_id: target.service_id,
        service_chain: target.chain.to_string(),
        provider: target.provider.clone(),
        url: target.url.clone(),
        probes: probes.saturating_add(1),
        successes: successes.saturating_add(u64::from(success)),
        consecutive_failures: next.consecutive_failures,
        consecutive_successes: next.consecutive_successes,
        success_weight: next.success_weight,
        total_weight: next.total_weight,
        probation: next.probation,
        verified: probed.verified,
        latency_ms: probed.latency_ms,
        tip: seen.map(|s| s.tip),
        tip_hash: seen.map(|s| s.tip_hash),
        tip_lag: seen.and_then(|s| best_tip.map(|best| best.saturating_sub(s.tip))),
        last_error_kind: failure.map(|f| f.kind.as_str().to_owned()),
        last_error: failure.map(|f| f.message.clone()),
        last_probe_at: now_ms,
        last_success_at: if success {
            Some(now_ms)
        } else {
            old.as_ref().and_then(|o| o.last_success_at)
        },
    }
}

/// A random delay from zero to `max`.
fn jitter_delay(max: Duration) -> Duration {
    let max = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    if max == 0 {
        return Duration::ZERO;
    }
    // A fresh randomly keyed hasher gives a random number without a
    // dependency for it; spreading probes needs no better randomness.
    let random = RandomState::new().hash_one(std::time::Instant::now());
    Duration::from_millis(random % max.saturating_add(1))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_bound_and_varies() {
        assert_eq!(jitter_delay(Duration::ZERO), Duration::ZERO);
        let max = Duration::from_millis(1_000);
        let delays: std::collections::BTreeSet<Duration> =
            (0..200).map(|_| jitter_delay(max)).collect();
        assert!(delays.iter().all(|d| *d <= max));
        assert!(delays.len() > 100, "200 draws gave {} distinct delays", delays.len());
    }
}
