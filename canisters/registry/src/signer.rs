//! The policy signer: it signs only `Slash` and `BatchCommitment` digests it
//! rebuilt itself with `cairn-core`'s EIP-712 definitions, for authorised
//! callers, within policy, and each slash nonce / batch id once.
//!
//! A canister message interleaves with others at every `await`, so every
//! check-and-reserve happens before the management-canister call and is
//! undone if signing fails; a second request for the same nonce that arrives
//! while the first is being signed is refused, not signed twice.

use std::cell::RefCell;

use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_core::eip712::{
    BatchCommitment, Slash, registry_domain, settlement_domain, signing_hash,
};
use ic_stable_structures::Memory;
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use serde_bytes::ByteBuf;

use crate::{
    env::{EcdsaSigner, Env},
    memory::Stored,
    state::{BatchHead, RateWindow, State},
    types::{BatchRequest, Event, RegistryError, SignedDigest, SlashRequest},
};

/// The one derivation path of the policy key: slashes and batch commitments
/// are signed by the same address, which the contracts hold as `slasher` and
/// `settlementSigner`.
pub fn derivation_path() -> Vec<Vec<u8>> {
    vec![b"cairn-policy-signer".to_vec()]
}

fn bytes<const N: usize>(field: &str, value: &[u8]) -> Result<[u8; N], RegistryError> {
    value
        .try_into()
        .map_err(|_| RegistryError::InvalidArgument(format!("{field} must be {N} bytes")))
}

fn authorise<M: Memory>(state: &State<M>, env: &impl Env) -> Result<(), RegistryError> {
    let caller = env.caller();
    let args = state.init_args()?;
    if caller != candid::Principal::anonymous()
        && (env.is_controller(&caller) || args.signers.contains(&caller))
    {
        Ok(())
    } else {
        Err(RegistryError::Unauthorised)
    }
}

/// The `Slash` of a request, and its digest under the registry's domain.
pub fn slash_digest(req: &SlashRequest) -> Result<(Slash, B256), RegistryError> {
    let slash = Slash {
        provider: Address::from(bytes::<20>("provider", &req.provider)?),
        amount: U256::from(req.amount),
        reason: req.reason,
        evidenceHash: B256::from(bytes::<32>("evidence_hash", &req.evidence_hash)?),
        receiptId: B256::from(bytes::<32>("receipt_id", &req.receipt_id)?),
        nonce: U256::from(req.nonce),
        deadline: req.deadline,
    };
    let registry = Address::from(bytes::<20>("registry", &req.registry)?);
    let digest = signing_hash(&slash, &registry_domain(req.chain_id, registry));
    Ok((slash, digest))
}

/// The `BatchCommitment` of a request, and its digest under the settlement
/// contract's domain.
pub fn batch_digest(req: &BatchRequest) -> Result<(BatchCommitment, B256), RegistryError> {
    let commitment = BatchCommitment {
        batchId: req.batch_id,
        prevHash: B256::from(bytes::<32>("prev_hash", &req.prev_hash)?),
        windowStart: req.window_start,
        windowEnd: req.window_end,
        intentsRoot: B256::from(bytes::<32>("intents_root", &req.intents_root)?),
        deltasRoot: B256::from(bytes::<32>("deltas_root", &req.deltas_root)?),
        intentCount: req.intent_count,
        deltaCount: req.delta_count,
        receiptId: B256::from(bytes::<32>("receipt_id", &req.receipt_id)?),
    };
    let settlement = Address::from(bytes::<20>("settlement", &req.settlement)?);
    let digest = signing_hash(&commitment, &settlement_domain(req.chain_id, settlement));
    Ok((commitment, digest))
}

fn check_digest(claimed: &[u8], rebuilt: B256) -> Result<(), RegistryError> {
    if claimed == rebuilt.as_slice() {
        Ok(())
    } else {
        Err(RegistryError::DigestMismatch { rebuilt: ByteBuf::from(rebuilt.to_vec()) })
    }
}

fn nonce_key(req: &SlashRequest) -> Vec<u8> {
    let mut key = req.chain_id.to_be_bytes().to_vec();
    key.extend_from_slice(&req.registry);
    key.extend_from_slice(&req.nonce.to_be_bytes());
    key
}

fn head_key(req: &BatchRequest) -> Vec<u8> {
    let mut key = req.chain_id.to_be_bytes().to_vec();
    key.extend_from_slice(&req.settlement);
    key
}

