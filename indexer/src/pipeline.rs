//! The indexing loop. Below the finality depth, ranges of blocks are read
//! with `eth_getLogs` and written in bulk; at the tip, blocks are taken one
//! at a time, each checked against its parent so a reorg is caught and
//! rolled back to the fork point before the new branch is written.

use std::{collections::VecDeque, sync::Arc, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::B256,
    providers::Provider,
    rpc::types::{Filter, Log},
};
use cairn_bindings::{Registry, Settlement};
use cairn_config::IndexerConfig;
use cairn_store::{BlockBatch, BlockRecord, EventRecord, Store, StoreError};

use crate::{
    decode::{Contracts, DecodeError, account},
    metrics::Metrics,
    rpc::{FailureKind, RpcError, RpcPool, failure},
};

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("block {block}, log {log}: {source}")]
    Decode {
        block: u64,
        log: u64,
        #[source]
        source: DecodeError,
    },
    #[error(
        "the chain reorganised below the finality depth (no common block above {0}); re-index from scratch"
    )]
    DeepReorg(u64),
}

impl IndexerError {
    /// Whether the step may succeed if tried again later: every RPC URL was
    /// failing for now, or the store was busy. A following indexer waits
    /// these out; wrong data and deep reorgs stop it.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Rpc(RpcError::Exhausted { .. }) => true,
            Self::Store(error) => error.is_transient(),
            _ => false,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Blocks `from..=to` written with `events` events.
    Indexed { from: u64, to: u64, events: usize },
    /// A reorg was rolled back to `fork`.
    Reorg { fork: u64 },
    /// The range was too large for the node; it shrank to `range` blocks.
    Shrunk { range: u64 },
    /// Nothing new: the cursor is at `head`.
    Idle { head: u64 },
}

#[derive(Debug, Clone)]
pub struct IndexerSettings {
    /// CAIP-2 id the store files the chain under.
    pub chain: String,
    pub contracts: Contracts,
    /// First block that can hold a Cairn event (the deployment block).
    pub start_block: u64,
    pub finality_depth: u64,
    pub tuning: IndexerConfig,
}

#[derive(Debug)]
pub struct Indexer {
    store: Store,
    rpc: RpcPool,
    settings: IndexerSettings,
    range: u64,
    metrics: Arc<Metrics>,
    /// The next backfill ranges, in order, being read while the current one
    /// is written.
    prefetch: VecDeque<Prefetch>,
    ceiling: Option<Ceiling>,
}

/// After the node refuses a range (too many results, or no answer in time),
/// ranges stay below the refused size for this many successes in a row,
/// then may grow past it again (the refusal may have been about how dense
/// that stretch of the chain was).
const CEILING_SUCCESSES: u32 = 16;

/// The largest range to try since the node last refused one.
#[derive(Debug, Clone, Copy)]
struct Ceiling {
    blocks: u64,
    successes: u32,
}

/// Backfill ranges read ahead of the one being written. With two, the node
/// answers one while the answer before it is decoded, so reading keeps pace
/// with writing instead of taking turns with itself.
const PREFETCH_DEPTH: usize = 2;

/// A backfill range read ahead.
#[derive(Debug)]
struct Prefetch {
    from: u64,
    to: u64,
    /// The contracts' counts at `to`, once the range's check has them.
    counts_after: CountsAt,
    task: AbortOnDrop<Result<Fetched, RpcError>>,
}

/// Each contract's `stateEventCount` at one block, set by the check of the
/// range ending there, so the check of the range after it need not ask.
type CountsAt = Arc<tokio::sync::OnceCell<[u64; 2]>>;

fn counts_known(counts: [u64; 2]) -> CountsAt {
    Arc::new(tokio::sync::OnceCell::new_with(Some(counts)))
}

/// A backfill range as read from the node and decoded: its events and its
/// last header. Decoding happens in the fetching task, beside the write of
/// the range before.
#[derive(Debug)]
struct Fetched {
    events: Vec<EventRecord>,
    last: alloy::rpc::types::Header,
}

