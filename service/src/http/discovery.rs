//! Discovery: chains, providers and endpoints ranked by stake, health and
//! reputation, answered from an in-memory snapshot of the store that is at
//! most `service.discovery_cache_ms` old.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use alloy::primitives::{Address, U256};
use axum::{
    Json,
    extract::{Path, State},
    response::IntoResponse,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use cairn_store::{EndpointHealth, ProviderMetadata, ProviderRow, ServiceRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    extract::ApiQuery,
    now,
    problem::{ApiError, Problem},
};

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 200;

/// Where a record was written on chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct OnChainRef {
    /// CAIP-2 chain of the registry.
    pub chain: String,
    pub contract: String,
    pub tx_hash: String,
    pub block: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Metadata {
    pub region: Option<String>,
    pub description: Option<String>,
    pub contact: Option<String>,
    /// Unix seconds.
    pub updated_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ProviderView {
    /// CAIP-10 id: registry chain and provider address.
    pub id: String,
    pub chain: String,
    pub address: String,
    pub operator: String,
    /// Bonded stake, decimal, in the stake token's smallest unit.
    pub stake: String,
    pub unbonding: String,
    /// `active` (stake at or above the registry minimum), `below_minimum`.
    pub status: String,
    pub slashes: u64,
    pub slashed_total: String,
    pub services: usize,
    pub metadata: Option<Metadata>,
    pub registered: OnChainRef,
}

/// Why an endpoint ranks where it does.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RankReason {
    pub stake: String,
    /// The provider's share of the stake behind the endpoints of this
    /// chain and kind.
    pub stake_share: f64,
    /// `unknown` until the endpoint has been probed, then `healthy`,
    /// `lagging` or `failing` (its last probe failed).
    pub health: String,
    pub health_factor: f64,
    pub slashes: u64,
    /// Evidence records against the provider's operator recorded within
    /// `service.evidence_window_secs`.
    #[serde(default)]
    pub evidence: u64,
    /// The endpoint's reputation score (decayed share of successful
    /// probes; 1 before any) halved per slash of its provider and per
    /// recent evidence record against its operator.
    pub reputation_factor: f64,
    /// `stake_share × health_factor × reputation_factor`; endpoints on
    /// probation rank after all others whatever their score.
    pub score: f64,
    pub summary: String,
    /// Whether every answer of the last probe was signed by the provider's
    /// operator (a Cairn sidecar); false for unsigned answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The slowest request of the last probe, when it was answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Block number the endpoint reported as its tip at the last probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip: Option<u64>,
    /// Blocks behind the best tip among the chain's endpoints then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_lag: Option<u64>,
    /// Decayed share of successful probes (the reputation score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_ratio: Option<f64>,
    /// Probes made of this endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<u64>,
    /// After repeated failures until a run of successes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probation: Option<bool>,
    /// `kind: message` of the last probe's failure (`timeout`, `connect`,
    /// `http_status`, `json_rpc`, `wrong_chain`, `bad_body`,
    /// `bad_signature`, `hash_mismatch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Unix milliseconds of the last probe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_probe_at: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct RankedService {
    pub rank: usize,
    pub service_id: String,
    /// CAIP-2 chain the endpoint serves.
    pub chain: String,
    pub kind: String,
    pub url: String,
    /// CAIP-10 id of the provider.
    pub provider: String,
    pub why: RankReason,
    pub record: OnChainRef,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<RankedService>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderList {
    pub items: Vec<ProviderView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProviderDetail {
    #[serde(flatten)]
    pub provider: ProviderView,
    pub endpoints: Vec<EndpointView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EndpointView {
    pub service_id: String,
    pub chain: String,
    pub kind: String,
    pub url: String,
    pub metadata_hash: String,
    pub record: OnChainRef,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainSummary {
    /// CAIP-2 chain endpoints serve.
    pub chain: String,
    /// Endpoints per kind (`rpc`, …), counting active providers only.
    pub kinds: BTreeMap<String, usize>,
    pub providers: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RegistrySummary {
    pub chain: String,
    pub registry: String,
    /// Last block the indexer has applied, if any.
    pub indexed_block: Option<u64>,
    /// The chain's newest block as its RPC reports it now; unset when the
    /// RPC does not answer within a second.
    pub head_block: Option<u64>,
    /// `head_block − indexed_block`: a stopped indexer shows as a number
    /// that grows with the chain.
    pub behind_blocks: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainsResponse {
    pub chains: Vec<ChainSummary>,
    pub registries: Vec<RegistrySummary>,
}

/// One registry chain's state as of a store read.
#[derive(Debug)]
struct RegistrySnapshot {
    chain: String,
    registry: Address,
    indexed_block: Option<u64>,
    providers: BTreeMap<String, ProviderView>,
    endpoints: Vec<(ServiceRow, String)>,
    /// What the prober measured, by service id.
    health: HashMap<alloy::primitives::B256, EndpointHealth>,
    /// Recent evidence records per accused operator (lowercase hex).
    evidence: Arc<BTreeMap<String, u64>>,
}

#[derive(Debug)]
pub(crate) struct Snapshot {
    registries: Vec<RegistrySnapshot>,
    /// Serialized `/v1/services` answers by query, for this snapshot's life:
    /// ranking and serializing a page costs far more than the request
    /// around it, and every client of a chain asks the same question.
    service_pages: std::sync::Mutex<HashMap<ServiceQueryKey, axum::body::Bytes>>,
}

/// Most pages one snapshot keeps; beyond it answers are computed each time
/// (bounds memory against clients walking odd queries).
const MAX_CACHED_PAGES: usize = 1024;

type ServiceQueryKey = (String, Option<String>, Option<String>, Option<usize>, Option<String>);

#[derive(Debug)]
pub(crate) struct DiscoveryCache {
    ttl: Duration,
    current: RwLock<Option<(Instant, Arc<Snapshot>)>>,
    rebuilding: tokio::sync::Mutex<()>,
}

impl DiscoveryCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, current: RwLock::new(None), rebuilding: tokio::sync::Mutex::new(()) }
    }

    fn fresh(&self) -> Option<Arc<Snapshot>> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.as_ref().filter(|(at, _)| at.elapsed() < self.ttl).map(|(_, s)| s.clone())
    }

    /// Drops the snapshot so the next read sees the store (after a write
    /// through this service).
    pub(crate) fn invalidate(&self) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl AppState {
    pub(crate) async fn snapshot(&self) -> Result<Arc<Snapshot>, ApiError> {
        if let Some(snapshot) = self.discovery.fresh() {
            return Ok(snapshot);
        }
        // One rebuild at a time; those waiting get its result.
        let _guard = self.discovery.rebuilding.lock().await;
        if let Some(snapshot) = self.discovery.fresh() {
            return Ok(snapshot);
        }
        let snapshot = Arc::new(self.read_snapshot().await?);
        *self.discovery.current.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), snapshot.clone()));
        Ok(snapshot)
    }

    pub(crate) fn invalidate_discovery(&self) {
        self.discovery.invalidate();
    }

    async fn read_snapshot(&self) -> Result<Snapshot, ApiError> {
        let mut registries = Vec::new();
        let window = i64::try_from(self.service.evidence_window_secs).unwrap_or(i64::MAX);
        let evidence = Arc::new(self.store.evidence_counts(now().saturating_sub(window)).await?);
        for evm in &self.chains {
            let chain = evm.caip2();
            let registry = format!("{:#x}", evm.registry);
            let rows = self.store.providers(&chain).await?;
            let services = self.store.services(&chain).await?;
            let slashes: BTreeMap<String, (u64, U256)> = self
                .store
                .slash_summary(&chain)
                .await?
                .into_iter()
                .map(|(p, n, total)| (p, (n, total)))
                .collect();
            let metadata: BTreeMap<String, ProviderMetadata> =
                self.store.provider_metadata(&chain).await?.into_iter().collect();
            let mut service_counts: BTreeMap<&str, usize> = BTreeMap::new();
            for service in &services {
                *service_counts.entry(service.provider.as_str()).or_default() += 1;
            }
            let providers = rows
                .iter()
                .map(|row| {
                    let view = provider_view(
                        &chain,
                        &registry,
                        evm.min_stake,
                        row,
                        slashes.get(&row.provider).copied().unwrap_or_default(),
                        service_counts.get(row.provider.as_str()).copied().unwrap_or(0),
                        metadata.get(&row.provider),
                    );
                    (row.provider.clone(), view)
                })
                .collect();
            let endpoints = services.into_iter().map(|s| (s, registry.clone())).collect();
            let health =
                self.store.health(&chain).await?.into_iter().map(|h| (h.service_id, h)).collect();
            registries.push(RegistrySnapshot {
                indexed_block: self.store.cursor(&chain).await?.map(|c| c.block_number),
                chain,
                registry: evm.registry,
                providers,
                endpoints,
                health,
                evidence: evidence.clone(),
            });
        }
        Ok(Snapshot { registries, service_pages: std::sync::Mutex::default() })
    }
}

fn provider_view(
    chain: &str,
    registry: &str,
    min_stake: U256,
    row: &ProviderRow,
    (slashes, slashed_total): (u64, U256),
    services: usize,
    metadata: Option<&ProviderMetadata>,
) -> ProviderView {
    ProviderView {
        id: format!("{chain}:{}", checksum(&row.provider)),
        chain: chain.to_owned(),
        address: checksum(&row.provider),
        operator: checksum(&row.operator),
        stake: row.stake.to_string(),
        unbonding: row.unbonding.to_string(),
        status: if row.stake >= min_stake && !row.stake.is_zero() {
            "active".to_owned()
        } else {
            "below_minimum".to_owned()
        },
        slashes,
        slashed_total: slashed_total.to_string(),
        services,
        metadata: metadata.map(|m| Metadata {
            region: m.region.clone(),
            description: m.description.clone(),
            contact: m.contact.clone(),
            updated_at: m.updated_at,
        }),
        registered: OnChainRef {
            chain: chain.to_owned(),
            contract: registry.to_owned(),
            tx_hash: row.registered_tx.clone(),
            block: row.registered_block,
        },
    }
}

fn checksum(address: &str) -> String {
    address.parse::<Address>().map_or_else(|_| address.to_owned(), |a| a.to_checksum(None))
}

/// Parses a CAIP-10 provider id into its chain and lowercase address.
pub(crate) fn parse_provider_id(id: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid_account_id",
            format!("`{id}` is not a CAIP-10 account id such as eip155:1:0xAb…"),
        )
    };
    let (chain, address) = id.rsplit_once(':').ok_or_else(bad)?;
    let (namespace, reference) = chain.split_once(':').ok_or_else(bad)?;
    if namespace != "eip155"
        || reference.is_empty()
        || !reference.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let address: Address = address.parse().map_err(|_| bad())?;
    Ok((chain.to_owned(), format!("{address:#x}")))
}

