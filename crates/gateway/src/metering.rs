//! Who called what through the gateway, for paying providers: per answered
//! call, the signed-in wallet it was made for, the provider whose answer
//! was served and the method's price class. Counts are summed in memory and
//! handed to a [`UsageSink`] (the service's store) in batches, off the
//! request path, so an answer never waits for a database write.

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};

use crate::{
    gateway::{Gateway, Inner},
    metrics::add,
    source::BoxFuture,
};

/// How a call is priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodClass {
    /// Cheap reads: block numbers, balances, blocks, receipts.
    Read,
    /// Reads that make the node execute or scan (`metering.heavy_methods`).
    Heavy,
    /// Transactions sent (`write_methods`).
    Write,
}

impl MethodClass {
    pub const ALL: [Self; 3] = [Self::Read, Self::Heavy, Self::Write];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Heavy => "heavy",
            Self::Write => "write",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl fmt::Display for MethodClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The signed-in wallet a request is made for (CAIP-10), put in the
/// request's extensions by whoever checked the session. A request without
/// one is anonymous and is not metered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payer(pub String);

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UsageKey {
    /// CAIP-10 account of the signed-in wallet.
    pub wallet: String,
    /// CAIP-2 chain the call was served on.
    pub chain: String,
    /// CAIP-10 id of the provider whose answer was served.
    pub provider: String,
    pub class: MethodClass,
}

/// Calls counted under one key, and when (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageCount {
    pub calls: u64,
    pub first_seen: i64,
    pub last_seen: i64,
}

impl UsageCount {
    fn merge(&mut self, other: &Self) {
        self.calls = self.calls.saturating_add(other.calls);
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// Where counted usage goes: each batch is added to what was there.
pub trait UsageSink: Send + Sync + 'static {
    fn record<'a>(
        &'a self,
        usage: &'a [(UsageKey, UsageCount)],
    ) -> BoxFuture<'a, Result<(), String>>;
}

/// Sums usage in memory, for tests and for a gateway without a store.
#[derive(Debug, Default)]
pub struct MemoryUsage {
    totals: Mutex<BTreeMap<UsageKey, UsageCount>>,
}

impl MemoryUsage {
    pub fn totals(&self) -> BTreeMap<UsageKey, UsageCount> {
        self.totals.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl UsageSink for MemoryUsage {
    fn record<'a>(
        &'a self,
        usage: &'a [(UsageKey, UsageCount)],
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
            for (key, count) in usage {
                totals.entry(key.clone()).and_modify(|t| t.merge(count)).or_insert(*count);
            }
            Ok(())
        })
    }
}

/// Keys held while the sink is failing; past it, new keys are dropped (and
/// counted in `usage_dropped`) rather than memory growing without bound.
const MAX_PENDING_KEYS: usize = 100_000;

pub(crate) struct Meter {
    sink: Option<Arc<dyn UsageSink>>,
    pending: Mutex<HashMap<UsageKey, UsageCount>>,
    /// One flush at a time, so a batch that failed and is merged back is not
    /// overtaken by a later one.
    flushing: tokio::sync::Mutex<()>,
    flusher_started: AtomicBool,
}

impl fmt::Debug for Meter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Meter").field("metered", &self.sink.is_some()).finish_non_exhaustive()
    }
}

impl Meter {
    pub(crate) fn new(sink: Option<Arc<dyn UsageSink>>) -> Self {
        Self {
            sink,
            pending: Mutex::default(),
            flushing: tokio::sync::Mutex::new(()),
            flusher_started: AtomicBool::new(false),
        }
    }

    pub(crate) fn is_on(&self) -> bool {
        self.sink.is_some()
    }

    /// Adds `count` under `key`; false when the key had to be dropped.
    fn add(&self, key: UsageKey, count: UsageCount) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(total) = pending.get_mut(&key) {
            total.merge(&count);
            return true;
        }
        if pending.len() >= MAX_PENDING_KEYS {
            return false;
        }
        pending.insert(key, count);
        true
    }

    fn take(&self) -> Vec<(UsageKey, UsageCount)> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut batch: Vec<_> = pending.drain().collect();
        // Key order: concurrent flushes of replicas lock rows in one order.
        batch.sort_by(|a, b| a.0.cmp(&b.0));
        batch
    }
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Gateway {
    /// The price class of `method` under this gateway's configuration.
    pub fn class_of(&self, method: &str) -> MethodClass {
        let config = &self.0.config;
        if config.write_methods.iter().any(|m| m == method) {
            MethodClass::Write
        } else if config.metering.heavy_methods.iter().any(|m| m == method) {
            MethodClass::Heavy
        } else {
            MethodClass::Read
        }
    }

    /// Counts one answered call for `payer` against each provider in
    /// `served`.
    pub(crate) fn meter(&self, payer: &Payer, chain: &str, method: &str, served: &[String]) {
        let meter = &self.0.meter;
        if !meter.is_on() || served.is_empty() {
            return;
        }
        let class = self.class_of(method);
        let now = now_secs();
        for provider in served {
            let key = UsageKey {
                wallet: payer.0.clone(),
                chain: chain.to_owned(),
                provider: provider.clone(),
                class,
            };
            if meter.add(key, UsageCount { calls: 1, first_seen: now, last_seen: now }) {
                add(&self.0.metrics.metered_calls, 1);
            } else {
                add(&self.0.metrics.usage_dropped, 1);
            }
        }
        self.start_flusher();
    }

    /// Hands every count gathered so far to the sink. On failure the counts
    /// go back to be tried again with the next flush.
    pub async fn flush_usage(&self) -> Result<(), String> {
        let meter = &self.0.meter;
        let Some(sink) = &meter.sink else { return Ok(()) };
        let _one_at_a_time = meter.flushing.lock().await;
        let batch = meter.take();
        if batch.is_empty() {
            return Ok(());
        }
        match sink.record(&batch).await {
            Ok(()) => {
                add(&self.0.metrics.usage_flushes, 1);
                Ok(())
            }
            Err(error) => {
                add(&self.0.metrics.usage_flushes_failed, 1);
                for (key, count) in batch {
                    if !meter.add(key, count) {
                        add(&self.0.metrics.usage_dropped, count.calls);
                    }
                }
                Err(error)
            }
        }
    }

    /// The task that flushes every `metering.flush_ms`, started with the
    /// first count (the gateway may be built outside a runtime). It holds
    /// the gateway weakly and ends once the gateway is dropped.
    fn start_flusher(&self) {
        let meter = &self.0.meter;
        if meter.flusher_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            meter.flusher_started.store(false, Ordering::Release);
            return;
        };
        let every = Duration::from_millis(self.0.config.metering.flush_ms.max(1));
        let weak: Weak<Inner> = Arc::downgrade(&self.0);
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { break };
                if let Err(error) = Gateway(inner).flush_usage().await {
                    tracing::warn!(%error, "usage could not be written; kept for the next flush");
                }
            }
        });
    }
}