/// Aborts the task when dropped, so it ends with whatever started it.
#[derive(Debug)]
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Subscribes to new heads at `url` and signals each one; reconnects with
/// backoff whenever the subscription ends or cannot be made.
async fn watch_heads(url: url::Url, new_head: Arc<tokio::sync::Notify>, metrics: Arc<Metrics>) {
    use alloy::providers::{Provider, ProviderBuilder, WsConnect};
    let mut delay = Duration::from_millis(200);
    loop {
        let subscribed = async {
            let provider = ProviderBuilder::new().connect_ws(WsConnect::new(url.as_str())).await?;
            // Only the signal matters, so heads are taken as raw JSON: a node
            // whose header lacks a field alloy's typed header wants would
            // otherwise have its notifications dropped unseen.
            let subscription = provider.subscribe::<_, serde_json::Value>(("newHeads",)).await?;
            // The subscription lives only as long as its provider.
            Ok::<_, alloy::transports::TransportError>((provider, subscription))
        };
        match subscribed.await {
            Ok((_provider, mut subscription)) => {
                metrics.ws_subscriptions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(%url, "following new heads over WebSocket");
                delay = Duration::from_millis(200);
                // A lagged receiver missed heads, which only means the tip
                // is due now, as for a head received.
                while let Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) =
                    subscription.recv().await
                {
                    metrics.ws_heads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    new_head.notify_one();
                }
                tracing::warn!(%url, "new-head subscription ended; reconnecting");
            }
            Err(error) => {
                tracing::warn!(%url, %error, "cannot subscribe to new heads; polling meanwhile");
            }
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// The events `filter` selects in `from..=to`, from `eth_getLogs` retried
/// across the pool until the answer is ordered, decodes and (with `verify`)
/// is complete: the events before the range (`before`: what the store
/// holds, or the contracts' counts at `from - 1`, asked for if the range
/// before has not set them) plus the answer's must equal each contract's
/// `stateEventCount` at `to`, which goes into `after`. The counts are asked
/// for once the logs have come (a failed answer costs one request) and
/// while they are decoded.
async fn checked_events(
    rpc: &RpcPool,
    (contracts, verify): (Contracts, bool),
    (before, after): (&CountsAt, &CountsAt),
    filter: Filter,
    (from, to): (u64, u64),
) -> Result<Vec<EventRecord>, RpcError> {
    rpc.call("eth_getLogs", |p| {
        let filter = filter.clone();
        async move {
            let counts = async {
                if !verify {
                    return Ok(None);
                }
                let before = async {
                    match before.get() {
                        Some(counts) => Ok(*counts),
                        None if from == 0 => Ok([0, 0]),
                        None => state_event_counts(&p, &contracts, from - 1).await,
                    }
                };
                let (before, after) = tokio::join!(before, state_event_counts(&p, &contracts, to));
                Ok(Some((before?, after?)))
            };
            let logs = p.get_logs(&filter).await.map_err(failure)?;
            check_order(&logs)?;
            let (counts, events) = tokio::join!(counts, async { records(&contracts, &logs) });
            // A log of ours that does not decode is a broken answer too.
            let events = events.map_err(|e| (FailureKind::Inconsistent, e.to_string()))?;
            if let Some((before, counts_after)) = counts? {
                check_counts(&contracts, &events, before, counts_after, to)?;
                // Set once: every answer that passes has the same counts.
                let _ = after.set(counts_after);
            }
            Ok(events)
        }
    })
    .await
}

/// Reads backfill range `from..=to`: its checked events and its last header.
async fn fetch_range(
    rpc: RpcPool,
    checks: (Contracts, bool),
    (before, after): (CountsAt, CountsAt),
    from: u64,
    to: u64,
) -> Result<Fetched, RpcError> {
    let filter = Filter::new().address(checks.0.addresses().to_vec()).from_block(from).to_block(to);
    let (events, last) = tokio::join!(
        checked_events(&rpc, checks, (&before, &after), filter, (from, to)),
        header_at(&rpc, to)
    );
    Ok(Fetched { events: events?, last: last? })
}

async fn header_at(rpc: &RpcPool, number: u64) -> Result<alloy::rpc::types::Header, RpcError> {
    rpc.call("eth_getBlockByNumber", |p| async move {
        match p.get_block_by_number(BlockNumberOrTag::Number(number)).await.map_err(failure)? {
            Some(block) => Ok(block.header),
            None => {
                Err((FailureKind::Inconsistent, format!("block {number} is unknown to this node")))
            }
        }
    })
    .await
}

fn block_record(header: &alloy::rpc::types::Header) -> BlockRecord {
    BlockRecord {
        number: header.number,
        hash: header.hash,
        parent_hash: header.parent_hash,
        time: header.timestamp,
    }
}

impl Indexer {
    pub fn new(
        store: Store,
        rpc_urls: &[url::Url],
        settings: IndexerSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        let rpc = RpcPool::new(rpc_urls, settings.tuning.clone(), metrics.clone());
        // Start small: the first ranges measure how dense the history is.
        let range = settings.tuning.max_range_blocks.clamp(1, 16);
        Self { store, rpc, settings, range, metrics, prefetch: VecDeque::new(), ceiling: None }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Steps until the cursor reaches the head, then returns it. A step that
    /// fails for a reason that may pass (every RPC URL failing for now, the
    /// store busy) is waited out and redone, as [`Indexer::run`] does, up to
    /// [`CATCH_UP_RETRIES`] times in a row; nothing of a failed step is
    /// written.
    pub async fn catch_up(&mut self) -> Result<u64, IndexerError> {
        let poll = Duration::from_millis(self.settings.tuning.poll_interval_ms);
        let (mut retry, mut failures) = (poll, 0);
        loop {
            match self.step().await {
                Ok(Step::Idle { head }) => return Ok(head),
                Ok(_) => (retry, failures) = (poll, 0),
                Err(error) if error.is_transient() && failures < CATCH_UP_RETRIES => {
                    failures += 1;
                    self.metrics.step_retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(%error, retry_in = ?retry, "indexing step failed; retrying");
                    tokio::time::sleep(retry).await;
                    retry = step_backoff(retry);
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Follows the chain until `shutdown` resolves, logging progress.
    pub async fn run(
        &mut self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), IndexerError> {
        tokio::pin!(shutdown);
        let poll = Duration::from_millis(self.settings.tuning.poll_interval_ms);
        let mut retry = poll;
        let started = std::time::Instant::now();
        // With a WebSocket URL in the pool, each new head wakes the tip at
        // once; polling stays as the fallback while the socket is down.
        let new_head = Arc::new(tokio::sync::Notify::new());
        let _heads = self.rpc.websocket_url().map(|url| {
            AbortOnDrop(tokio::spawn(watch_heads(url, new_head.clone(), self.metrics.clone())))
        });
        loop {
            let step = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                step = self.step() => step,
            };
            let step = match step {
                Ok(step) => {
                    retry = poll;
                    step
                }
                Err(error) if error.is_transient() => {
                    // Nothing of the failed step was written; it is redone.
                    self.metrics.step_retries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!(%error, retry_in = ?retry, "indexing step failed; retrying");
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(retry) => {}
                    }
                    retry = step_backoff(retry);
                    continue;
                }
                Err(error) => return Err(error),
            };
            match step {
                Step::Indexed { from, to, events } => {
                    let total = self.metrics.events.load(std::sync::atomic::Ordering::Relaxed);
                    let rate = total as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    let behind = self.metrics.head_lag();
                    tracing::info!(
                        from,
                        to,
                        events,
                        behind,
                        events_per_s = rate.round(),
                        "indexed"
                    );
                }
                Step::Reorg { fork } => tracing::warn!(fork, "reorg rolled back"),
                Step::Shrunk { range } => tracing::info!(range, "log range shrunk"),
                Step::Idle { .. } => {
                    tokio::select! {
                        _ = &mut shutdown => return Ok(()),
                        _ = tokio::time::sleep(poll) => {}
                        _ = new_head.notified() => {}
                    }
                }
            }
        }
    }

    /// One unit of work: a backfill range, one tip block, or a reorg rollback.
    pub async fn step(&mut self) -> Result<Step, IndexerError> {
        let head = self
            .rpc
            .call("eth_blockNumber", |p| async move { p.get_block_number().await.map_err(failure) })
            .await?;
        self.metrics.head.store(head, std::sync::atomic::Ordering::Relaxed);
        let finalized = head.saturating_sub(self.settings.finality_depth);
        let cursor = self.store.cursor(&self.settings.chain).await?;
        let next = cursor.map_or(self.settings.start_block, |c| c.block_number + 1);
        if next > head {
            return Ok(Step::Idle { head });
        }
        if next < finalized {
            // A range read ahead is used as it is if it still lies below
            // finality; any other is dropped.
            let to = match self.prefetch.front() {
                Some(prefetch) if prefetch.from == next && prefetch.to <= finalized => prefetch.to,
                _ => finalized.min(next + self.range - 1),
            };
            return self.backfill(next, to, finalized).await;
        }
        self.prefetch.clear();
        self.tip(next, cursor.map(|c| (c.block_number, c.block_hash)), finalized).await
    }

    async fn backfill(&mut self, from: u64, to: u64, finalized: u64) -> Result<Step, IndexerError> {
        let checks = (self.settings.contracts, self.verify());
        let (fetched, counts_after) = match self.prefetch.pop_front() {
            Some(prefetch) if prefetch.from == from && prefetch.to == to => {
                let mut task = prefetch.task;
                let fetched = (&mut task.0).await.map_err(|e| RpcError::Store(e.to_string()));
                (fetched.and_then(|result| result), prefetch.counts_after)
            }
            _ => {
                // Ranges read ahead of another start would not follow on.
                self.prefetch.clear();
                let counts = (counts_known(self.held().await?), CountsAt::default());
                let after = counts.1.clone();
                (fetch_range(self.rpc.clone(), checks, counts, from, to).await, after)
            }
        };
        let fetched = match fetched {
            Ok(fetched) => fetched,
            // A range the node refuses as too large, or cannot answer in
            // time from any URL, is tried again at half the size, and no
            // range as large is tried for a while.
            Err(error) if range_too_large(&error) && to > from => {
                self.prefetch.clear();
                let refused = to - from + 1;
                self.range = (refused / 2).max(1);
                self.ceiling = Some(Ceiling { blocks: refused - 1, successes: 0 });
                return Ok(Step::Shrunk { range: self.range });
            }
            Err(e) => {
                self.prefetch.clear();
                return Err(e.into());
            }
        };
        let events = fetched.events;
        let count = events.len();
        self.range = next_range(self.range, to - from + 1, count, &self.settings.tuning);
        if let Some(ceiling) = &mut self.ceiling {
            ceiling.successes += 1;
            if ceiling.successes >= CEILING_SUCCESSES {
                self.ceiling = None;
            } else {
                self.range = self.range.min(ceiling.blocks);
            }
        }
        // Read the next ranges while this one is written: the node and the
        // store work at the same time. Each checks itself against the
        // contracts' counts before and after it, so none waits for another.
        let (mut next, mut counts_before) = match self.prefetch.back() {
            Some(last) => (last.to + 1, last.counts_after.clone()),
            None => (to + 1, counts_after),
        };
        while self.prefetch.len() < PREFETCH_DEPTH && next < finalized {
            let next_to = finalized.min(next + self.range - 1);
            let counts_after = CountsAt::default();
            let counts = (counts_before, counts_after.clone());
            let task = tokio::spawn(fetch_range(self.rpc.clone(), checks, counts, next, next_to));
            self.prefetch.push_back(Prefetch {
                from: next,
                to: next_to,
                counts_after: counts_after.clone(),
                task: AbortOnDrop(task),
            });
            (next, counts_before) = (next_to + 1, counts_after);
        }
        let last = block_record(&fetched.last);
        let batch = BlockBatch {
            first_block: from,
            last,
            headers: vec![last],
            events,
            finalized_block: finalized,
        };
        if let Err(error) = self.store.apply(&self.settings.chain, &batch).await {
            self.prefetch.clear();
            return Err(error.into());
        }
        self.note_indexed(from, to, count);
        Ok(Step::Indexed { from, to, events: count })
    }

    fn verify(&self) -> bool {
        self.settings.tuning.verify_counts
    }

    /// Events of each contract the store holds now.
    async fn held(&self) -> Result<[u64; 2], IndexerError> {
        let mut held = [0u64; 2];
        if self.verify() {
            for (slot, address) in held.iter_mut().zip(self.settings.contracts.addresses()) {
                *slot = self.store.event_count(&self.settings.chain, &account(&address)).await?;
            }
        }
        Ok(held)
    }

    async fn tip(
        &mut self,
        number: u64,
        cursor: Option<(u64, B256)>,
        finalized: u64,
    ) -> Result<Step, IndexerError> {
        let header = self.header(number).await?;
        if let Some((_, cursor_hash)) = cursor
            && header.parent_hash != cursor_hash
        {
            return self.roll_back_reorg(number - 1).await;
        }
        // Logs by block hash are tied to this exact header.
        let filter = Filter::new()
            .address(self.settings.contracts.addresses().to_vec())
            .at_block_hash(header.hash);
        let events = self.events(filter, number).await?;
        let count = events.len();
        let batch = BlockBatch {
            first_block: number,
            last: header,
            headers: vec![header],
            events,
            finalized_block: finalized,
        };
        match self.store.apply(&self.settings.chain, &batch).await {
            Ok(_) => {}
            Err(StoreError::ParentMismatch { .. }) => {
                return self.roll_back_reorg(number - 1).await;
            }
            Err(e) => return Err(e.into()),
        }
        self.note_indexed(number, number, count);
        Ok(Step::Indexed { from: number, to: number, events: count })
    }

    /// Walks back from `from` to the newest block whose stored hash the
    /// chain still has, and rolls the store back to it.
    async fn roll_back_reorg(&mut self, from: u64) -> Result<Step, IndexerError> {
        let cursor =
            self.store.cursor(&self.settings.chain).await?.expect("a reorg needs a cursor");
        let mut block = from.min(cursor.block_number);
        loop {
            if block < cursor.finalized_block {
                return Err(IndexerError::DeepReorg(cursor.finalized_block));
            }
            let stored = self.store.block_hash(&self.settings.chain, block).await?;
            let canonical = self.header(block).await?.hash;
            if stored == Some(canonical) {
                break;
            }
            if block == 0 {
                return Err(IndexerError::DeepReorg(0));
            }
            block -= 1;
        }
        self.store.rollback_to(&self.settings.chain, block).await?;
        self.metrics.reorgs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Step::Reorg { fork: block })
    }

    /// The events of tip block `number` that `filter` selects, checked: in
    /// order, and (with `verify_counts`) as many state events per contract
    /// as the contract's own counter at `number` says exist beyond what the
    /// store holds. An answer that fails a check is retried on another URL.
    async fn events(&self, filter: Filter, number: u64) -> Result<Vec<EventRecord>, IndexerError> {
        let counts = (&counts_known(self.held().await?), &CountsAt::default());
        let checks = (self.settings.contracts, self.verify());
        Ok(checked_events(&self.rpc, checks, counts, filter, (number, number)).await?)
    }

    async fn header(&self, number: u64) -> Result<BlockRecord, IndexerError> {
        Ok(block_record(&header_at(&self.rpc, number).await?))
    }

    fn note_indexed(&self, from: u64, to: u64, events: usize) {
        use std::sync::atomic::Ordering::Relaxed;
        self.metrics.blocks.fetch_add(to - from + 1, Relaxed);
        self.metrics.events.fetch_add(events as u64, Relaxed);
        self.metrics.indexed_block.store(to, Relaxed);
    }
}

/// The Cairn events among `logs`, with where each happened.
fn records(contracts: &Contracts, logs: &[Log]) -> Result<Vec<EventRecord>, IndexerError> {
    let mut records = Vec::with_capacity(logs.len());
    for log in logs {
        let (Some(block), Some(index), Some(hash)) =
            (log.block_number, log.log_index, log.block_hash)
        else {
            continue; // pending logs carry no position and are never asked for
        };
        let event = contracts.decode(&log.inner).map_err(|source| IndexerError::Decode {
            block,
            log: index,
            source,
        })?;
        if let Some(event) = event {
            records.push(EventRecord {
                block_number: block,
                log_index: index,
                block_hash: hash,
                tx_hash: log
                    .transaction_hash
                    .map(|h| cairn_store::hash_text(&h))
                    .unwrap_or_default(),
                contract: account(&log.inner.address),
                event,
            });
        }
    }
    Ok(records)
}

/// Failed steps in a row [`Indexer::catch_up`] waits out before it returns
/// the error: each request has already been tried `rpc_attempts` times, so
/// this rides out a node that is down for some seconds, not for good.
pub const CATCH_UP_RETRIES: u32 = 5;

/// The wait before redoing a failed step, after waiting `retry` last time.
fn step_backoff(retry: Duration) -> Duration {
    (retry * 2).clamp(Duration::from_millis(100), Duration::from_secs(30))
}

/// Whether `error` says the log range asked for was too large for the node:
/// refused as such, or not answered in time by any URL.
fn range_too_large(error: &RpcError) -> bool {
    match error {
        RpcError::TooManyResults { .. } => true,
        RpcError::Exhausted { what, last } => {
            *what == "eth_getLogs" && last.kind == FailureKind::Timeout
        }
        RpcError::Store(_) => false,
    }
}

/// The next backfill range: double the last (to `max_range_blocks`) while
/// answers stay small, and size it to about `target_events_per_range` events
/// at the density just seen, so memory stays bounded however dense the
/// history is.
fn next_range(current: u64, blocks: u64, events: usize, tuning: &IndexerConfig) -> u64 {
    let max = tuning.max_range_blocks.max(1);
    let grown = (current * 2).min(max);
    if events == 0 {
        return grown;
    }
    let fitting =
        (tuning.target_events_per_range as u128 * u128::from(blocks) / events as u128) as u64;
    grown.min(fitting).max(1)
}

/// Each contract's `stateEventCount` at block `at` (what the store keeps of
/// it once that block is indexed).
async fn state_event_counts(
    provider: &alloy::providers::DynProvider,
    contracts: &Contracts,
    at: u64,
) -> Result<[u64; 2], (FailureKind, String)> {
    // Before a contract is deployed its counter is zero: the call returns
    // no data at all, which is not a faulty answer.
    let count = |result: Result<u64, alloy::contract::Error>| match result {
        Ok(count) => Ok(count),
        Err(alloy::contract::Error::ZeroData(..)) => Ok(0),
        Err(e) => Err((FailureKind::Other, format!("stateEventCount: {e}"))),
    };
    let registry = Registry::new(contracts.registry, provider);
    let settlement = Settlement::new(contracts.settlement, provider);
    let (registry, settlement) =
        tokio::join!(async { registry.stateEventCount().block(at.into()).call().await }, async {
            settlement.stateEventCount().block(at.into()).call().await
        },);
    Ok([count(registry)?, count(settlement)?])
}

/// Compares the events an answer holds per contract with the contract's
/// count at block `to`, less its count before the range.
fn check_counts(
    contracts: &Contracts,
    events: &[EventRecord],
    before: [u64; 2],
    after: [u64; 2],
    to: u64,
) -> Result<(), (FailureKind, String)> {
    for ((address, before), after) in contracts.addresses().iter().zip(before).zip(after) {
        let contract = account(address);
        let answered = events.iter().filter(|event| event.contract == contract).count() as u64;
        if before + answered != after {
            return Err((
                FailureKind::Inconsistent,
                format!(
                    "{answered} state events from {address} up to block {to}, but the contract \
                     counts {after} there and {before} before the range"
                ),
            ));
        }
    }
    Ok(())
}

/// Logs must come in (block, index) order with positions: anything else is
/// a broken answer, retried elsewhere rather than written.
fn check_order(logs: &[Log]) -> Result<(), (FailureKind, String)> {
    let mut previous: Option<(u64, u64)> = None;
    for log in logs {
        let position = match (log.block_number, log.log_index) {
            (Some(b), Some(i)) => (b, i),
            _ => {
                return Err((
                    FailureKind::BadResponse,
                    "a log without block number or index".into(),
                ));
            }
        };
        if previous.is_some_and(|p| p >= position) {
            return Err((FailureKind::Inconsistent, format!("logs out of order at {position:?}")));
        }
        previous = Some(position);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use cairn_config::IndexerConfig;

    use super::next_range;

    #[test]
    fn ranges_grow_when_sparse_and_fit_the_event_target_when_dense() {
        let tuning = IndexerConfig {
            max_range_blocks: 2_000,
            target_events_per_range: 5_000,
            ..Default::default()
        };
        assert_eq!(next_range(100, 100, 0, &tuning), 200, "empty ranges double");
        assert_eq!(next_range(1_500, 1_500, 10, &tuning), 2_000, "capped at the maximum");
        assert_eq!(
            next_range(1_000, 1_000, 100_000, &tuning),
            50,
            "100 events per block: 50 blocks"
        );
        assert_eq!(next_range(10, 10, 1_000_000, &tuning), 1, "never below one block");
        assert_eq!(next_range(40, 40, 4_000, &tuning), 50, "room for more, but at most doubling");
    }
}
