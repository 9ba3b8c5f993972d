use alloy_primitives::B256;
use cairn_auth::{
    SiweMessage, Timestamp,
    siwe::{EoaSignatureError, decode_signature_hex, is_erc6492, verify_eoa},
};
use cairn_signer::{LocalSigner, Signer};

/// secp256k1's group order n; n - s is the malleated twin of s.
const ORDER: [u8; 32] =
    alloy_primitives::hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

fn message_for(signer: &LocalSigner) -> SiweMessage {
    SiweMessage {
        scheme: None,
        domain: "cairn.test".into(),
        address: signer.address(),
        statement: Some("Sign in to Cairn".into()),
        uri: "https://cairn.test/".into(),
        version: "1".into(),
        chain_id: 31337,
        nonce: "noncenonce1".into(),
        issued_at: Timestamp::from_unix(1_800_000_000),
        expiration_time: None,
        not_before: None,
        request_id: None,
        resources: vec![],
    }
}

async fn sign(signer: &LocalSigner, digest: B256) -> Vec<u8> {
    signer.sign_digest(digest).await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn the_accounts_own_signature_verifies() {
    let signer = LocalSigner::from_bytes(&[7; 32]).unwrap();
    let message = message_for(&signer);
    let signature = sign(&signer, message.eip191_hash()).await;
    assert_eq!(verify_eoa(signer.address(), &message.eip191_hash(), &signature), Ok(()));
    let hex = format!("0x{}", alloy_primitives::hex::encode(&signature));
    assert_eq!(decode_signature_hex(&hex).unwrap(), signature);
    assert!(!is_erc6492(&signature));
}

#[tokio::test]
async fn another_key_a_tampered_message_high_s_and_bad_v_are_refused() {
    let signer = LocalSigner::from_bytes(&[7; 32]).unwrap();
    let other = LocalSigner::from_bytes(&[8; 32]).unwrap();
    let message = message_for(&signer);
    let digest = message.eip191_hash();

    let by_other = sign(&other, digest).await;
    assert!(matches!(
        verify_eoa(signer.address(), &digest, &by_other),
        Err(EoaSignatureError::Mismatch { recovered, .. }) if recovered == other.address()
    ));

    let good = sign(&signer, digest).await;
    let mut tampered = message.clone();
    tampered.statement = Some("Sign in to Cairn and send all funds".into());
    assert!(matches!(
        verify_eoa(signer.address(), &tampered.eip191_hash(), &good),
        Err(EoaSignatureError::Mismatch { .. })
    ));

    // (r, n - s, v ^ 1) recovers the same key; it must still be refused.
    let mut malleated = good.clone();
    let s = alloy_primitives::U256::from_be_slice(&good[32..64]);
    let high_s = alloy_primitives::U256::from_be_bytes(ORDER) - s;
    malleated[32..64].copy_from_slice(&high_s.to_be_bytes::<32>());
    malleated[64] = if good[64] == 27 { 28 } else { 27 };
    assert_eq!(verify_eoa(signer.address(), &digest, &malleated), Err(EoaSignatureError::HighS));

    let mut bad_v = good.clone();
    bad_v[64] = 29;
    assert_eq!(verify_eoa(signer.address(), &digest, &bad_v), Err(EoaSignatureError::BadV(29)));

    assert!(matches!(
        verify_eoa(signer.address(), &digest, &good[..64]),
        Err(EoaSignatureError::Encoding(_))
    ));
    assert!(decode_signature_hex("1234").is_err());
    assert!(decode_signature_hex("0xzz").is_err());
}

#[test]
fn erc6492_suffix_is_recognised() {
    let mut wrapped = vec![1u8; 100];
    wrapped.extend_from_slice(&cairn_auth::siwe::ERC6492_SUFFIX);
    assert!(is_erc6492(&wrapped));
    assert!(!is_erc6492(&wrapped[..wrapped.len() - 1]));
}