/// What a slash reserved before signing, to undo on failure.
struct SlashReservation {
    nonce_key: Vec<u8>,
    provider: Vec<u8>,
    previous_window: Option<RateWindow>,
}

impl<M: Memory> State<M> {
    fn reserve_slash(
        &mut self,
        env: &impl Env,
        req: &SlashRequest,
    ) -> Result<(B256, SlashReservation), RegistryError> {
        authorise(self, env)?;
        let (_, digest) = slash_digest(req)?;
        check_digest(&req.digest, digest)?;
        let policy = self.policy()?;
        if !policy.reasons.contains(&req.reason) {
            return Err(RegistryError::ReasonNotAllowed);
        }
        // Every slash commits to its evidence and its Arweave receipt; a
        // zero hash means the evidence pipeline produced nothing to check.
        if req.evidence_hash.iter().all(|b| *b == 0) || req.receipt_id.iter().all(|b| *b == 0) {
            return Err(RegistryError::MissingEvidence);
        }
        if req.amount == 0 || req.amount > policy.max_slash_amount {
            return Err(RegistryError::AmountOverPolicy { max: policy.max_slash_amount });
        }
        if req.provider.iter().all(|b| *b == 0) {
            return Err(RegistryError::InvalidArgument("provider is the zero address".into()));
        }
        let now = env.now_secs();
        if req.deadline <= now || req.deadline - now > policy.max_deadline_secs {
            return Err(RegistryError::BadDeadline);
        }
        let nonce_key = nonce_key(req);
        if self.slash_nonces.contains_key(&nonce_key) {
            return Err(RegistryError::NonceUsed);
        }
        let window_secs = policy.rate_window_secs.max(1);
        let window = now / window_secs;
        let provider = req.provider.to_vec();
        let previous_window = self.rate_windows.get(&provider).map(|w| w.0);
        let count = match previous_window {
            Some(w) if w.window == window => w.count,
            _ => 0,
        };
        if count >= policy.max_slashes_per_window {
            return Err(RegistryError::RateLimited {
                retry_after_secs: (window + 1) * window_secs - now,
            });
        }
        self.slash_nonces.insert(nonce_key.clone(), ());
        self.rate_windows.insert(provider.clone(), Stored(RateWindow { window, count: count + 1 }));
        Ok((digest, SlashReservation { nonce_key, provider, previous_window }))
    }

    fn release_slash(&mut self, reservation: SlashReservation) {
        self.slash_nonces.remove(&reservation.nonce_key);
        match reservation.previous_window {
            Some(w) => self.rate_windows.insert(reservation.provider, Stored(w)),
            None => self.rate_windows.remove(&reservation.provider),
        };
    }

    fn reserve_batch(
        &mut self,
        env: &impl Env,
        req: &BatchRequest,
    ) -> Result<(B256, Option<BatchHead>), RegistryError> {
        authorise(self, env)?;
        let (_, digest) = batch_digest(req)?;
        check_digest(&req.digest, digest)?;
        if req.window_end < req.window_start {
            return Err(RegistryError::InvalidArgument("window ends before it starts".into()));
        }
        // The contract accepts only last + 1 over the last digest; signing
        // anything else would hand out a second commitment for one batch id.
        let key = head_key(req);
        let previous = self.batch_heads.get(&key).map(|h| h.0);
        let (expected_id, expected_prev) = match &previous {
            Some(head) => (head.batch_id + 1, head.digest.to_vec()),
            None => (1, vec![0; 32]),
        };
        if req.batch_id != expected_id || req.prev_hash.as_slice() != expected_prev.as_slice() {
            return Err(RegistryError::BatchOutOfOrder {
                expected_batch_id: expected_id,
                expected_prev_hash: ByteBuf::from(expected_prev),
            });
        }
        self.batch_heads.insert(
            key,
            Stored(BatchHead { batch_id: req.batch_id, digest: ByteBuf::from(digest.to_vec()) }),
        );
        Ok((digest, previous))
    }

    fn release_batch(&mut self, req: &BatchRequest, previous: Option<BatchHead>) {
        match previous {
            Some(head) => self.batch_heads.insert(head_key(req), Stored(head)),
            None => self.batch_heads.remove(&head_key(req)),
        };
    }
}

