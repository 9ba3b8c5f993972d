//! The gateway: per-endpoint state, endpoint choice, and the three ways a
//! call is served (read with retries and hedging, write fan-out, k-of-n).

use std::{
    collections::{BTreeMap, HashMap},
    hash::{BuildHasher, RandomState},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use alloy_primitives::Address;
use cairn_config::GatewayConfig;
use cairn_core::{
    ChainId,
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceKind, SignedAnswer},
};
use serde_json::{Value, json};

use crate::{
    breaker::{Breaker, BreakerState},
    budget::RetryBudget,
    evidence::{ConflictWatch, EvidenceSink, MemoryEvidence, comparison_hash},
    latency::Latencies,
    metering::{Meter, Payer, UsageSink},
    metrics::{Metrics, add},
    rpc,
    source::{Endpoint, EndpointSource},
    tags,
    upstream::{self, Answer, Failure},
};

/// What the gateway knows about one endpoint.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) endpoint: Mutex<Endpoint>,
    pub(crate) breaker: Breaker,
    pub(crate) latencies: Latencies,
    pub(crate) in_flight: AtomicU32,
    pub(crate) attempts: AtomicU64,
    pub(crate) failures: AtomicU64,
    /// Failed attempts by `Failure::kind`, for operators telling a dead
    /// endpoint (connect) from a lying one (bad_signature).
    pub(crate) failures_by_kind: Mutex<BTreeMap<&'static str, u64>>,
    /// Quorum calls this endpoint answered against the quorum.
    pub(crate) disagreements: AtomicU64,
    pub(crate) last_failure: Mutex<Option<String>>,
}

impl EndpointState {
    pub(crate) fn endpoint(&self) -> Endpoint {
        self.endpoint.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Lower is better: expected wait (calls in flight × mean latency)
    /// over the endpoint's weight, worse for every disagreement with a
    /// quorum and for every failure in a row.
    fn cost(&self) -> f64 {
        let latency = self.latencies.mean().map_or(1.0, |d| d.as_secs_f64() * 1e3).max(0.1);
        let weight = self.endpoint.lock().unwrap_or_else(|e| e.into_inner()).weight.max(1e-9);
        let waiting = f64::from(self.in_flight.load(Ordering::Relaxed) + 1);
        let disagreements = self.disagreements.load(Ordering::Relaxed) as f64;
        let failing = f64::from(self.breaker.consecutive_failures());
        waiting * latency * (1.0 + disagreements) * (1.0 + 4.0 * failing) / weight
    }
}

/// Counts an attempt in flight and gives back the breaker's trial slot
/// if the attempt is dropped unanswered (a hedge lost the race).
struct InFlight<'a> {
    state: &'a EndpointState,
    settled: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.state.in_flight.fetch_sub(1, Ordering::Relaxed);
        if !self.settled {
            self.state.breaker.release();
        }
    }
}

pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    source: Arc<dyn EndpointSource>,
    evidence: Arc<dyn EvidenceSink>,
    client: reqwest::Client,
    states: Mutex<HashMap<(String, String), Arc<EndpointState>>>,
    budget: RetryBudget,
    pub(crate) metrics: Metrics,
    conflicts: ConflictWatch,
    pub(crate) meter: Meter,
    rng: Mutex<u64>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("config", &self.config).finish_non_exhaustive()
    }
}

/// The JSON-RPC gateway; cheap to clone.
#[derive(Debug, Clone)]
pub struct Gateway(pub(crate) Arc<Inner>);

/// How one call ends.
type Reply = Value;

/// A reply and the providers whose answers it is (none when no provider
/// answered, or the call was refused before any was asked).
type Served = (Reply, Vec<String>);

impl Gateway {
    pub fn new(config: GatewayConfig, source: Arc<dyn EndpointSource>) -> Self {
        Self::with_evidence(config, source, Arc::new(MemoryEvidence::default()))
    }

    pub fn with_evidence(
        config: GatewayConfig,
        source: Arc<dyn EndpointSource>,
        evidence: Arc<dyn EvidenceSink>,
    ) -> Self {
        Self::build(config, source, evidence, None)
    }

