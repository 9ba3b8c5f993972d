#![doc = include_str!("../README.md")]

use candid::{CandidType, Principal};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// What the canister is installed (and upgraded) with.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct InitArgs {
    /// Threshold key of the management canister: `dfx_test_key` on a local
    /// replica, `test_key_1` or `key_1` on mainnet.
    pub key_name: String,
    /// Principals besides the controllers that may ask for signatures (the
    /// Cairn service's identity).
    pub signers: Vec<Principal>,
    pub policy: SignPolicy,
    /// How long a claimed or renewed name lasts.
    pub name_ttl_secs: u64,
    /// ICRC-2 ledger that provider stake is taken from (`add_stake`); none
    /// means stake cannot be added on the IC.
    pub stake_ledger: Option<Principal>,
}

/// Limits the policy signer applies before it signs anything.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct SignPolicy {
    /// Largest slash one signature may order.
    pub max_slash_amount: u128,
    /// Reason codes the evidence pipeline produces; anything else is refused.
    pub reasons: Vec<u8>,
    /// Most slashes signed per provider within one `rate_window_secs`.
    pub max_slashes_per_window: u32,
    pub rate_window_secs: u64,
    /// Farthest a deadline may lie in the future: a signed slash is a bearer
    /// instrument, so it must not stay usable for long.
    pub max_deadline_secs: u64,
}

/// A request to sign an EIP-712 `Slash` for the `Registry` contract at
/// `registry` on `chain_id`. The canister rebuilds the digest from these
/// fields and refuses to sign when it differs from `digest`, so the caller
/// and the canister always agree on what is signed.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct SlashRequest {
    pub chain_id: u64,
    /// 20 bytes.
    pub registry: ByteBuf,
    /// 20 bytes.
    pub provider: ByteBuf,
    pub amount: u128,
    pub reason: u8,
    /// 32 bytes each.
    pub evidence_hash: ByteBuf,
    pub receipt_id: ByteBuf,
    pub nonce: u128,
    pub deadline: u64,
    /// The EIP-712 digest the caller expects, 32 bytes.
    pub digest: ByteBuf,
}

/// A request to sign an EIP-712 `BatchCommitment` for the `Settlement`
/// contract at `settlement` on `chain_id`.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct BatchRequest {
    pub chain_id: u64,
    /// 20 bytes.
    pub settlement: ByteBuf,
    pub batch_id: u64,
    /// 32 bytes each.
    pub prev_hash: ByteBuf,
    pub window_start: u64,
    pub window_end: u64,
    pub intents_root: ByteBuf,
    pub deltas_root: ByteBuf,
    pub intent_count: u32,
    pub delta_count: u32,
    pub receipt_id: ByteBuf,
    /// The EIP-712 digest the caller expects, 32 bytes.
    pub digest: ByteBuf,
}

/// A signature the contracts accept: `r ‖ s ‖ v`, low-s, v = 27 or 28.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct SignedDigest {
    pub digest: ByteBuf,
    pub signature: ByteBuf,
    /// The Ethereum address that signed, 20 bytes.
    pub signer: ByteBuf,
}