impl Snapshot {
    /// The http(s) `rpc` endpoints serving `chain`, best first, weighted by
    /// their discovery score, for the gateway.
    pub(crate) fn gateway_endpoints(&self, chain: &str) -> Vec<cairn_gateway::Endpoint> {
        self.ranked(chain, Some("rpc"))
            .into_iter()
            .filter(|s| s.url.starts_with("http://") || s.url.starts_with("https://"))
            .filter_map(|s| {
                let (registry, address) = parse_provider_id(&s.provider).ok()?;
                let operator = self.provider(&registry, &address)?.operator.parse().ok()?;
                Some(cairn_gateway::Endpoint {
                    url: s.url,
                    provider: s.provider,
                    operator,
                    weight: s.why.score,
                })
            })
            .collect()
    }

    pub(crate) fn provider(&self, chain: &str, address: &str) -> Option<&ProviderView> {
        self.registries.iter().find(|r| r.chain == chain)?.providers.get(address)
    }

    /// Endpoints serving `chain` (of `kind`, if given) from active providers,
    /// best first.
    /// Every registered provider, by registry chain and address, as
    /// `GET /v1/providers` lists them.
    pub(crate) fn all_providers(&self) -> Vec<ProviderView> {
        self.registries.iter().flat_map(|r| r.providers.values()).cloned().collect()
    }

