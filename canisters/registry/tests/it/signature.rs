//! The threshold key returns `r ‖ s` with either `s`; the canister hands out
//! the low-s form with the `v` that recovers its own key.

use alloy_primitives::{Address, Signature};
use cairn_registry_canister::{ethereum_address, public_key, sign_slash};
use k256::ecdsa::VerifyingKey;

use crate::{LocalKey, TestEnv, canister, slash_request};

/// secp256k1's group order halved: a valid Ethereum `s` is at most this.
const HALF_ORDER: [u8; 32] =
    alloy_primitives::hex!("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0");

#[tokio::test]
async fn high_s_from_the_key_comes_out_low_s_with_the_right_v() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    key.high_s.set(true);
    for nonce in 1..=3u128 {
        let provider = Address::repeat_byte(nonce as u8);
        let signed =
            sign_slash(&state, &env, &key, slash_request(provider, 5, nonce)).await.unwrap();
        let s: [u8; 32] = signed.signature[32..64].try_into().unwrap();
        assert!(s <= HALF_ORDER, "s is in the lower half");
        let v = signed.signature[64];
        assert!(v == 27 || v == 28);
        let sig = Signature::from_raw(&signed.signature).unwrap();
        let digest = alloy_primitives::B256::from_slice(&signed.digest);
        assert_eq!(sig.recover_address_from_prehash(&digest).unwrap(), key.address());
    }
}

#[tokio::test]
async fn public_key_and_address_come_from_the_signer_and_are_cached() {
    let (state, _) = canister();
    let key = LocalKey::new();
    let sec1 = public_key(&state, &key).await.unwrap();
    assert_eq!(VerifyingKey::from_sec1_bytes(&sec1).unwrap(), *key.key.verifying_key());
    assert_eq!(ethereum_address(&state, &key).await.unwrap(), key.address().to_vec());
    // Once cached, another signer's key is not consulted.
    let other =
        LocalKey::from_hex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    assert_eq!(ethereum_address(&state, &other).await.unwrap(), key.address().to_vec());
    // A new key name drops the cache.
    let mut args = crate::init_args();
    args.key_name = "test_key_1".into();
    state.borrow_mut().configure(args);
    assert_eq!(ethereum_address(&state, &other).await.unwrap(), other.address().to_vec());
}

#[test]
fn a_signature_from_another_key_is_refused() {
    let key = LocalKey::new();
    let other =
        LocalKey::from_hex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
    let digest = alloy_primitives::B256::repeat_byte(3);
    let (sig, _) = other.key.sign_prehash_recoverable(digest.as_slice()).unwrap();
    let raw: [u8; 64] = sig.to_bytes().into();
    assert!(
        cairn_registry_canister::signer::to_ethereum(key.key.verifying_key(), digest, &raw)
            .is_err()
    );
    assert!(
        cairn_registry_canister::signer::to_ethereum(key.key.verifying_key(), digest, &[0; 64])
            .is_err()
    );
}
