//! `sign_batch`: a `BatchCommitment` is signed only when it extends the last
//! one signed for the same settlement contract, as the contract requires.

use alloy_primitives::{Address, B256, Signature};
use cairn_core::eip712::{BatchCommitment, settlement_domain, signing_hash};
use cairn_registry_canister::{sign_batch, types::RegistryError};

use crate::{
    CHAIN_ID, LocalKey, SETTLEMENT, TestEnv, batch_request, buf, canister, service, stranger,
    with_batch_digest,
};

#[tokio::test]
async fn batches_chain_from_one_with_the_previous_digest() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let env = env.as_caller(service());
    let first = batch_request(1, B256::ZERO);
    let signed = sign_batch(&state, env, &key, first.clone()).await.unwrap();
    let commitment = BatchCommitment {
        batchId: 1,
        prevHash: B256::ZERO,
        windowStart: first.window_start,
        windowEnd: first.window_end,
        intentsRoot: B256::from_slice(&first.intents_root),
        deltasRoot: B256::from_slice(&first.deltas_root),
        intentCount: 10,
        deltaCount: 4,
        receiptId: B256::from_slice(&first.receipt_id),
    };
    let digest = signing_hash(&commitment, &settlement_domain(CHAIN_ID, SETTLEMENT));
    assert_eq!(signed.digest.as_slice(), digest.as_slice());
    let sig = Signature::from_raw(&signed.signature).unwrap();
    assert_eq!(sig.recover_address_from_prehash(&digest).unwrap(), key.address());

    // The same batch again, a gap, and a wrong previous hash are refused,
    // each naming what the canister expects next.
    let expected = RegistryError::BatchOutOfOrder {
        expected_batch_id: 2,
        expected_prev_hash: buf(digest.as_slice()),
    };
    assert_eq!(sign_batch(&state, env, &key, first).await, Err(expected.clone()));
    assert_eq!(
        sign_batch(&state, env, &key, batch_request(3, digest)).await,
        Err(expected.clone())
    );
    assert_eq!(
        sign_batch(&state, env, &key, batch_request(2, B256::repeat_byte(1))).await,
        Err(expected)
    );
    assert!(sign_batch(&state, env, &key, batch_request(2, digest)).await.is_ok());
}

#[tokio::test]
async fn each_settlement_contract_has_its_own_chain() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let env = env.as_caller(service());
    sign_batch(&state, env, &key, batch_request(1, B256::ZERO)).await.unwrap();
    let mut other = batch_request(1, B256::ZERO);
    other.settlement = buf(Address::repeat_byte(0x99).as_slice());
    with_batch_digest(&mut other);
    assert!(sign_batch(&state, env, &key, other).await.is_ok());
}

#[tokio::test]
async fn refusals() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    assert_eq!(
        sign_batch(&state, env.as_caller(stranger()), &key, batch_request(1, B256::ZERO)).await,
        Err(RegistryError::Unauthorised)
    );
    let env = env.as_caller(service());
    let mut mismatch = batch_request(1, B256::ZERO);
    mismatch.intent_count = 11;
    assert!(matches!(
        sign_batch(&state, env, &key, mismatch).await,
        Err(RegistryError::DigestMismatch { .. })
    ));
    let mut window = batch_request(1, B256::ZERO);
    window.window_end = window.window_start - 1;
    with_batch_digest(&mut window);
    assert!(matches!(
        sign_batch(&state, env, &key, window).await,
        Err(RegistryError::InvalidArgument(_))
    ));
    // A failed signing call leaves batch 1 unsigned, so it can be retried.
    key.fail.set(true);
    assert!(matches!(
        sign_batch(&state, env, &key, batch_request(1, B256::ZERO)).await,
        Err(RegistryError::Signing(_))
    ));
    key.fail.set(false);
    assert!(sign_batch(&state, env, &key, batch_request(1, B256::ZERO)).await.is_ok());
}