    /// As [`Gateway::with_evidence`], counting signed-in wallets' calls into
    /// `usage` (unless `metering.enabled` is off).
    pub fn with_sinks(
        config: GatewayConfig,
        source: Arc<dyn EndpointSource>,
        evidence: Arc<dyn EvidenceSink>,
        usage: Arc<dyn UsageSink>,
    ) -> Self {
        let usage = config.metering.enabled.then_some(usage);
        Self::build(config, source, evidence, usage)
    }

    fn build(
        config: GatewayConfig,
        source: Arc<dyn EndpointSource>,
        evidence: Arc<dyn EvidenceSink>,
        usage: Option<Arc<dyn UsageSink>>,
    ) -> Self {
        let budget = RetryBudget::new(config.retry_budget_percent, config.retry_budget_reserve);
        let seed = RandomState::new().hash_one(std::time::SystemTime::now()) | 1;
        Self(Arc::new(Inner {
            config,
            source,
            evidence,
            client: reqwest::Client::new(),
            states: Mutex::default(),
            budget,
            metrics: Metrics::default(),
            conflicts: ConflictWatch::default(),
            meter: Meter::new(usage),
            rng: Mutex::new(seed),
        }))
    }

    pub(crate) fn source(&self) -> &dyn EndpointSource {
        &*self.0.source
    }

    /// The states of `endpoints`, made on first sight; weights and
    /// operators follow the source.
    pub(crate) fn states(&self, chain: &str, endpoints: &[Endpoint]) -> Vec<Arc<EndpointState>> {
        let mut states = self.0.states.lock().unwrap_or_else(|e| e.into_inner());
        endpoints
            .iter()
            .map(|endpoint| {
                let state = states
                    .entry((chain.to_owned(), endpoint.url.clone()))
                    .or_insert_with(|| {
                        Arc::new(EndpointState {
                            endpoint: Mutex::new(endpoint.clone()),
                            breaker: Breaker::new(
                                self.0.config.breaker_failures,
                                Duration::from_millis(self.0.config.breaker_open_ms),
                            ),
                            latencies: Latencies::default(),
                            in_flight: AtomicU32::new(0),
                            attempts: AtomicU64::new(0),
                            failures: AtomicU64::new(0),
                            failures_by_kind: Mutex::default(),
                            disagreements: AtomicU64::new(0),
                            last_failure: Mutex::new(None),
                        })
                    })
                    .clone();
                *state.endpoint.lock().unwrap_or_else(|e| e.into_inner()) = endpoint.clone();
                state
            })
            .collect()
    }

    /// Every endpoint state seen, by chain.
    pub(crate) fn all_states(&self) -> BTreeMap<String, Vec<Arc<EndpointState>>> {
        let states = self.0.states.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: BTreeMap<String, Vec<Arc<EndpointState>>> = BTreeMap::new();
        for ((chain, _), state) in states.iter() {
            out.entry(chain.clone()).or_default().push(state.clone());
        }
        for list in out.values_mut() {
            list.sort_by_key(|s| s.endpoint().url);
        }
        out
    }

