//! All canister state, in stable structures over one memory. Opening a
//! `State` on memory that already holds one (after an upgrade, or in a test
//! that reloads) reads it back instead of starting empty.

use candid::{CandidType, Principal};
use ic_stable_structures::{Memory, StableBTreeMap, StableCell, StableLog};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::{
    memory::{self, Mem, Stored},
    types::{Event, EventEntry, InitArgs, NameEntry, ProviderInfo, RegistryError, SignPolicy},
};

/// Most events one `get_events` call returns, so a reply stays far below the
/// message size limit.
pub const MAX_EVENTS_PER_PAGE: u64 = 256;

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct Config {
    pub init: Option<InitArgs>,
    /// SEC1 public key of the signing key, fetched once from the management
    /// canister: it only changes with the key name.
    pub public_key: Option<ByteBuf>,
}

/// Last batch signed for one settlement contract.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct BatchHead {
    pub batch_id: u64,
    pub digest: ByteBuf,
}

/// Slashes signed for one provider in the current fixed window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct RateWindow {
    pub window: u64,
    pub count: u32,
}

pub struct State<M: Memory> {
    pub(crate) config: StableCell<Stored<Config>, Mem<M>>,
    pub(crate) names: StableBTreeMap<String, Stored<NameEntry>, Mem<M>>,
    /// Key: chain id (8 bytes BE) ‖ registry (20) ‖ nonce (16 BE).
    pub(crate) slash_nonces: StableBTreeMap<Vec<u8>, (), Mem<M>>,
    /// Key: the provider's 20-byte address.
    pub(crate) rate_windows: StableBTreeMap<Vec<u8>, Stored<RateWindow>, Mem<M>>,
    /// Key: chain id (8 bytes BE) ‖ settlement (20).
    pub(crate) batch_heads: StableBTreeMap<Vec<u8>, Stored<BatchHead>, Mem<M>>,
    pub(crate) providers: StableBTreeMap<Principal, Stored<ProviderInfo>, Mem<M>>,
    pub(crate) events: StableLog<Stored<EventEntry>, Mem<M>, Mem<M>>,
}

impl<M: Memory> std::fmt::Debug for State<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("names", &self.names.len())
            .field("providers", &self.providers.len())
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

/// Everything a `State` holds, for comparing state across an upgrade.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    pub config: Config,
    pub names: Vec<(String, NameEntry)>,
    pub slash_nonces: Vec<Vec<u8>>,
    pub rate_windows: Vec<(Vec<u8>, RateWindow)>,
    pub batch_heads: Vec<(Vec<u8>, BatchHead)>,
    pub providers: Vec<(Principal, ProviderInfo)>,
    pub events: Vec<EventEntry>,
}

impl<M: Memory> State<M> {
    /// Opens the state in `memory`, empty on fresh memory.
    pub fn open(memory: M) -> Self {
        let mm = memory::manager(memory);
        Self {
            config: StableCell::init(
                mm.get(memory::CONFIG),
                Stored(Config { init: None, public_key: None }),
            ),
            names: StableBTreeMap::init(mm.get(memory::NAMES)),
            slash_nonces: StableBTreeMap::init(mm.get(memory::SLASH_NONCES)),
            rate_windows: StableBTreeMap::init(mm.get(memory::RATE_WINDOWS)),
            batch_heads: StableBTreeMap::init(mm.get(memory::BATCH_HEADS)),
            providers: StableBTreeMap::init(mm.get(memory::PROVIDERS)),
            events: StableLog::init(mm.get(memory::EVENTS_INDEX), mm.get(memory::EVENTS_DATA)),
        }
    }

    /// Sets the configuration (at install, or by a controller later). A new
    /// key name drops the cached public key.
    pub fn configure(&mut self, args: InitArgs) {
        let mut config = self.config.get().0.clone();
        if config.init.as_ref().map(|c| &c.key_name) != Some(&args.key_name) {
            config.public_key = None;
        }
        config.init = Some(args);
        self.config.set(Stored(config));
    }

    pub fn config(&self) -> Config {
        self.config.get().0.clone()
    }

    pub(crate) fn init_args(&self) -> Result<InitArgs, RegistryError> {
        self.config
            .get()
            .0
            .init
            .clone()
            .ok_or_else(|| RegistryError::InvalidArgument("canister is not configured".into()))
    }

    pub(crate) fn policy(&self) -> Result<SignPolicy, RegistryError> {
        Ok(self.init_args()?.policy)
    }

    pub(crate) fn set_public_key(&mut self, key: Vec<u8>) {
        let mut config = self.config.get().0.clone();
        config.public_key = Some(ByteBuf::from(key));
        self.config.set(Stored(config));
    }

    pub(crate) fn log(&mut self, time: u64, event: Event) {
        let id = self.events.len();
        self.events
            .append(&Stored(EventEntry { id, time, event }))
            // The log grows until stable memory (hundreds of GiB) is full;
            // failing the message then is right, and nothing was written.
            .expect("stable memory has room for the event");
    }

    /// Events `from` (inclusive) onward, at most `limit` (capped).
    pub fn get_events(&self, from: u64, limit: u64) -> Vec<EventEntry> {
        let end = from.saturating_add(limit.min(MAX_EVENTS_PER_PAGE)).min(self.events.len());
        (from..end).filter_map(|i| self.events.get(i).map(|e| e.0)).collect()
    }

    pub fn event_count(&self) -> u64 {
        self.events.len()
    }

    pub fn dump(&self) -> Dump {
        Dump {
            config: self.config(),
            names: self.names.iter().map(|e| (e.key().clone(), e.value().0)).collect(),
            slash_nonces: self.slash_nonces.iter().map(|e| e.key().clone()).collect(),
            rate_windows: self
                .rate_windows
                .iter()
                .map(|e| (e.key().clone(), e.value().0))
                .collect(),
            batch_heads: self.batch_heads.iter().map(|e| (e.key().clone(), e.value().0)).collect(),
            providers: self.providers.iter().map(|e| (*e.key(), e.value().0)).collect(),
            events: self.events.iter().map(|e| e.0).collect(),
        }
    }
}
