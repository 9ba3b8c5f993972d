//! Signatures made with k256 (the implementation alloy signs with) must
//! recover through libsecp256k1 to the same address; malleated and
//! malformed signatures are refused.

use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_core::signature::{SignatureError, recover_address};
use k256::ecdsa::SigningKey;

const ORDER: U256 = U256::from_be_slice(&[
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
]);

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32].into()).unwrap()
}

fn address_of(key: &SigningKey) -> Address {
    let point = key.verifying_key().to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

fn sign(key: &SigningKey, digest: &B256) -> [u8; 65] {
    let (sig, id) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&sig.to_bytes());
    out[64] = 27 + id.to_byte();
    out
}

#[test]
fn recovers_the_signer_with_either_v_convention() {
    let digest = keccak256(b"cairn");
    for n in 1..=20u8 {
        let key = key(n);
        let mut sig = sign(&key, &digest);
        assert_eq!(recover_address(&digest, &sig), Ok(address_of(&key)));
        sig[64] -= 27;
        assert_eq!(recover_address(&digest, &sig), Ok(address_of(&key)));
    }
}

#[test]
fn another_digest_recovers_another_address() {
    let key = key(3);
    let sig = sign(&key, &keccak256(b"a"));
    assert_ne!(recover_address(&keccak256(b"b"), &sig), Ok(address_of(&key)));
}

#[test]
fn high_s_twin_is_refused() {
    let digest = keccak256(b"malleable");
    let sig = sign(&key(5), &digest);
    let s = U256::from_be_slice(&sig[32..64]);
    let mut twin = sig;
    twin[32..64].copy_from_slice(&(ORDER - s).to_be_bytes::<32>());
    twin[64] = if sig[64] == 27 { 28 } else { 27 };
    assert_eq!(recover_address(&digest, &twin), Err(SignatureError::HighS));
}

#[test]
fn malformed_signatures_are_refused() {
    let digest = keccak256(b"x");
    let sig = sign(&key(9), &digest);
    assert_eq!(recover_address(&digest, &sig[..64]), Err(SignatureError::Length(64)));
    assert_eq!(recover_address(&digest, &[0u8; 66]), Err(SignatureError::Length(66)));
    for v in [2u8, 26, 29, 35, 255] {
        let mut bad = sig;
        bad[64] = v;
        assert_eq!(recover_address(&digest, &bad), Err(SignatureError::RecoveryId(v)));
    }
    let mut zero = sig;
    zero[..32].fill(0);
    assert_eq!(recover_address(&digest, &zero), Err(SignatureError::Unrecoverable));
}
