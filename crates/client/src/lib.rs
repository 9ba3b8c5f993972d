#![doc = include_str!("../README.md")]

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolEvent,
};
use cairn_bindings::Registry;
use serde::Deserialize;
use url::Url;

mod transport;
mod usage;

pub use transport::{CairnTransport, Route, StickyTransport};
pub use usage::{
    ClassUsage, PartialPayment, PayUsageError, ProviderUsage, SettlementDomain, Usage, UsagePayment,
};

/// Blocks asked of `eth_getLogs` at a time on the on-chain path.
const LOG_RANGE: u64 = 10_000;
const PAGE: usize = 200;

/// Where an answer came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A Cairn service, by base URL.
    Service(Url),
    /// The registry contract, read through an RPC endpoint.
    Registry { rpc: Url, registry: Address },
}

/// One endpoint, as ranked by its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub url: String,
    /// CAIP-2 chain the endpoint serves.
    pub chain: String,
    pub kind: String,
    /// CAIP-10 id of the provider (registry chain and address).
    pub provider: String,
    pub rank: usize,
    /// The source's score; on the on-chain path, the provider's stake share.
    pub score: f64,
    /// Why it ranks there, in words.
    pub why: String,
}

/// A resolution and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub endpoints: Vec<Endpoint>,
    pub source: Source,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("no Cairn service and no on-chain registry configured to resolve from")]
    NothingConfigured,
    #[error("every source failed: {}", .0.join("; "))]
    AllSourcesFailed(Vec<String>),
}

#[derive(Debug, Clone)]
struct OnChain {
    rpc: Url,
    registry: Address,
    start_block: u64,
}

#[derive(Debug, Clone)]
pub struct ClientBuilder {
    services: Vec<Url>,
    on_chain: Option<OnChain>,
    ttl: Duration,
    timeout: Duration,
}

impl ClientBuilder {
    /// Adds a Cairn service (base URL) to ask, after those added before.
    pub fn service(mut self, base: Url) -> Self {
        self.services.push(base);
        self
    }

    pub fn services(mut self, bases: impl IntoIterator<Item = Url>) -> Self {
        self.services.extend(bases);
        self
    }

    /// Reads the registry at `registry` through `rpc` when no service
    /// answers; its events are read from `start_block` on.
    pub fn registry_fallback(mut self, rpc: Url, registry: Address, start_block: u64) -> Self {
        self.on_chain = Some(OnChain { rpc, registry, start_block });
        self
    }

    /// How long an answer is reused (default 30 s).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Upper bound on one service request (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn build(self) -> Client {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Client {
            services: self.services,
            on_chain: self.on_chain,
            ttl: self.ttl,
            http,
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

type CacheKey = (String, String);

/// Resolves endpoints; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Client {
    services: Vec<Url>,
    on_chain: Option<OnChain>,
    ttl: Duration,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<HashMap<CacheKey, (Instant, Arc<Resolved>)>>,
}

#[derive(Debug, Deserialize)]
struct ServicePage {
    items: Vec<ServiceItem>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ServiceItem {
    rank: usize,
    chain: String,
    kind: String,
    url: String,
    provider: String,
    why: Why,
}

#[derive(Debug, Deserialize)]
struct Why {
    score: f64,
    summary: String,
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            services: Vec::new(),
            on_chain: None,
            ttl: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }

    /// The endpoints serving `chain` (CAIP-2) of `kind`, best first.
    pub async fn resolve(&self, chain: &str, kind: &str) -> Result<Vec<Endpoint>, ClientError> {
        Ok(self.resolve_with_source(chain, kind).await?.endpoints.clone())
    }

    /// As [`Client::resolve`], saying which source answered.
    pub async fn resolve_with_source(
        &self,
        chain: &str,
        kind: &str,
    ) -> Result<Arc<Resolved>, ClientError> {
        let key = (chain.to_owned(), kind.to_owned());
        if let Some((at, resolved)) = self.cache.lock().await.get(&key)
            && at.elapsed() < self.ttl
        {
            return Ok(resolved.clone());
        }
        if self.services.is_empty() && self.on_chain.is_none() {
            return Err(ClientError::NothingConfigured);
        }
        let mut failures = Vec::new();
        let mut resolved = None;
        for base in &self.services {
            match self.ask_service(base, chain, kind).await {
                Ok(endpoints) => {
                    resolved = Some(Resolved { endpoints, source: Source::Service(base.clone()) });
                    break;
                }
                Err(message) => failures.push(format!("{base}: {message}")),
            }
        }
        if resolved.is_none()
            && let Some(on_chain) = &self.on_chain
        {
            match read_registry(on_chain, chain, kind).await {
                Ok(endpoints) => {
                    resolved = Some(Resolved {
                        endpoints,
                        source: Source::Registry {
                            rpc: on_chain.rpc.clone(),
                            registry: on_chain.registry,
                        },
                    });
                }
                Err(message) => failures.push(format!("registry via {}: {message}", on_chain.rpc)),
            }
        }
        let resolved = Arc::new(resolved.ok_or(ClientError::AllSourcesFailed(failures))?);
        self.cache.lock().await.insert(key, (Instant::now(), resolved.clone()));
        Ok(resolved)
    }

