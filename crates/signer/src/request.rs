//! What a backend is asked to sign: never a bare digest where the backend
//! is an independent party, always the message and what justifies it, so
//! each party (a cggmp21 process, the ICP canister) rebuilds the digest
//! itself and checks it against its own policy.

use alloy_primitives::{Address, B256};
use cairn_core::{
    eip712::{BatchCommitment, Slash, registry_domain, settlement_domain, signing_hash},
    evidence::Evidence,
    netting::ClosedBatch,
};
use serde::{Deserialize, Serialize};

use crate::{SignFuture, Signature, Signer, local::LocalSigner};

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
        /// The commitment this one follows (batch id − 1) with the signature
        /// the settlement contract accepted. A party that was left out of
        /// the sessions since the last batch it signed checks from it that
        /// the group signed the batch this one chains to.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<Box<SignedCommitment>>,
    },
}

/// A batch commitment and its settlement signer's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedCommitment {
    pub commitment: BatchCommitment,
    pub signature: Signature,
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

/// Signs typed requests with whichever backend holds the key. [`Signer`]
/// takes a bare digest, which an independent party must never sign
/// blindly: this trait carries the request so that every backend (local
/// key, threshold parties, the ICP canister) can rebuild and check the
/// digest itself.
pub trait RequestSigner: Send + Sync + std::fmt::Debug {
    fn address(&self) -> Address;
    fn sign_request<'a>(&'a self, request: &'a SigningRequest) -> SignFuture<'a>;
}

impl RequestSigner for LocalSigner {
    fn address(&self) -> Address {
        Signer::address(self)
    }

    fn sign_request<'a>(&'a self, request: &'a SigningRequest) -> SignFuture<'a> {
        self.sign_digest(request.digest())
    }
}
