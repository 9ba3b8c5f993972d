//! `sign_slash`: the canister signs a `Slash` only after rebuilding its
//! digest and passing every policy check, each nonce once.

use alloy_primitives::{Address, B256, Signature};
use cairn_core::eip712::{Slash, registry_domain, signing_hash};
use cairn_registry_canister::{sign_slash, types::RegistryError};

use crate::{
    CHAIN_ID, LocalKey, MAX_SLASH, NOW, REGISTRY, TestEnv, buf, canister, service, slash_request,
    stranger, with_digest,
};

const PROVIDER: Address = Address::repeat_byte(0xaa);

#[tokio::test]
async fn signs_the_digest_cairn_core_computes_and_the_key_recovers() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let req = slash_request(PROVIDER, 500, 1);
    let signed = sign_slash(&state, env.as_caller(service()), &key, req.clone()).await.unwrap();

    let slash = Slash {
        provider: PROVIDER,
        amount: alloy_primitives::U256::from(500u64),
        reason: 1,
        evidenceHash: B256::from_slice(&req.evidence_hash),
        receiptId: B256::from_slice(&req.receipt_id),
        nonce: alloy_primitives::U256::from(1u64),
        deadline: req.deadline,
    };
    let expected = signing_hash(&slash, &registry_domain(CHAIN_ID, REGISTRY));
    assert_eq!(signed.digest.as_slice(), expected.as_slice());
    assert_eq!(signed.signature.len(), 65);
    let sig = Signature::from_raw(&signed.signature).unwrap();
    assert_eq!(sig.recover_address_from_prehash(&expected).unwrap(), key.address());
    assert_eq!(signed.signer.as_slice(), key.address().as_slice());
}

#[tokio::test]
async fn controllers_and_configured_signers_only() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let refused =
        sign_slash(&state, env.as_caller(stranger()), &key, slash_request(PROVIDER, 1, 1)).await;
    assert_eq!(refused, Err(RegistryError::Unauthorised));
    let anonymous = candid::Principal::anonymous();
    let refused =
        sign_slash(&state, env.as_caller(anonymous), &key, slash_request(PROVIDER, 1, 1)).await;
    assert_eq!(refused, Err(RegistryError::Unauthorised));
    assert_eq!(key.calls.get(), 0, "nothing reached the key");
    // The controller may sign, and the refused nonce was not consumed.
    let env = TestEnv::new();
    assert!(sign_slash(&state, &env, &key, slash_request(PROVIDER, 1, 1)).await.is_ok());
}

#[tokio::test]
async fn a_digest_the_canister_would_not_rebuild_is_refused() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    // The caller claims the digest of one order but sends the fields of a
    // larger one: what it would get signed is not what it asked for.
    let small = slash_request(PROVIDER, 10, 1);
    let mut large = slash_request(PROVIDER, 900, 1);
    large.digest = small.digest.clone();
    let rebuilt = slash_request(PROVIDER, 900, 1).digest;
    assert_eq!(
        sign_slash(&state, env.as_caller(service()), &key, large).await,
        Err(RegistryError::DigestMismatch { rebuilt })
    );
    // A digest for another registry contract is refused the same way.
    let mut other = slash_request(PROVIDER, 10, 2);
    other.registry = buf(Address::repeat_byte(0x99).as_slice());
    assert!(matches!(
        sign_slash(&state, &env, &key, other).await,
        Err(RegistryError::DigestMismatch { .. })
    ));
    let mut short = slash_request(PROVIDER, 10, 3);
    short.provider = buf(&[1; 19]);
    assert!(matches!(
        sign_slash(&state, &env, &key, short).await,
        Err(RegistryError::InvalidArgument(_))
    ));
    assert_eq!(key.calls.get(), 0);
}

#[tokio::test]
async fn a_nonce_is_signed_once_per_registry() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let env = env.as_caller(service());
    sign_slash(&state, env, &key, slash_request(PROVIDER, 10, 7)).await.unwrap();
    assert_eq!(
        sign_slash(&state, env, &key, slash_request(PROVIDER, 10, 7)).await,
        Err(RegistryError::NonceUsed)
    );
    let other_provider = slash_request(Address::repeat_byte(0xbb), 10, 7);
    assert_eq!(
        sign_slash(&state, env, &key, other_provider).await,
        Err(RegistryError::NonceUsed),
        "the contract's nonce set is per registry, not per provider"
    );
    let mut other_registry = slash_request(PROVIDER, 10, 7);
    other_registry.registry = buf(Address::repeat_byte(0x99).as_slice());
    with_digest(&mut other_registry);
    assert!(sign_slash(&state, env, &key, other_registry).await.is_ok());
}