    async fn ask_service(
        &self,
        base: &Url,
        chain: &str,
        kind: &str,
    ) -> Result<Vec<Endpoint>, String> {
        let mut endpoints = Vec::new();
        let mut cursor: Option<String> = None;
        // A server that hands out a cursor it handed out before (or an empty
        // one) would keep the loop going for ever; that source has failed.
        let mut seen_cursors = std::collections::HashSet::new();
        loop {
            let mut url = base.join("v1/services").map_err(|e| e.to_string())?;
            url.query_pairs_mut()
                .append_pair("chain", chain)
                .append_pair("kind", kind)
                .append_pair("limit", &PAGE.to_string());
            if let Some(cursor) = &cursor {
                url.query_pairs_mut().append_pair("cursor", cursor);
            }
            let response = self.http.get(url).send().await.map_err(|e| e.to_string())?;
            let status = response.status();
            if !status.is_success() {
                let body = response.text().await.unwrap_or_default();
                return Err(format!(
                    "HTTP {status}: {}",
                    body.chars().take(200).collect::<String>()
                ));
            }
            let page: ServicePage = response.json().await.map_err(|e| e.to_string())?;
            endpoints.extend(page.items.into_iter().map(|item| Endpoint {
                url: item.url,
                chain: item.chain,
                kind: item.kind,
                provider: item.provider,
                rank: item.rank,
                score: item.why.score,
                why: item.why.summary,
            }));
            match page.next_cursor {
                Some(next) if next.is_empty() => {
                    return Err("the service answered with an empty page cursor".to_owned());
                }
                Some(next) if !seen_cursors.insert(next.clone()) => {
                    return Err(format!("the service repeated page cursor `{next}`"));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(endpoints),
            }
        }
    }
}

/// The trustless path: the registry's own records, ranked by stake.
async fn read_registry(
    on_chain: &OnChain,
    chain: &str,
    kind: &str,
) -> Result<Vec<Endpoint>, String> {
    let rpc: DynProvider = ProviderBuilder::new().connect_http(on_chain.rpc.clone()).erased();
    let registry_chain = rpc.get_chain_id().await.map_err(|e| e.to_string())?;
    let head = rpc.get_block_number().await.map_err(|e| e.to_string())?;
    let registry = Registry::new(on_chain.registry, &rpc);
    let min_stake = U256::from(registry.minStake().call().await.map_err(|e| e.to_string())?);

    let mut candidates = Vec::new();
    let mut from = on_chain.start_block;
    while from <= head {
        let to = head.min(from + LOG_RANGE - 1);
        let filter = Filter::new()
            .address(on_chain.registry)
            .event_signature(Registry::ServiceAdded::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        for log in rpc.get_logs(&filter).await.map_err(|e| e.to_string())? {
            let added =
                Registry::ServiceAdded::decode_log(&log.inner).map_err(|e| e.to_string())?;
            if added.chain == chain && added.kind == kind {
                candidates.push(added.serviceId);
            }
        }
        from = to + 1;
    }

    // An event says an endpoint was added; the current record says whether
    // it still is, and the provider's record says what backs it.
    let mut live = Vec::new();
    for id in candidates {
        let service = registry.serviceOf(id).call().await.map_err(|e| e.to_string())?;
        if service.provider == Address::ZERO {
            continue;
        }
        let provider =
            registry.providerOf(service.provider).call().await.map_err(|e| e.to_string())?;
        let stake = U256::from(provider.stake);
        if !provider.registered || stake < min_stake || stake.is_zero() {
            continue;
        }
        live.push((service.url, service.provider, stake));
    }
    // A provider's stake counts once, however many endpoints it lists.
    let stakes: std::collections::BTreeMap<Address, U256> =
        live.iter().map(|l| (l.1, l.2)).collect();
    let total = stakes.values().fold(U256::ZERO, |sum, stake| sum + stake);
    live.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Ok(live
        .into_iter()
        .enumerate()
        .map(|(i, (url, provider, stake))| {
            let share = cairn_core::ratio(stake, total);
            Endpoint {
                url,
                chain: chain.to_owned(),
                kind: kind.to_owned(),
                provider: format!("eip155:{registry_chain}:{}", provider.to_checksum(None)),
                rank: i + 1,
                score: share,
                why: format!(
                    "{:.1}% of the stake behind these endpoints (read from the registry; no health data)",
                    share * 100.0
                ),
            }
        })
        .collect())
}