    pub(crate) fn ranked(&self, chain: &str, kind: Option<&str>) -> Vec<RankedService> {
        let mut candidates = Vec::new();
        for registry in &self.registries {
            for (service, contract) in &registry.endpoints {
                if service.service_chain != chain || kind.is_some_and(|k| service.kind != k) {
                    continue;
                }
                let Some(provider) = registry.providers.get(&service.provider) else { continue };
                if provider.status != "active" {
                    continue;
                }
                let stake: U256 = provider.stake.parse().unwrap_or_default();
                candidates.push((registry, service, contract, provider, stake));
            }
        }
        // A provider's stake counts once, however many endpoints it lists.
        let mut counted = std::collections::BTreeSet::new();
        let total = candidates
            .iter()
            .filter(|c| counted.insert(c.3.id.as_str()))
            .fold(U256::ZERO, |sum, c| sum + c.4);
        let ranked: Vec<RankedService> = candidates
            .into_iter()
            .map(|(registry, service, contract, provider, stake)| {
                let stake_share = cairn_core::ratio(stake, total);
                let evidence = registry
                    .evidence
                    .get(&provider.operator.to_ascii_lowercase())
                    .copied()
                    .unwrap_or(0);
                let assessed = cairn_prober::assess_with_evidence(
                    registry.health.get(&service.service_id),
                    provider.slashes,
                    evidence,
                );
                let score = stake_share * assessed.health_factor * assessed.reputation_factor;
                let slashed = match provider.slashes {
                    0 => "never slashed".to_owned(),
                    1 => "slashed once".to_owned(),
                    n => format!("slashed {n} times"),
                };
                let measured = assessed.measured.as_ref();
                RankedService {
                    rank: 0,
                    service_id: format!("{:#x}", service.service_id),
                    chain: service.service_chain.clone(),
                    kind: service.kind.clone(),
                    url: service.url.clone(),
                    provider: provider.id.clone(),
                    why: RankReason {
                        stake: provider.stake.clone(),
                        stake_share,
                        health: assessed.health.to_owned(),
                        health_factor: assessed.health_factor,
                        slashes: provider.slashes,
                        evidence: assessed.evidence,
                        reputation_factor: assessed.reputation_factor,
                        score,
                        summary: format!(
                            "{:.1}% of the stake behind these endpoints; {}; {slashed}",
                            stake_share * 100.0,
                            assessed.summary
                        ),
                        verified: measured.map(|m| m.verified == Some(true)),
                        latency_ms: measured.and_then(|m| m.latency_ms),
                        tip: measured.and_then(|m| m.tip),
                        tip_lag: measured.and_then(|m| m.tip_lag),
                        success_ratio: measured.map(|m| m.success_ratio),
                        probes: measured.map(|m| m.probes),
                        probation: measured.map(|m| m.probation),
                        last_error: measured.and_then(|m| m.last_error.clone()),
                        last_probe_at: measured.map(|m| m.last_probe_at),
                    },
                    record: OnChainRef {
                        chain: registry.chain.clone(),
                        contract: contract.clone(),
                        tx_hash: service.added_tx.clone(),
                        block: service.added_block,
                    },
                }
            })
            .collect();
        let mut keyed: Vec<(U256, RankedService)> = ranked
            .into_iter()
            .map(|s| (s.why.stake.parse::<U256>().unwrap_or_default(), s))
            .collect();
        // Probation first (false before true): such endpoints rank last.
        keyed.sort_by(|(stake_a, a), (stake_b, b)| {
            a.why
                .probation
                .unwrap_or(false)
                .cmp(&b.why.probation.unwrap_or(false))
                .then_with(|| b.why.score.total_cmp(&a.why.score))
                .then_with(|| stake_b.cmp(stake_a))
                .then_with(|| a.service_id.cmp(&b.service_id))
        });
        let mut ranked: Vec<RankedService> = keyed.into_iter().map(|(_, s)| s).collect();
        for (i, service) in ranked.iter_mut().enumerate() {
            service.rank = i + 1;
        }
        ranked
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServiceQuery {
    /// CAIP-2 chain the endpoints must serve, e.g. `eip155:1`.
    chain: Option<String>,
    /// Kind of service, e.g. `rpc`.
    kind: Option<String>,
    /// Only this provider's endpoints (CAIP-10).
    provider: Option<String>,
    /// Page size, 1 to 200 (default 50).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProviderQuery {
    /// Registry chain (CAIP-2).
    chain: Option<String>,
    /// `active` or `below_minimum`.
    status: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// A malformed chain id is the caller's mistake and says so; a well-formed
/// one that nothing serves is an empty answer.
fn check_chain(chain: &str) -> Result<(), ApiError> {
    chain.parse::<cairn_core::ChainId>().map(drop).map_err(|err| {
        ApiError::bad_request("invalid_chain", format!("`chain` is not a CAIP-2 chain id: {err}"))
    })
}

fn page<T>(
    items: Vec<T>,
    limit: Option<usize>,
    cursor: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("limit must be between 1 and {MAX_PAGE}"),
        ));
    }
    let offset = match cursor {
        None => 0,
        Some(cursor) => URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| {
                ApiError::bad_request("invalid_cursor", "the cursor is not one this service issued")
            })?,
    };
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(offset).take(limit).collect();
    let next = (offset + items.len() < total)
        .then(|| URL_SAFE_NO_PAD.encode(format!("o:{}", offset + items.len())));
    Ok((items, next))
}

