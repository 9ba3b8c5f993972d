//! The typed messages Cairn signs, as EIP-712 structs shared with the
//! Solidity contracts (`Registry.sol`, `Settlement.sol`): a struct here and
//! its twin there must hash the same, which the contract suite checks.

use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::{Eip712Domain, SolStruct, eip712_domain, sol};
use serde::{Deserialize, Serialize};

sol! {
    /// An order to move `amount` of a provider's stake to the treasury,
    /// valid once (`nonce`) and until `deadline` (unix seconds).
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct Slash {
        address provider;
        uint256 amount;
        uint8 reason;
        bytes32 evidenceHash;
        bytes32 receiptId;
        uint256 nonce;
        uint64 deadline;
    }

    /// A payer's promise of `amount` of `asset` to `payee`, usable once per
    /// (payer, nonce) and until `validUntil` (unix seconds). The chain and
    /// the settlement contract are bound by the domain.
    #[derive(Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    struct PaymentIntent {
        address payer;
        address payee;
        address asset;
        uint256 amount;
        uint256 nonce;
        uint64 validUntil;
    }

    /// What a settled batch commits to. `prevHash` is the EIP-712 digest of
    /// the previous batch's commitment (zero for the first), chaining every
    /// batch of one settlement contract.
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct BatchCommitment {
        uint64 batchId;
        bytes32 prevHash;
        uint64 windowStart;
        uint64 windowEnd;
        bytes32 intentsRoot;
        bytes32 deltasRoot;
        uint32 intentCount;
        uint32 deltaCount;
        bytes32 receiptId;
    }

    /// One net balance change of a batch; the deltas root is built over
    /// `abi.encode(Delta)` leaves.
    #[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
    struct Delta {
        address account;
        address asset;
        int256 amount;
    }
}

/// Version string of both domains; bumped when a struct changes.
pub const DOMAIN_VERSION: &str = "1";
pub const REGISTRY_DOMAIN_NAME: &str = "Cairn Registry";
pub const SETTLEMENT_DOMAIN_NAME: &str = "Cairn Settlement";

/// Domain of `Slash` messages for the registry at `registry` on `chain_id`.
pub fn registry_domain(chain_id: u64, registry: Address) -> Eip712Domain {
    eip712_domain! {
        name: REGISTRY_DOMAIN_NAME,
        version: DOMAIN_VERSION,
        chain_id: chain_id,
        verifying_contract: registry,
    }
}

/// Domain of `Slash` messages for Cairn's Solana program `program_id`:
/// Solana has no chain id and no 20-byte contract address, so the program id
/// is the domain's salt. The program builds the same separator from bytes
/// (`cairn_solana_interface::digest`), and its tests check the two agree.
pub fn solana_registry_domain(program_id: [u8; 32]) -> Eip712Domain {
    eip712_domain! {
        name: REGISTRY_DOMAIN_NAME,
        version: DOMAIN_VERSION,
        salt: B256::from(program_id),
    }
}

/// The `provider` a `Slash` names for a Solana provider: the last 20 bytes of
/// keccak256 of its 32-byte public key (how Ethereum derives an address
/// from a key), since `Slash.provider` is an `address`.
pub fn solana_provider_address(pubkey: &[u8; 32]) -> Address {
    Address::from_slice(&alloy_primitives::keccak256(pubkey)[12..])
}

/// Domain of `BatchCommitment` messages for Cairn's Solana settlement vault,
/// part of the program `program_id`: the settlement name and version, with
/// the program id as salt in place of a chain id and a contract address (as
/// `solana_registry_domain` does for `Slash`). The program rebuilds the same
/// separator from bytes (`cairn_solana_interface::digest`).
pub fn solana_settlement_domain(program_id: [u8; 32]) -> Eip712Domain {
    eip712_domain! {
        name: SETTLEMENT_DOMAIN_NAME,
        version: DOMAIN_VERSION,
        salt: B256::from(program_id),
    }
}

/// Domain of `PaymentIntent` and `BatchCommitment` messages.
pub fn settlement_domain(chain_id: u64, settlement: Address) -> Eip712Domain {
    eip712_domain! {
        name: SETTLEMENT_DOMAIN_NAME,
        version: DOMAIN_VERSION,
        chain_id: chain_id,
        verifying_contract: settlement,
    }
}

/// The digest a signer signs for `message` under `domain`.
pub fn signing_hash<T: SolStruct>(message: &T, domain: &Eip712Domain) -> B256 {
    message.eip712_signing_hash(domain)
}

impl PaymentIntent {
    /// The amount as `u128`, or `None` past it: Cairn's ledgers count in
    /// `u128`, which no real token supply exceeds.
    pub fn amount_u128(&self) -> Option<u128> {
        u128::try_from(self.amount).ok()
    }
}

impl Slash {
    pub fn amount_u128(&self) -> Option<u128> {
        u128::try_from(self.amount).ok()
    }
}

/// Converts a ledger amount to the ABI's `uint256`.
pub fn u256(amount: u128) -> U256 {
    U256::from(amount)
}
