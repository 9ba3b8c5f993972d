//! `IcpSigner`: the registry canister's policy key as a Cairn signer. It
//! sends the typed request, never a bare digest; the canister rebuilds the
//! digest from the fields and applies its own policy before it asks the
//! management canister for a threshold signature.

use std::sync::Arc;

use alloy_primitives::{Address, B256, U256};
use cairn_registry_types::{BatchRequest, SignedDigest, SlashRequest};
use cairn_signer::{RequestSigner, SignFuture, Signature, Signer, SignerError, SigningRequest};
use k256::ecdsa::VerifyingKey;
use serde_bytes::ByteBuf;

use crate::{IcpError, RegistryCanister};

/// Signs `Slash` and `BatchCommitment` requests through the registry
/// canister's `sign_slash` / `sign_batch`.
#[derive(Debug, Clone)]
pub struct IcpSigner {
    canister: Arc<dyn RegistryCanister>,
    public_key: [u8; 65],
    address: Address,
}

impl IcpSigner {
    /// Asks the canister for its policy key once; the contracts must hold
    /// [`RequestSigner::address`] as slasher and settlement signer.
    pub async fn connect(canister: Arc<dyn RegistryCanister>) -> Result<Self, IcpError> {
        let sec1 = canister.public_key().await?;
        let key = VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| IcpError::Candid {
            method: "public_key",
            reason: format!("{} bytes are not a secp256k1 public key", sec1.len()),
        })?;
        let point = key.to_encoded_point(false);
        let public_key: [u8; 65] = point.as_bytes().try_into().map_err(|_| IcpError::Candid {
            method: "public_key",
            reason: "key does not encode to 65 bytes".into(),
        })?;
        let address = cairn_signer::address_of(&public_key);
        // The canister derives its address from the same key; a different
        // answer means a client or canister bug, and signing would only
        // produce signatures the contracts refuse.
        let claimed = canister.ethereum_address().await?;
        if claimed.as_slice() != address.as_slice() {
            return Err(IcpError::Candid {
                method: "ethereum_address",
                reason: format!(
                    "canister names address 0x{} but its public key is {address}",
                    hex::encode(&claimed)
                ),
            });
        }
        Ok(Self { canister, public_key, address })
    }

    /// A signer for a canister whose key is already known (from the
    /// deployment's configuration): nothing is called until it signs, so a
    /// service can start while the replica is unreachable. A wrong key only
    /// makes every signature fail the check after signing.
    pub fn with_public_key(canister: Arc<dyn RegistryCanister>, public_key: [u8; 65]) -> Self {
        let address = cairn_signer::address_of(&public_key);
        Self { canister, public_key, address }
    }

    pub fn canister(&self) -> &Arc<dyn RegistryCanister> {
        &self.canister
    }

    async fn sign(&self, request: &SigningRequest) -> Result<Signature, SignerError> {
        let digest = request.digest();
        let signed = match request {
            SigningRequest::Slash { .. } => self.canister.sign_slash(slash_request(request)?).await,
            SigningRequest::BatchCommitment { .. } => {
                self.canister.sign_batch(batch_request(request)?).await
            }
        }
        .map_err(SignerError::from)?;
        self.check(digest, &signed)
    }

    /// The canister's answer must be a signature by its key over the digest
    /// we asked for: anything else would be refused on chain anyway, and is
    /// reported here, where it can be explained.
    fn check(&self, digest: B256, signed: &SignedDigest) -> Result<Signature, SignerError> {
        if signed.digest.as_slice() != digest.as_slice() {
            return Err(SignerError::Unavailable(format!(
                "canister signed 0x{} instead of {digest}",
                hex::encode(&signed.digest)
            )));
        }
        let signature = Signature::from_bytes(&signed.signature).map_err(|e| {
            SignerError::Unavailable(format!("canister returned an unusable signature: {e}"))
        })?;
        match signature.recover(digest) {
            Ok(address) if address == self.address => Ok(signature),
            Ok(other) => Err(SignerError::Unavailable(format!(
                "canister's signature recovers to {other}, not its key {}",
                self.address
            ))),
            Err(e) => {
                Err(SignerError::Unavailable(format!("canister's signature does not recover: {e}")))
            }
        }
    }
}

/// The canister's `SlashRequest` for a slash signing request, carrying the
/// digest the caller expects so the canister refuses any disagreement.
pub fn slash_request(request: &SigningRequest) -> Result<SlashRequest, SignerError> {
    let SigningRequest::Slash { chain_id, registry, order, .. } = request else {
        return Err(SignerError::Refused(format!("{} is not a slash", request.kind())));
    };
    Ok(SlashRequest {
        chain_id: *chain_id,
        registry: bytes(registry.as_slice()),
        provider: bytes(order.provider.as_slice()),
        amount: narrow("amount", order.amount)?,
        reason: order.reason,
        evidence_hash: bytes(order.evidenceHash.as_slice()),
        receipt_id: bytes(order.receiptId.as_slice()),
        nonce: narrow("nonce", order.nonce)?,
        deadline: order.deadline,
        digest: bytes(request.digest().as_slice()),
    })
}

/// The canister's `BatchRequest` for a batch commitment signing request.
pub fn batch_request(request: &SigningRequest) -> Result<BatchRequest, SignerError> {
    let SigningRequest::BatchCommitment { chain_id, settlement, commitment, .. } = request else {
        return Err(SignerError::Refused(format!("{} is not a batch commitment", request.kind())));
    };
    Ok(BatchRequest {
        chain_id: *chain_id,
        settlement: bytes(settlement.as_slice()),
        batch_id: commitment.batchId,
        prev_hash: bytes(commitment.prevHash.as_slice()),
        window_start: commitment.windowStart,
        window_end: commitment.windowEnd,
        intents_root: bytes(commitment.intentsRoot.as_slice()),
        deltas_root: bytes(commitment.deltasRoot.as_slice()),
        intent_count: commitment.intentCount,
        delta_count: commitment.deltaCount,
        receipt_id: bytes(commitment.receiptId.as_slice()),
        digest: bytes(request.digest().as_slice()),
    })
}

fn bytes(value: &[u8]) -> ByteBuf {
    ByteBuf::from(value.to_vec())
}

/// The canister's candid `nat` fields are `u128` in its Rust types; a
/// larger value cannot be sent, so it is refused here rather than truncated.
fn narrow(field: &str, value: U256) -> Result<u128, SignerError> {
    u128::try_from(value).map_err(|_| {
        SignerError::Refused(format!("{field} {value} exceeds the canister's 128-bit limit"))
    })
}

impl Signer for IcpSigner {
    fn public_key(&self) -> [u8; 65] {
        self.public_key
    }

    fn address(&self) -> Address {
        self.address
    }

    /// Refused: the canister signs typed requests only ([`RequestSigner`]),
    /// so that it can rebuild and check what it signs.
    fn sign_digest(&self, digest: B256) -> SignFuture<'_> {
        Box::pin(async move {
            Err(SignerError::Refused(format!(
                "the ICP canister does not sign an opaque digest ({digest}); send a typed request"
            )))
        })
    }
}

impl RequestSigner for IcpSigner {
    fn address(&self) -> Address {
        self.address
    }

    fn sign_request<'a>(&'a self, request: &'a SigningRequest) -> SignFuture<'a> {
        Box::pin(self.sign(request))
    }
}