/// The chains endpoints are registered for, and the registries indexed.
#[utoipa::path(
    get, path = "/v1/chains", tag = "discovery",
    responses((status = 200, description = "Served chains", body = ChainsResponse))
)]
pub(crate) async fn chains(
    State(state): State<AppState>,
) -> Result<Json<ChainsResponse>, ApiError> {
    let snapshot = state.snapshot().await?;
    let mut response = chains_response(&snapshot);
    with_heads(&state, &mut response).await;
    Ok(Json(response))
}

/// Asks each registry chain's RPC for its head, so the indexer's lag shows.
pub(crate) async fn with_heads(state: &AppState, response: &mut ChainsResponse) {
    const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
    for registry in &mut response.registries {
        let Some(chain) = state.chains.iter().find(|c| c.caip2() == registry.chain) else {
            continue;
        };
        let head = tokio::time::timeout(
            HEAD_TIMEOUT,
            alloy::providers::Provider::get_block_number(&chain.rpc),
        )
        .await;
        registry.head_block = head.ok().and_then(Result::ok);
        registry.behind_blocks = registry
            .head_block
            .zip(registry.indexed_block)
            .map(|(head, indexed)| head.saturating_sub(indexed));
    }
}

/// The served chains of `snapshot`, as `GET /v1/chains` and the status page
/// list them.
pub(crate) fn chains_response(snapshot: &Snapshot) -> ChainsResponse {
    let mut chains: BTreeMap<String, (BTreeMap<String, usize>, std::collections::BTreeSet<&str>)> =
        BTreeMap::new();
    for registry in &snapshot.registries {
        for (service, _) in &registry.endpoints {
            let active =
                registry.providers.get(&service.provider).is_some_and(|p| p.status == "active");
            if !active {
                continue;
            }
            let entry = chains.entry(service.service_chain.clone()).or_default();
            *entry.0.entry(service.kind.clone()).or_default() += 1;
            entry.1.insert(service.provider.as_str());
        }
    }
    ChainsResponse {
        chains: chains
            .into_iter()
            .map(|(chain, (kinds, providers))| ChainSummary {
                chain,
                kinds,
                providers: providers.len(),
            })
            .collect(),
        registries: snapshot
            .registries
            .iter()
            .map(|r| RegistrySummary {
                chain: r.chain.clone(),
                registry: format!("{:#x}", r.registry),
                indexed_block: r.indexed_block,
                head_block: None,
                behind_blocks: None,
            })
            .collect(),
    }
}