    fn random(&self) -> u64 {
        // xorshift64*: routing needs spread, not unpredictability.
        let mut x = self.0.rng.lock().unwrap_or_else(|e| e.into_inner());
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// One index of `candidates`, with probability proportional to weight.
    fn weighted_pick(&self, states: &[Arc<EndpointState>], candidates: &[usize]) -> usize {
        let weights: Vec<f64> =
            candidates.iter().map(|&i| states[i].endpoint().weight.max(1e-6)).collect();
        let total: f64 = weights.iter().sum();
        let mut target = (self.random() >> 11) as f64 / (1u64 << 53) as f64 * total;
        for (position, weight) in weights.iter().enumerate() {
            if target < *weight {
                return candidates[position];
            }
            target -= weight;
        }
        candidates[candidates.len() - 1]
    }

    /// Power of two choices: two endpoints drawn by weight among those the
    /// breakers allow, the cheaper of them taken. Claims its breaker slot.
    fn choose(&self, states: &[Arc<EndpointState>], exclude: &[usize]) -> Option<usize> {
        loop {
            let candidates: Vec<usize> = (0..states.len())
                .filter(|i| !exclude.contains(i) && states[*i].breaker.available())
                .collect();
            let chosen = match candidates.as_slice() {
                [] => return None,
                [only] => *only,
                _ => {
                    let a = self.weighted_pick(states, &candidates);
                    let rest: Vec<usize> = candidates.iter().copied().filter(|&i| i != a).collect();
                    let b = self.weighted_pick(states, &rest);
                    // One call in 32 takes the first draw as it is, so an
                    // endpoint that was slow once is measured again rather
                    // than avoided for good.
                    if self.random().is_multiple_of(32) || states[a].cost() <= states[b].cost() {
                        a
                    } else {
                        b
                    }
                }
            };
            if states[chosen].breaker.try_acquire() {
                return Some(chosen);
            }
            // Another call took the half-open trial meanwhile: pick again.
            if candidates.len() == 1 {
                return None;
            }
        }
    }

    /// Up to `n` endpoints of distinct operators, cheapest first, each
    /// breaker slot claimed.
    fn choose_distinct(&self, states: &[Arc<EndpointState>], n: usize) -> Vec<usize> {
        let mut order: Vec<(f64, usize)> = (0..states.len())
            .filter(|i| states[*i].breaker.available())
            .map(|i| (states[i].cost(), i))
            .collect();
        order.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut chosen: Vec<usize> = Vec::new();
        let mut operators: Vec<Address> = Vec::new();
        for (_, i) in order {
            if chosen.len() == n {
                break;
            }
            let operator = states[i].endpoint().operator;
            if operators.contains(&operator) || !states[i].breaker.try_acquire() {
                continue;
            }
            operators.push(operator);
            chosen.push(i);
        }
        chosen
    }

    async fn attempt(
        &self,
        chain: &ChainId,
        state: &EndpointState,
        request: &Value,
    ) -> Result<Answer, Failure> {
        state.in_flight.fetch_add(1, Ordering::Relaxed);
        let mut guard = InFlight { state, settled: false };
        add(&self.0.metrics.attempts, 1);
        state.attempts.fetch_add(1, Ordering::Relaxed);
        let endpoint = state.endpoint();
        let outcome = upstream::call(
            &self.0.client,
            &endpoint,
            chain,
            request,
            Duration::from_millis(self.0.config.attempt_timeout_ms),
            self.0.config.require_signed,
        )
        .await;
        guard.settled = true;
        match &outcome {
            Ok(answer) => {
                state.breaker.record_success();
                state.latencies.record(answer.elapsed);
            }
            Err(failure) => {
                state.breaker.record_failure();
                state.failures.fetch_add(1, Ordering::Relaxed);
                *state
                    .failures_by_kind
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(failure.kind())
                    .or_default() += 1;
                add(&self.0.metrics.failures, 1);
                tracing::debug!(url = %endpoint.url, %failure, "upstream attempt failed");
                *state.last_failure.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(format!("{}: {failure}", failure.kind()));
            }
        }
        outcome
    }

    /// How long to wait for `state` before hedging: its p95 once it has
    /// answered enough, the configured initial delay before.
    fn hedge_delay(&self, state: &EndpointState) -> Duration {
        let hedging = &self.0.config.hedging;
        let floor = Duration::from_millis(hedging.min_delay_ms);
        let p95 = (state.latencies.count() >= u64::from(hedging.min_samples))
            .then(|| state.latencies.quantile(0.95))
            .flatten()
            .unwrap_or(Duration::from_millis(hedging.initial_delay_ms));
        p95.max(floor)
    }

    /// A read, on one endpoint after another while failures are retryable
    /// and the budget allows, hedged when configured.
    async fn read(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        request: &Value,
    ) -> Result<Answer, Failure> {
        let mut tried = Vec::new();
        let mut last = None;
        let attempts = self.0.config.max_attempts.max(1);
        for attempt in 0..attempts {
            if attempt > 0 {
                if !self.0.budget.withdraw() {
                    add(&self.0.metrics.retries_denied, 1);
                    break;
                }
                add(&self.0.metrics.retries, 1);
            }
            let Some(primary) = self.choose(states, &tried) else { break };
            tried.push(primary);
            let outcome = if self.0.config.hedging.enabled {
                self.hedged(chain, states, primary, &mut tried, request).await
            } else {
                self.attempt(chain, &states[primary], request).await
            };
            match outcome {
                Ok(answer) => return Ok(answer),
                Err(failure) => last = Some(failure),
            }
        }
        Err(last.unwrap_or(Failure::Connect("no endpoint is available".into())))
    }

    async fn hedged(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        primary: usize,
        tried: &mut Vec<usize>,
        request: &Value,
    ) -> Result<Answer, Failure> {
        let delay = self.hedge_delay(&states[primary]);
        let first = self.attempt(chain, &states[primary], request);
        tokio::pin!(first);
        tokio::select! {
            outcome = &mut first => return outcome,
            () = tokio::time::sleep(delay) => {}
        }
        let Some(second) = self.choose(states, tried) else { return first.await };
        tried.push(second);
        add(&self.0.metrics.hedges, 1);
        let hedge = self.attempt(chain, &states[second], request);
        tokio::pin!(hedge);
        tokio::select! {
            outcome = &mut first => match outcome {
                Ok(answer) => Ok(answer),
                Err(_) => hedge.await.inspect(|_| add(&self.0.metrics.hedge_wins, 1)),
            },
            outcome = &mut hedge => match outcome {
                Ok(answer) => {
                    add(&self.0.metrics.hedge_wins, 1);
                    Ok(answer)
                }
                Err(_) => first.await,
            },
        }
    }

    /// A write goes to several endpoints at once and is never retried: the
    /// same signed transaction sent twice is still one transaction, but a
    /// retry after an unclear failure could race a replacement the client
    /// sent meanwhile.
    async fn write(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        request: &Value,
    ) -> Result<Answer, Failure> {
        add(&self.0.metrics.writes, 1);
        let chosen = self.choose_distinct(states, self.0.config.write_fanout.max(1) as usize);
        if chosen.is_empty() {
            return Err(Failure::Connect("no endpoint is available".into()));
        }
        let (send, mut receive) = tokio::sync::mpsc::channel(chosen.len());
        for i in chosen {
            let (gateway, state, chain, request, send) =
                (self.clone(), states[i].clone(), chain.clone(), request.clone(), send.clone());
            // Each send runs to its end even once an answer is back, so
            // every endpoint's breaker and latency see the outcome.
            tokio::spawn(async move {
                let _ = send.send(gateway.attempt(&chain, &state, &request).await).await;
            });
        }
        drop(send);
        let mut refused = None;
        let mut failed = None;
        while let Some(outcome) = receive.recv().await {
            match outcome {
                Ok(answer) if answer.response.get("result").is_some() => return Ok(answer),
                Ok(answer) => {
                    refused.get_or_insert(answer);
                }
                Err(failure) => {
                    failed.get_or_insert(failure);
                }
            }
        }
        refused.ok_or_else(|| failed.unwrap_or(Failure::BadBody))
    }

    /// The block number each moving tag means now on the endpoints asked:
    /// the lowest they report, which every one of them has.
    async fn pin_tags(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        chosen: &[usize],
        tags: &[&'static str],
    ) -> Option<BTreeMap<&'static str, u64>> {
        let mut blocks = BTreeMap::new();
        for tag in tags {
            let request = json!({
                "jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [tag, false],
            });
            let answers = self.on_each(chain, states, chosen, &request).await;
            let lowest = answers
                .iter()
                .filter_map(|(_, outcome)| outcome.as_ref().ok())
                .filter_map(|a| {
                    a.response.get("result")?.get("number")?.as_str().map(str::to_owned)
                })
                .filter_map(|n| u64::from_str_radix(n.trim_start_matches("0x"), 16).ok())
                .min()?;
            blocks.insert(*tag, lowest);
        }
        Some(blocks)
    }

    /// `request` on each of `chosen` at once.
    async fn on_each(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        chosen: &[usize],
        request: &Value,
    ) -> Vec<(usize, Result<Answer, Failure>)> {
        let mut tasks = tokio::task::JoinSet::new();
        for &i in chosen {
            let (gateway, state, chain, request) =
                (self.clone(), states[i].clone(), chain.clone(), request.clone());
            tasks.spawn(async move { (i, gateway.attempt(&chain, &state, &request).await) });
        }
        let mut out = Vec::with_capacity(chosen.len());
        while let Some(joined) = tasks.join_next().await {
            if let Ok(result) = joined {
                out.push(result);
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out
    }

    /// k-of-n agreement on a pinned block.
    async fn quorum(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        call: &Value,
        ignored: &[String],
    ) -> Served {
        let id = call["id"].clone();
        let method = call["method"].as_str().unwrap_or_default();
        let params = call.get("params").cloned().unwrap_or_else(|| json!([]));
        let needs = tags::needs(method, &params);
        if needs.unpinnable {
            return self
                .answer_or_error(id, self.read(chain, states, &upstream_request(call)).await);
        }
        let config = &self.0.config.quorum;
        let k = config.k.max(1) as usize;
        let mut chosen = self.choose_distinct(states, (config.n as usize).max(k));
        if chosen.is_empty() {
            add(&self.0.metrics.no_endpoint, 1);
            return (rpc::error(id, rpc::NO_ENDPOINT, "no endpoint is available", None), vec![]);
        }
        add(&self.0.metrics.quorum_calls, 1);
        let params = if needs.tags.is_empty() {
            params
        } else {
            match self.pin_tags(chain, states, &chosen, &needs.tags).await {
                Some(blocks) => {
                    // The pinning calls gave the breaker slots back.
                    chosen.retain(|&i| states[i].breaker.try_acquire());
                    tags::pin(method, &params, &blocks)
                }
                None => {
                    add(&self.0.metrics.no_endpoint, 1);
                    let error = rpc::error(
                        id,
                        rpc::NO_ENDPOINT,
                        "no endpoint told the current block",
                        None,
                    );
                    return (error, vec![]);
                }
            }
        };
        let request = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let mut answers = self.on_each(chain, states, &chosen, &request).await;
        let agreeing = |answers: &[(usize, Result<Answer, Failure>)]| {
            groups(states, answers, ignored).first().map_or(0, |g| g.operators.len())
        };
        if agreeing(&answers) < k {
            // Some failed: ask as many more as could still make k.
            let more = k - agreeing(&answers);
            let asked: Vec<usize> = answers.iter().map(|(i, _)| *i).collect();
            let extra: Vec<usize> = self
                .choose_distinct(states, states.len())
                .into_iter()
                .filter(|i| !asked.contains(i))
                .collect();
            let (take, give_back) = extra.split_at(more.min(extra.len()));
            give_back.iter().for_each(|&i| states[i].breaker.release());
            if !take.is_empty() {
                answers.extend(self.on_each(chain, states, take, &request).await);
            }
        }
        let groups = groups(states, &answers, ignored);
        for (i, outcome) in &answers {
            if let Ok(answer) = outcome {
                self.watch_conflicts(chain, &states[*i], &request, answer, ignored).await;
            }
        }
        let Some(best) = groups.first() else {
            add(&self.0.metrics.no_endpoint, 1);
            let reasons = failure_reasons(states, &answers);
            return (
                rpc::error(id, rpc::NO_ENDPOINT, "no endpoint answered", Some(reasons)),
                vec![],
            );
        };
        // Each provider whose answer is the one served did the work; those
        // that answered otherwise are not paid for it.
        let served = best.served_by();
        if best.operators.len() < k {
            if groups.len() > 1 {
                add(&self.0.metrics.no_quorum, 1);
                let error = rpc::error(
                    id,
                    rpc::NO_QUORUM,
                    format!("the endpoints disagree and no {k} of them agree"),
                    Some(json!({
                        "k": k,
                        "answers": groups.iter().map(|g| g.operators.len()).collect::<Vec<_>>(),
                    })),
                );
                return (error, vec![]);
            }
            // Too few answered, but none disagreed: serving it beats
            // failing the client; the metric shows how often it happens.
            add(&self.0.metrics.quorum_degraded, 1);
            return (rpc::readdress(&best.answer.response, id), served);
        }
        if groups.len() > 1 {
            add(&self.0.metrics.quorum_mismatches, 1);
            self.accuse(chain, states, &request, &groups, k, ignored).await;
        }
        (rpc::readdress(&best.answer.response, id), served)
    }

    /// Evidence against every signed dissent the quorum's signatures can
    /// prove wrong: at least `k` distinct other operators signed the quorum's
    /// answer at the same block as the accused.
    async fn accuse(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        request: &Value,
        groups: &[Group],
        k: usize,
        ignored: &[String],
    ) {
        let quorum = &groups[0];
        for dissent in &groups[1..] {
            for (i, answer) in &dissent.members {
                states[*i].disagreements.fetch_add(1, Ordering::Relaxed);
                let Some(header) = &answer.signed else { continue };
                let accused = states[*i].endpoint();
                let accused_answer = signed_answer(&accused, request, answer);
                let mut witnesses: Vec<SignedAnswer> = Vec::new();
                for (j, agreeing) in &quorum.members {
                    let witness = states[*j].endpoint();
                    let same_block = agreeing.signed.as_ref().is_some_and(|h| {
                        (h.block_number, h.block_hash) == (header.block_number, header.block_hash)
                    });
                    if same_block
                        && witness.operator != accused.operator
                        && !witnesses.iter().any(|w| w.operator == witness.operator)
                    {
                        witnesses.push(signed_answer(&witness, request, agreeing));
                    }
                }
                if witnesses.len() < k {
                    continue;
                }
                let mut answers = vec![accused_answer];
                answers.extend(witnesses);
                let evidence = Evidence {
                    version: EVIDENCE_VERSION,
                    chain: chain.clone(),
                    kind: EvidenceKind::QuorumMismatch { k: k as u32 },
                    accused: accused.operator,
                    ignored_fields: ignored.to_vec(),
                    answers,
                };
                self.store_evidence(evidence).await;
            }
        }
    }

    async fn watch_conflicts(
        &self,
        chain: &ChainId,
        state: &EndpointState,
        request: &Value,
        answer: &Answer,
        ignored: &[String],
    ) {
        let Some(header) = &answer.signed else { return };
        let signed = signed_answer(&state.endpoint(), request, answer);
        if let Some(evidence) = self.0.conflicts.observe(chain, header, &signed, ignored) {
            self.store_evidence(evidence).await;
        }
    }

    /// Checks a record as any verifier would before handing it on, so
    /// nothing that does not verify is ever stored.
    async fn store_evidence(&self, evidence: Evidence) {
        if let Err(error) = evidence.verify() {
            tracing::warn!(%error, "evidence did not verify; not stored");
            add(&self.0.metrics.evidence_failed, 1);
            return;
        }
        match self.0.evidence.put(&evidence).await {
            Ok(()) => {
                tracing::warn!(accused = %evidence.accused, hash = %evidence.hash(), "evidence recorded");
                add(&self.0.metrics.evidence_stored, 1);
            }
            Err(error) => {
                tracing::error!(%error, "evidence sink failed");
                add(&self.0.metrics.evidence_failed, 1);
            }
        }
    }

    fn answer_or_error(&self, id: Value, outcome: Result<Answer, Failure>) -> Served {
        match outcome {
            Ok(answer) => (rpc::readdress(&answer.response, id), vec![answer.provider]),
            Err(failure) => {
                add(&self.0.metrics.no_endpoint, 1);
                let error = rpc::error(
                    id,
                    rpc::NO_ENDPOINT,
                    "no endpoint gave a usable answer",
                    Some(json!({ "last_failure": failure.to_string(), "kind": failure.kind() })),
                );
                (error, vec![])
            }
        }
    }

    /// One call, checked, served and, for a signed-in `payer`, metered.
    pub(crate) async fn call(
        &self,
        chain: &ChainId,
        states: &[Arc<EndpointState>],
        call: Value,
        payer: Option<&Payer>,
    ) -> Reply {
        let method = call.get("method").and_then(Value::as_str).map(str::to_owned);
        let (reply, served) = self.serve(chain, states, call).await;
        if let (Some(payer), Some(method)) = (payer, method) {
            self.meter(payer, &chain.to_string(), &method, &served);
        }
        reply
    }

    async fn serve(&self, chain: &ChainId, states: &[Arc<EndpointState>], call: Value) -> Served {
        add(&self.0.metrics.calls, 1);
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        let invalid = |message: &str| {
            add(&self.0.metrics.rejected, 1);
            (rpc::error(id.clone(), rpc::INVALID_REQUEST, message, None), vec![])
        };
        let Some(object) = call.as_object() else {
            return invalid("a call must be a JSON object");
        };
        if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            return invalid("`jsonrpc` must be \"2.0\"");
        }
        let Some(method) = object.get("method").and_then(Value::as_str) else {
            return invalid("`method` must be a string");
        };
        if id.is_null() {
            return invalid("notifications (calls without an id) are not forwarded");
        }
        if object.get("params").is_some_and(|p| !p.is_array() && !p.is_object()) {
            return invalid("`params` must be an array or an object");
        }
        if !self.0.config.allowed_methods.iter().any(|m| m == method) {
            add(&self.0.metrics.rejected, 1);
            let error = rpc::error(
                id,
                rpc::METHOD_NOT_ALLOWED,
                format!("method `{method}` is not allowed by this gateway"),
                None,
            );
            return (error, vec![]);
        }
        if self.0.config.write_methods.iter().any(|m| m == method) {
            let outcome = self.write(chain, states, &upstream_request(&call)).await;
            return self.answer_or_error(id, outcome);
        }
        if let Some(ignored) = self.0.config.quorum.methods.get(method) {
            return self.quorum(chain, states, &call, ignored).await;
        }
        self.0.budget.deposit();
        let outcome = self.read(chain, states, &upstream_request(&call)).await;
        self.answer_or_error(id, outcome)
    }
}

/// The call as forwarded: what it means, without the client's id.
fn upstream_request(call: &Value) -> Value {
    let mut request = json!({ "jsonrpc": "2.0", "id": 1, "method": call["method"] });
    if let Some(params) = call.get("params") {
        request["params"] = params.clone();
    }
    request
}

fn signed_answer(endpoint: &Endpoint, request: &Value, answer: &Answer) -> SignedAnswer {
    SignedAnswer {
        operator: endpoint.operator,
        endpoint: Some(endpoint.url.clone()),
        request: request.clone(),
        response: answer.response.clone(),
        header: answer.header.clone().unwrap_or_default(),
    }
}

/// Answers that agree once ignored fields are removed.
struct Group {
    answer: Answer,
    members: Vec<(usize, Answer)>,
    operators: Vec<Address>,
}

impl Group {
    /// The distinct providers whose answers make up the group.
    fn served_by(&self) -> Vec<String> {
        let mut providers: Vec<String> = Vec::new();
        for (_, answer) in &self.members {
            if !providers.contains(&answer.provider) {
                providers.push(answer.provider.clone());
            }
        }
        providers
    }
}

/// The groups, largest (by distinct operators) first.
fn groups(
    states: &[Arc<EndpointState>],
    answers: &[(usize, Result<Answer, Failure>)],
    ignored: &[String],
) -> Vec<Group> {
    let mut groups: Vec<(alloy_primitives::B256, Group)> = Vec::new();
    for (i, outcome) in answers {
        let Ok(answer) = outcome else { continue };
        let Some(key) = comparison_hash(&answer.response, ignored) else { continue };
        let operator = states[*i].endpoint().operator;
        let group = match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group,
            None => {
                groups.push((
                    key,
                    Group { answer: answer.clone(), members: Vec::new(), operators: Vec::new() },
                ));
                &mut groups.last_mut().expect("just pushed").1
            }
        };
        group.members.push((*i, answer.clone()));
        if !group.operators.contains(&operator) {
            group.operators.push(operator);
        }
    }
    let mut groups: Vec<Group> = groups.into_iter().map(|(_, g)| g).collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.operators.len()));
    groups
}

fn failure_reasons(
    states: &[Arc<EndpointState>],
    answers: &[(usize, Result<Answer, Failure>)],
) -> Value {
    Value::Array(
        answers
            .iter()
            .filter_map(|(i, outcome)| {
                outcome.as_ref().err().map(|failure| {
                    json!({ "endpoint": states[*i].endpoint().url, "failure": failure.to_string() })
                })
            })
            .collect(),
    )
}

pub(crate) fn breaker_state(state: &EndpointState) -> BreakerState {
    state.breaker.state()
}
