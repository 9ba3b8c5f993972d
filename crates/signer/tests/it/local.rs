use std::os::unix::fs::PermissionsExt;

use alloy_primitives::{U256, address, keccak256};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain, signing_hash},
    signature::recover_address,
};
use cairn_signer::{LocalSigner, Signer, SignerError, sign_typed};

/// anvil's first development key and its well-known address.
const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

#[test]
fn the_address_is_derived_from_the_key() {
    let signer = LocalSigner::from_hex(ANVIL_KEY).unwrap();
    assert_eq!(signer.address(), address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    assert!(!format!("{signer:?}").contains("ac0974"), "Debug must not print the key");
}

#[tokio::test]
async fn signatures_recover_to_the_signer_deterministically_with_low_s() {
    let signer = LocalSigner::from_hex(ANVIL_KEY).unwrap();
    for i in 0..50u64 {
        let digest = keccak256(i.to_be_bytes());
        let sig = signer.sign_digest(digest).await.unwrap();
        assert!(sig.v == 27 || sig.v == 28);
        // recover_address refuses high-s, so this also checks normalisation.
        assert_eq!(recover_address(&digest, &sig.to_bytes()), Ok(signer.address()));
        assert_eq!(signer.sign_digest(digest).await.unwrap(), sig, "RFC 6979 is deterministic");
    }
}

#[tokio::test]
async fn typed_messages_sign_their_eip712_digest_through_dyn_signer() {
    let signer: Box<dyn Signer> = Box::new(LocalSigner::from_hex(ANVIL_KEY).unwrap());
    let domain = settlement_domain(31337, address!("2222222222222222222222222222222222222222"));
    let intent = PaymentIntent {
        payer: signer.address(),
        payee: address!("4444444444444444444444444444444444444444"),
        asset: address!("5555555555555555555555555555555555555555"),
        amount: U256::from(5),
        nonce: U256::from(1),
        validUntil: 10,
    };
    let sig = sign_typed(signer.as_ref(), &intent, &domain).await.unwrap();
    let digest = signing_hash(&intent, &domain);
    assert_eq!(recover_address(&digest, &sig.to_bytes()), Ok(signer.address()));
    let other_chain =
        signing_hash(&intent, &settlement_domain(1, domain.verifying_contract.unwrap()));
    assert_ne!(recover_address(&other_chain, &sig.to_bytes()), Ok(signer.address()));
}

#[test]
fn bad_keys_are_refused() {
    for bad in ["", "0x12", "zz".repeat(32).as_str(), &"0".repeat(64), "ff".repeat(32).as_str()] {
        assert!(matches!(LocalSigner::from_hex(bad), Err(SignerError::InvalidKey(_))), "{bad:?}");
    }
}

#[test]
fn key_files_must_be_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("key");
    std::fs::write(&path, format!("{ANVIL_KEY}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        LocalSigner::from_file(&path),
        Err(SignerError::KeyFilePermissions { mode: 0o644, .. })
    ));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let signer = LocalSigner::from_file(&path).unwrap();
    assert_eq!(signer.address(), address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"));
    assert!(matches!(
        LocalSigner::from_file(&dir.path().join("absent")),
        Err(SignerError::KeyFile { .. })
    ));
}
