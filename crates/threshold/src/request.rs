//! What a party is asked to sign: never a bare digest, always the message
//! and what justifies it, so each party rebuilds the digest itself.

use alloy_primitives::{Address, B256};
use cairn_core::{
    eip712::{BatchCommitment, Slash, registry_domain, settlement_domain, signing_hash},
    evidence::Evidence,
    netting::ClosedBatch,
};
use serde::{Deserialize, Serialize};

/// Externally tagged on the wire (`{"slash": {..}}`): serde's internally
/// tagged enums buffer their content and cannot carry the batch's `u128`s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigningRequest {
    /// A slash order for `Registry.slash` at `registry` on `chain_id`.
    Slash {
        chain_id: u64,
        registry: Address,
        order: Slash,
        /// The provider's registered operator: the address the evidence accuses.
        operator: Address,
        evidence: Evidence,
    },
    /// A batch commitment for `Settlement.settleBatch`, with the batch it commits to.
    BatchCommitment {
        chain_id: u64,
        settlement: Address,
        commitment: BatchCommitment,
        batch: ClosedBatch,
    },
}

impl SigningRequest {
    /// The EIP-712 digest, rebuilt from the typed message and its domain.
    pub fn digest(&self) -> B256 {
        match self {
            Self::Slash { chain_id, registry, order, .. } => {
                signing_hash(order, &registry_domain(*chain_id, *registry))
            }
            Self::BatchCommitment { chain_id, settlement, commitment, .. } => {
                signing_hash(commitment, &settlement_domain(*chain_id, *settlement))
            }
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Slash { .. } => "slash",
            Self::BatchCommitment { .. } => "batch_commitment",
        }
    }
}
