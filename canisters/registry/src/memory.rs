//! Stable-memory layout. Every structure has its own named memory id; ids are
//! never reused or renumbered, because an upgrade reads the old layout.

use std::borrow::Cow;

use candid::{CandidType, Decode, Encode};
use ic_stable_structures::{
    Memory,
    memory_manager::{MemoryId, MemoryManager, VirtualMemory},
    storable::{Bound, Storable},
};
use serde::de::DeserializeOwned;

pub const CONFIG: MemoryId = MemoryId::new(0);
pub const NAMES: MemoryId = MemoryId::new(1);
pub const SLASH_NONCES: MemoryId = MemoryId::new(2);
pub const RATE_WINDOWS: MemoryId = MemoryId::new(3);
pub const BATCH_HEADS: MemoryId = MemoryId::new(4);
pub const PROVIDERS: MemoryId = MemoryId::new(5);
pub const EVENTS_INDEX: MemoryId = MemoryId::new(6);
pub const EVENTS_DATA: MemoryId = MemoryId::new(7);

pub type Mem<M> = VirtualMemory<M>;

pub fn manager<M: Memory>(memory: M) -> MemoryManager<M> {
    MemoryManager::init(memory)
}

/// A value kept candid-encoded: the same encoding the interface uses, so a
/// field added as `opt` stays readable across upgrades.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored<T>(pub T);

impl<T: CandidType + DeserializeOwned> Storable for Stored<T> {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.encode())
    }

    fn into_bytes(self) -> Vec<u8> {
        self.encode()
    }

    fn from_bytes(bytes: Cow<'_, [u8]>) -> Self {
        // Only this canister writes these bytes, from the same types; a
        // failure means corrupted stable memory, where trapping is the only
        // safe answer.
        Self(Decode!(bytes.as_ref(), T).expect("stable memory holds a value this canister wrote"))
    }

    const BOUND: Bound = Bound::Unbounded;
}

impl<T: CandidType> Stored<T> {
    fn encode(&self) -> Vec<u8> {
        Encode!(&self.0).expect("candid encoding of an in-memory value")
    }
}