/// Signs an EIP-712 `Slash` after every policy check.
pub async fn sign_slash<M: Memory>(
    state: &RefCell<State<M>>,
    env: &impl Env,
    signer: &impl EcdsaSigner,
    req: SlashRequest,
) -> Result<SignedDigest, RegistryError> {
    let (digest, reservation) = state.borrow_mut().reserve_slash(env, &req)?;
    match sign_digest(state, signer, digest).await {
        Ok(signed) => {
            state.borrow_mut().log(
                env.now_secs(),
                Event::SlashSigned {
                    chain_id: req.chain_id,
                    provider: req.provider,
                    amount: req.amount,
                    nonce: req.nonce,
                    digest: signed.digest.clone(),
                },
            );
            Ok(signed)
        }
        Err(e) => {
            state.borrow_mut().release_slash(reservation);
            Err(e)
        }
    }
}

/// Signs an EIP-712 `BatchCommitment` that extends the last one signed for
/// the same settlement contract.
pub async fn sign_batch<M: Memory>(
    state: &RefCell<State<M>>,
    env: &impl Env,
    signer: &impl EcdsaSigner,
    req: BatchRequest,
) -> Result<SignedDigest, RegistryError> {
    let (digest, previous) = state.borrow_mut().reserve_batch(env, &req)?;
    match sign_digest(state, signer, digest).await {
        Ok(signed) => {
            state.borrow_mut().log(
                env.now_secs(),
                Event::BatchSigned {
                    chain_id: req.chain_id,
                    settlement: req.settlement,
                    batch_id: req.batch_id,
                    digest: signed.digest.clone(),
                },
            );
            Ok(signed)
        }
        Err(e) => {
            state.borrow_mut().release_batch(&req, previous);
            Err(e)
        }
    }
}

/// The policy key's SEC1 public key, cached in stable memory after the first
/// management-canister call.
pub async fn public_key<M: Memory>(
    state: &RefCell<State<M>>,
    signer: &impl EcdsaSigner,
) -> Result<Vec<u8>, RegistryError> {
    if let Some(key) = state.borrow().config().public_key {
        return Ok(key.into_vec());
    }
    let key = signer.public_key(&derivation_path()).await.map_err(RegistryError::Signing)?;
    VerifyingKey::from_sec1_bytes(&key)
        .map_err(|_| RegistryError::Signing("management canister returned a bad key".into()))?;
    state.borrow_mut().set_public_key(key.clone());
    Ok(key)
}

/// The Ethereum address of the policy key: what the contracts hold as slasher
/// and settlement signer.
pub async fn ethereum_address<M: Memory>(
    state: &RefCell<State<M>>,
    signer: &impl EcdsaSigner,
) -> Result<Vec<u8>, RegistryError> {
    let key = public_key(state, signer).await?;
    let key = VerifyingKey::from_sec1_bytes(&key)
        .map_err(|_| RegistryError::Signing("bad cached key".into()))?;
    Ok(address_of(&key).to_vec())
}

fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

async fn sign_digest<M: Memory>(
    state: &RefCell<State<M>>,
    signer: &impl EcdsaSigner,
    digest: B256,
) -> Result<SignedDigest, RegistryError> {
    let key = public_key(state, signer).await?;
    let key = VerifyingKey::from_sec1_bytes(&key)
        .map_err(|_| RegistryError::Signing("bad cached key".into()))?;
    let raw = signer.sign(&derivation_path(), digest.0).await.map_err(RegistryError::Signing)?;
    let signature = to_ethereum(&key, digest, &raw)?;
    Ok(SignedDigest {
        digest: ByteBuf::from(digest.to_vec()),
        signature: ByteBuf::from(signature.to_vec()),
        signer: ByteBuf::from(address_of(&key).to_vec()),
    })
}

/// Turns a threshold `r ‖ s` into the 65 bytes the contracts accept: `s`
/// moved to the lower half (OpenZeppelin's `ECDSA.recover` refuses the
/// other), and `v` the recovery id that yields `key`, found by trying both.
pub fn to_ethereum(
    key: &VerifyingKey,
    digest: B256,
    raw: &[u8; 64],
) -> Result<[u8; 65], RegistryError> {
    let signature = Signature::from_slice(raw)
        .map_err(|_| RegistryError::Signing("signature is not r ‖ s".into()))?;
    let signature = signature.normalize_s().unwrap_or(signature);
    for id in [0u8, 1] {
        let recovery = RecoveryId::from_byte(id).expect("0 and 1 are recovery ids");
        if VerifyingKey::recover_from_prehash(digest.as_slice(), &signature, recovery).ok()
            == Some(*key)
        {
            let mut out = [0u8; 65];
            out[..64].copy_from_slice(&signature.to_bytes());
            out[64] = 27 + id;
            return Ok(out);
        }
    }
    Err(RegistryError::Signing("signature does not verify under the canister's key".into()))
}