#[tokio::test]
async fn amount_reason_evidence_and_deadline_policy() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let env = env.as_caller(service());
    assert_eq!(
        sign_slash(&state, env, &key, slash_request(PROVIDER, MAX_SLASH + 1, 1)).await,
        Err(RegistryError::AmountOverPolicy { max: MAX_SLASH })
    );
    assert_eq!(
        sign_slash(&state, env, &key, slash_request(PROVIDER, 0, 1)).await,
        Err(RegistryError::AmountOverPolicy { max: MAX_SLASH })
    );
    let mut reason = slash_request(PROVIDER, 10, 1);
    reason.reason = 200;
    with_digest(&mut reason);
    assert_eq!(sign_slash(&state, env, &key, reason).await, Err(RegistryError::ReasonNotAllowed));
    let mut evidence = slash_request(PROVIDER, 10, 1);
    evidence.evidence_hash = buf(&[0; 32]);
    with_digest(&mut evidence);
    assert_eq!(sign_slash(&state, env, &key, evidence).await, Err(RegistryError::MissingEvidence));
    for deadline in [NOW, NOW - 1, NOW + 24 * 3600 + 1] {
        let mut late = slash_request(PROVIDER, 10, 1);
        late.deadline = deadline;
        with_digest(&mut late);
        assert_eq!(sign_slash(&state, env, &key, late).await, Err(RegistryError::BadDeadline));
    }
    let mut zero = slash_request(Address::ZERO, 10, 1);
    with_digest(&mut zero);
    assert!(matches!(
        sign_slash(&state, env, &key, zero).await,
        Err(RegistryError::InvalidArgument(_))
    ));
    // Exactly at the policy's limits is fine, and none of the refusals above
    // consumed nonce 1.
    let mut edge = slash_request(PROVIDER, MAX_SLASH, 1);
    edge.deadline = NOW + 24 * 3600;
    with_digest(&mut edge);
    assert!(sign_slash(&state, env, &key, edge).await.is_ok());
    assert_eq!(key.calls.get(), 1);
}

#[tokio::test]
async fn slashes_per_provider_are_rate_limited_per_window() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let env = env.as_caller(service());
    for nonce in 1..=3 {
        sign_slash(&state, env, &key, slash_request(PROVIDER, 10, nonce)).await.unwrap();
    }
    let limited = sign_slash(&state, env, &key, slash_request(PROVIDER, 10, 4)).await;
    let Err(RegistryError::RateLimited { retry_after_secs }) = limited else {
        panic!("expected a rate limit, got {limited:?}")
    };
    assert!(retry_after_secs > 0 && retry_after_secs <= 3600);
    // Another provider has its own budget.
    let other = slash_request(Address::repeat_byte(0xbb), 10, 5);
    assert!(sign_slash(&state, env, &key, other).await.is_ok());
    // The next window opens the budget again.
    env.now.set(NOW + retry_after_secs);
    let mut next = slash_request(PROVIDER, 10, 4);
    next.deadline = NOW + retry_after_secs + 60;
    with_digest(&mut next);
    assert!(sign_slash(&state, env, &key, next).await.is_ok());
}

#[tokio::test]
async fn a_failed_signing_call_releases_the_nonce_and_the_rate_budget() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let env = env.as_caller(service());
    key.fail.set(true);
    for _ in 0..5 {
        let failed = sign_slash(&state, env, &key, slash_request(PROVIDER, 10, 1)).await;
        assert!(matches!(failed, Err(RegistryError::Signing(_))), "{failed:?}");
    }
    key.fail.set(false);
    assert!(sign_slash(&state, env, &key, slash_request(PROVIDER, 10, 1)).await.is_ok());
    assert_eq!(state.borrow().event_count(), 1, "only the signed slash is logged");
}

#[tokio::test]
async fn an_unconfigured_canister_signs_nothing() {
    let state = std::cell::RefCell::new(cairn_registry_canister::State::open(
        ic_stable_structures::DefaultMemoryImpl::default(),
    ));
    let env = TestEnv::new();
    let refused = sign_slash(&state, &env, &LocalKey::new(), slash_request(PROVIDER, 1, 1)).await;
    assert!(matches!(refused, Err(RegistryError::InvalidArgument(_))), "{refused:?}");
}