/// Registered providers, by registry chain and address.
#[utoipa::path(
    get, path = "/v1/providers", tag = "discovery",
    params(ProviderQuery),
    responses(
        (status = 200, description = "A page of providers", body = ProviderList),
        (status = 400, description = "Bad query", body = Problem),
    )
)]
pub(crate) async fn providers(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ProviderQuery>,
) -> Result<Json<ProviderList>, ApiError> {
    if let Some(status) = &query.status
        && status != "active"
        && status != "below_minimum"
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            "status must be `active` or `below_minimum`",
        ));
    }
    if let Some(chain) = &query.chain {
        check_chain(chain)?;
    }
    let snapshot = state.snapshot().await?;
    let all: Vec<ProviderView> = snapshot
        .registries
        .iter()
        .filter(|r| query.chain.as_ref().is_none_or(|c| &r.chain == c))
        .flat_map(|r| r.providers.values())
        .filter(|p| query.status.as_ref().is_none_or(|s| &p.status == s))
        .cloned()
        .collect();
    let (items, next_cursor) = page(all, query.limit, query.cursor.as_deref())?;
    Ok(Json(ProviderList { items, next_cursor }))
}

/// One provider and its endpoints.
#[utoipa::path(
    get, path = "/v1/providers/{id}", tag = "discovery",
    params(("id" = String, Path, description = "CAIP-10 id, e.g. eip155:1:0xAb…")),
    responses(
        (status = 200, description = "The provider", body = ProviderDetail),
        (status = 400, description = "Not a CAIP-10 id", body = Problem),
        (status = 404, description = "No such provider", body = Problem),
    )
)]
pub(crate) async fn provider(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<ProviderDetail>, ApiError> {
    let (chain, address) = parse_provider_id(&id)?;
    let snapshot = state.snapshot().await?;
    let registry = snapshot.registries.iter().find(|r| r.chain == chain);
    let provider = registry
        .and_then(|r| r.providers.get(&address))
        .ok_or_else(|| ApiError::not_found("provider_not_found", format!("no provider `{id}`")))?;
    let endpoints = registry
        .map(|r| {
            r.endpoints
                .iter()
                .filter(|(s, _)| s.provider == address)
                .map(|(s, contract)| EndpointView {
                    service_id: format!("{:#x}", s.service_id),
                    chain: s.service_chain.clone(),
                    kind: s.kind.clone(),
                    url: s.url.clone(),
                    metadata_hash: format!("{:#x}", s.metadata_hash),
                    record: OnChainRef {
                        chain: chain.clone(),
                        contract: contract.clone(),
                        tx_hash: s.added_tx.clone(),
                        block: s.added_block,
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(ProviderDetail { provider: provider.clone(), endpoints }))
}

/// Endpoints serving a chain, best first, each with why it ranks there.
#[utoipa::path(
    get, path = "/v1/services", tag = "discovery",
    params(ServiceQuery),
    responses(
        (status = 200, description = "Ranked endpoints", body = ServiceList),
        (status = 400, description = "Bad query", body = Problem),
    )
)]
pub(crate) async fn services(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ServiceQuery>,
) -> Result<axum::response::Response, ApiError> {
    let chain = query.chain.clone().ok_or_else(|| {
        ApiError::bad_request("missing_parameter", "`chain` is required (CAIP-2, e.g. eip155:1)")
    })?;
    check_chain(&chain)?;
    let provider = query.provider.as_deref().map(parse_provider_id).transpose()?;
    let snapshot = state.snapshot().await?;
    let key: ServiceQueryKey =
        (chain, query.kind.clone(), query.provider.clone(), query.limit, query.cursor.clone());
    let cached =
        snapshot.service_pages.lock().unwrap_or_else(|e| e.into_inner()).get(&key).cloned();
    let body = match cached {
        Some(body) => body,
        None => {
            let mut ranked = snapshot.ranked(&key.0, query.kind.as_deref());
            if let Some((registry_chain, address)) = provider {
                let id = format!("{registry_chain}:{}", checksum(&address));
                ranked.retain(|s| s.provider == id);
            }
            let (items, next_cursor) = page(ranked, query.limit, query.cursor.as_deref())?;
            let body = axum::body::Bytes::from(
                serde_json::to_vec(&ServiceList { items, next_cursor })
                    .map_err(ApiError::internal)?,
            );
            let mut pages = snapshot.service_pages.lock().unwrap_or_else(|e| e.into_inner());
            if pages.len() < MAX_CACHED_PAGES {
                pages.insert(key, body.clone());
            }
            body
        }
    };
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