/// Where a name points.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// CAIP-2, e.g. `eip155:1`.
    pub chain: String,
    pub kind: String,
    pub url: String,
    /// Who serves it: a principal or CAIP-10 account, as text.
    pub provider: String,
}

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub enum NameOwner {
    Principal(Principal),
    /// An Ethereum address (20 bytes) that proved the claim with an EIP-191
    /// signature; `NameEntry::controller` acts for it on the IC.
    Ethereum(ByteBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct NameEntry {
    pub name: String,
    pub owner: NameOwner,
    /// The principal allowed to transfer, renew and edit the name.
    pub controller: Principal,
    pub records: Vec<ServiceRecord>,
    /// Unix seconds; past it the name resolves to `NameExpired` and may be
    /// claimed again.
    pub expires_at: u64,
}

/// A claim for an Ethereum address: the address signs (EIP-191
/// `personal_sign`) [`eth_claim_message`] for the calling principal.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct EthClaim {
    pub name: String,
    /// 20 bytes.
    pub address: ByteBuf,
    /// Unix seconds until which the signed message may be used.
    pub valid_until: u64,
    /// 65 bytes, r ‖ s ‖ v.
    pub signature: ByteBuf,
    pub records: Vec<ServiceRecord>,
}

/// The text an Ethereum address signs to claim `name` for `principal` on the
/// canister `canister`. Binding the principal and canister stops anyone who
/// sees the signature from using it for another claimant or deployment.
pub fn eth_claim_message(
    name: &str,
    principal: &Principal,
    canister: &Principal,
    valid_until: u64,
) -> String {
    format!(
        "Cairn name claim\nname: {name}\nprincipal: {principal}\ncanister: {canister}\nvalid until: {valid_until}"
    )
}

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct EndpointArgs {
    pub chain: String,
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct Endpoint {
    /// `ServiceId` of `cairn-core` over the provider principal's bytes, 32 bytes.
    pub service_id: ByteBuf,
    pub provider: Principal,
    pub chain: String,
    pub kind: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct ProviderInfo {
    pub provider: Principal,
    /// Manages endpoints besides the provider itself.
    pub operator: Principal,
    /// Stake received through `add_stake` from the configured ICRC-2 ledger.
    pub stake: u128,
    pub endpoints: Vec<Endpoint>,
    pub registered_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub enum Event {
    NameClaimed {
        name: String,
        owner: NameOwner,
        controller: Principal,
        expires_at: u64,
    },
    NameTransferred {
        name: String,
        controller: Principal,
    },
    NameRenewed {
        name: String,
        expires_at: u64,
    },
    RecordsSet {
        name: String,
        records: Vec<ServiceRecord>,
    },
    ProviderRegistered {
        provider: Principal,
        operator: Principal,
    },
    EndpointAdded {
        endpoint: Endpoint,
    },
    /// `amount` moved from the provider to this canister on `ledger`, in
    /// ledger block `block_index`.
    StakeAdded {
        provider: Principal,
        amount: u128,
        ledger: Principal,
        block_index: u128,
        stake: u128,
    },
    EndpointRemoved {
        service_id: ByteBuf,
        provider: Principal,
    },
    SlashSigned {
        chain_id: u64,
        provider: ByteBuf,
        amount: u128,
        nonce: u128,
        digest: ByteBuf,
    },
    BatchSigned {
        chain_id: u64,
        settlement: ByteBuf,
        batch_id: u64,
        digest: ByteBuf,
    },
}

/// One entry of the numbered log; `id` is the indexer's cursor.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub struct EventEntry {
    pub id: u64,
    /// Unix seconds.
    pub time: u64,
    pub event: Event,
}

/// Every refusal, as a candid variant whose names are the stable codes
/// clients match on.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Serialize, Deserialize)]
pub enum RegistryError {
    Unauthorised,
    /// A field has the wrong length or an impossible value.
    InvalidArgument(String),
    /// The digest rebuilt from the typed fields is not the one the caller sent.
    DigestMismatch {
        rebuilt: ByteBuf,
    },
    NonceUsed,
    AmountOverPolicy {
        max: u128,
    },
    ReasonNotAllowed,
    MissingEvidence,
    RateLimited {
        retry_after_secs: u64,
    },
    BadDeadline,
    /// The batch does not extend the last one this canister signed for that
    /// settlement contract.
    BatchOutOfOrder {
        expected_batch_id: u64,
        expected_prev_hash: ByteBuf,
    },
    InvalidName(String),
    NameTaken,
    NameExpired,
    NameNotFound,
    BadSignature,
    ClaimExpired,
    InvalidRecord(String),
    AlreadyRegistered,
    NotRegistered,
    EndpointNotFound,
    TooManyEndpoints,
    /// No stake ledger is configured.
    NoStakeLedger,
    /// The ledger refused or failed the transfer; nothing was recorded.
    Ledger(String),
    /// The management canister refused or failed a threshold-ECDSA call.
    Signing(String),
}

pub type RegistryResult<T> = Result<T, RegistryError>;
