//! Requests the canister refuses surface as `SignerError::Refused` with the
//! canister's reason; a failed management-canister call is `Unavailable`
//! and releases what it reserved.

use std::sync::Arc;

use alloy_primitives::{B256, U256, keccak256};
use cairn_core::eip712::BatchCommitment;
use cairn_icp::{IcpSigner, RegistryCanister, slash_request};
use cairn_signer::{RequestSigner, Signer, SignerError, SigningRequest};
use candid::Principal;

use crate::support::{MAX_SLASH, PROVIDER, REGISTRY, TOKEN, install, slash, stranger};

fn refused(result: Result<cairn_signer::Signature, SignerError>) -> String {
    match result {
        Err(SignerError::Refused(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_with_the_canisters_reason() {
    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    let request = slash(7, TOKEN, PROVIDER, 31337, REGISTRY);
    let signature = signer.sign_request(&request).await.unwrap();
    assert_eq!(signature.recover(request.digest()).unwrap(), RequestSigner::address(&signer));

    let reason = refused(signer.sign_request(&request).await);
    assert!(reason.starts_with("NonceUsed"), "{reason}");
    // The same nonce for another registry is another nonce space.
    let other = slash(7, TOKEN, PROVIDER, 31337, REGISTRY.into_array().map(|b| b ^ 1).into());
    signer.sign_request(&other).await.unwrap();
}

#[tokio::test]
async fn an_amount_over_policy_is_refused_with_the_limit() {
    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    let reason =
        refused(signer.sign_request(&slash(1, MAX_SLASH + 1, PROVIDER, 1, REGISTRY)).await);
    assert!(reason.starts_with("AmountOverPolicy"), "{reason}");
    assert!(reason.contains(&MAX_SLASH.to_string()), "the limit is named: {reason}");
    // At the limit it signs: the refusal was the amount, nothing else.
    signer.sign_request(&slash(1, MAX_SLASH, PROVIDER, 1, REGISTRY)).await.unwrap();
}

#[tokio::test]
async fn an_unauthorised_caller_is_refused() {
    let (canister, _) = install();
    for caller in [stranger(), Principal::anonymous()] {
        let handle: Arc<dyn RegistryCanister> = Arc::new(canister.as_caller(caller));
        // Reading the key is open to anyone; signing is not.
        let signer = IcpSigner::connect(handle).await.unwrap();
        let reason = refused(signer.sign_request(&slash(1, TOKEN, PROVIDER, 1, REGISTRY)).await);
        assert!(reason.starts_with("Unauthorised"), "{caller}: {reason}");
    }
    // The controller may sign, and the nonce was not spent by the refusals.
    let signer = IcpSigner::connect(Arc::new(canister)).await.unwrap();
    signer.sign_request(&slash(1, TOKEN, PROVIDER, 1, REGISTRY)).await.unwrap();
}

#[tokio::test]
async fn a_batch_that_does_not_extend_the_chain_is_refused() {
    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    let batch = |batch_id: u64, prev_hash: B256| SigningRequest::BatchCommitment {
        chain_id: 1,
        settlement: REGISTRY,
        commitment: BatchCommitment {
            batchId: batch_id,
            prevHash: prev_hash,
            windowStart: 10,
            windowEnd: 20,
            intentsRoot: keccak256("intents"),
            deltasRoot: keccak256("deltas"),
            intentCount: 1,
            deltaCount: 2,
            receiptId: keccak256("receipt"),
        },
        batch: empty_batch(),
        previous: None,
    };
    let reason = refused(signer.sign_request(&batch(2, B256::ZERO)).await);
    assert!(reason.starts_with("BatchOutOfOrder: expected batch 1"), "{reason}");
    let first = batch(1, B256::ZERO);
    signer.sign_request(&first).await.unwrap();
    let reason = refused(signer.sign_request(&batch(2, B256::repeat_byte(1))).await);
    assert!(reason.starts_with("BatchOutOfOrder: expected batch 2"), "{reason}");
    signer.sign_request(&batch(2, first.digest())).await.unwrap();
}

/// The canister never sees the closed batch, only the commitment's fields.
fn empty_batch() -> cairn_core::netting::ClosedBatch {
    cairn_core::netting::ClosedBatch {
        body: cairn_core::netting::BatchBody {
            batch_id: 1,
            prev_hash: B256::ZERO,
            window_start: 10,
            window_end: 20,
            intents_root: B256::ZERO,
            deltas_root: B256::ZERO,
            intent_count: 0,
            delta_count: 0,
        },
        intents: vec![],
        deltas: vec![],
    }
}

#[tokio::test]
async fn a_digest_the_canister_would_not_rebuild_is_refused() {
    // `IcpSigner` always sends the digest of the fields it sends; a client
    // that sends another one (here, by editing the mapped request) is refused
    // with the digest the canister rebuilt.
    let (_canister, as_service) = install();
    let request = slash(1, TOKEN, PROVIDER, 1, REGISTRY);
    let mut sent = slash_request(&request).unwrap();
    sent.amount += 1;
    match as_service.sign_slash(sent).await {
        Err(e @ cairn_icp::IcpError::Canister(_)) => {
            let SignerError::Refused(reason) = SignerError::from(e) else { unreachable!() };
            assert!(reason.starts_with("DigestMismatch"), "{reason}");
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
}

#[tokio::test]
async fn a_failed_threshold_call_is_unavailable_and_spends_nothing() {
    let (canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    let request = slash(3, TOKEN, PROVIDER, 1, REGISTRY);
    canister.set_signing_fails(true);
    match signer.sign_request(&request).await {
        Err(SignerError::Unavailable(reason)) => {
            assert!(reason.contains("sign_with_ecdsa"), "{reason}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    canister.set_signing_fails(false);
    // The nonce was released: the retry signs.
    signer.sign_request(&request).await.unwrap();
}

#[tokio::test]
async fn bare_digests_and_oversized_fields_are_refused_before_any_call() {
    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    match signer.sign_digest(B256::repeat_byte(5)).await {
        Err(SignerError::Refused(reason)) => assert!(reason.contains("opaque digest"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut request = slash(1, TOKEN, PROVIDER, 1, REGISTRY);
    let SigningRequest::Slash { order, .. } = &mut request else { unreachable!() };
    order.nonce = U256::from(u128::MAX) + U256::from(1);
    let reason = refused(signer.sign_request(&request).await);
    assert!(reason.contains("nonce") && reason.contains("128-bit"), "{reason}");
}
