//! Chain events as the store records them: one shape for every chain
//! (EVM contracts now, the Solana program and the ICP canister later), each
//! carrying the state it leaves behind so derived rows are set, not summed.

use alloy_primitives::{B256, I256, U256};
use serde::{Deserialize, Serialize};

/// An account or contract as its chain writes it (`0x…` lowercase hex on
/// EVM chains, base58 on Solana).
pub type Account = String;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum ChainEvent {
    ProviderRegistered {
        provider: Account,
        operator: Account,
        stake: U256,
    },
    StakeAdded {
        provider: Account,
        amount: U256,
        stake: U256,
    },
    OperatorChanged {
        provider: Account,
        operator: Account,
    },
    ServiceAdded {
        service_id: B256,
        provider: Account,
        service_chain: String,
        service_kind: String,
        url: String,
        metadata_hash: B256,
    },
    ServiceRemoved {
        service_id: B256,
        provider: Account,
    },
    UnbondStarted {
        provider: Account,
        amount: U256,
        stake: U256,
        unbonding: U256,
        release_at: u64,
    },
    Withdrawn {
        provider: Account,
        amount: U256,
        exited: bool,
    },
    Slashed {
        provider: Account,
        nonce: U256,
        amount: U256,
        reason: u8,
        evidence_hash: B256,
        receipt_id: B256,
        stake: U256,
        unbonding: U256,
    },
    Deposited {
        account: Account,
        asset: Account,
        amount: U256,
        balance: U256,
    },
    WithdrawalRequested {
        account: Account,
        asset: Account,
        amount: U256,
        ready_at: u64,
    },
    BalanceWithdrawn {
        account: Account,
        asset: Account,
        amount: U256,
        balance: U256,
    },
    BatchSettled {
        batch_id: u64,
        commitment_hash: B256,
        intents_root: B256,
        deltas_root: B256,
        receipt_id: B256,
        window_start: u64,
        window_end: u64,
        intent_count: u32,
        delta_count: u32,
    },
    BalanceChanged {
        batch_id: u64,
        account: Account,
        asset: Account,
        delta: I256,
        balance: U256,
    },
    /// A contract event that decoded but cannot be held as it is (text no
    /// store column accepts, a chain id that is not CAIP-2): kept in the
    /// event log, so counts still match the contract's, with what was wrong
    /// and no derived state.
    Rejected {
        /// The contract event's name.
        event: String,
        reason: String,
    },
}

impl ChainEvent {
    /// The variant's name, stored beside the event for queries by kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ProviderRegistered { .. } => "ProviderRegistered",
            Self::StakeAdded { .. } => "StakeAdded",
            Self::OperatorChanged { .. } => "OperatorChanged",
            Self::ServiceAdded { .. } => "ServiceAdded",
            Self::ServiceRemoved { .. } => "ServiceRemoved",
            Self::UnbondStarted { .. } => "UnbondStarted",
            Self::Withdrawn { .. } => "Withdrawn",
            Self::Slashed { .. } => "Slashed",
            Self::Deposited { .. } => "Deposited",
            Self::WithdrawalRequested { .. } => "WithdrawalRequested",
            Self::BalanceWithdrawn { .. } => "BalanceWithdrawn",
            Self::BatchSettled { .. } => "BatchSettled",
            Self::BalanceChanged { .. } => "BalanceChanged",
            Self::Rejected { .. } => "Rejected",
        }
    }
}

/// An event with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord {
    pub block_number: u64,
    pub log_index: u64,
    pub block_hash: B256,
    pub tx_hash: String,
    pub contract: Account,
    pub event: ChainEvent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BlockRecord {
    pub number: u64,
    pub hash: B256,
    pub parent_hash: B256,
    pub time: u64,
}

/// How far a chain has been indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub block_number: u64,
    pub block_hash: B256,
    /// Blocks at or below this are final: no undo is kept for them.
    pub finalized_block: u64,
}

/// The blocks `first_block..=last.number` and their events, written in one
/// transaction together with the cursor that follows them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BlockBatch {
    /// Must follow the stored cursor.
    pub first_block: u64,
    /// The range's last block; the cursor moves to it.
    pub last: BlockRecord,
    /// Headers kept for reorg detection: every block of the range that is
    /// not yet final (final ranges need only `last`). In order.
    pub headers: Vec<BlockRecord>,
    /// In (block, log index) order.
    pub events: Vec<EventRecord>,
    /// Blocks at or below this are final once the batch is written.
    pub finalized_block: u64,
}
