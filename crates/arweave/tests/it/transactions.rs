use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use cairn_arweave::transaction::{Transaction, Wallet, WalletError};
use sha2::{Digest, Sha256};

const WALLET: &str = include_str!("../../fixtures/test-wallet.json");

#[test]
fn transactions_carry_their_data_root_and_an_id_from_the_signature() {
    let wallet = Wallet::from_jwk(WALLET).unwrap();
    assert_eq!(wallet.owner().len(), 512, "4096-bit modulus");
    assert_eq!(wallet.address(), cairn_arweave::base64url(&Sha256::digest(wallet.owner())));
    let sign = || {
        Transaction::sign_data(
            &wallet,
            b"bundle bytes",
            &[("Bundle-Format", "binary")],
            "AAAA",
            "10",
        )
        .unwrap()
    };
    let tx = sign();
    let signature = URL_SAFE_NO_PAD.decode(&tx.signature).unwrap();
    assert_eq!(tx.id, cairn_arweave::base64url(&Sha256::digest(&signature)));
    assert_eq!(
        tx.data_root,
        cairn_arweave::base64url(&cairn_arweave::chunks::data_root(b"bundle bytes"))
    );
    assert_eq!((tx.format, tx.data_size.as_str(), tx.quantity.as_str()), (2, "12", "0"));
    assert_eq!(tx.tags[0].name, cairn_arweave::base64url(b"Bundle-Format"));
    // RSA-PSS is salted: two signatures differ, so do the ids.
    assert_ne!(sign().id, tx.id);
}

#[test]
fn keys_that_are_not_rsa_jwks_are_refused() {
    let mut jwk: serde_json::Value = serde_json::from_str(WALLET).unwrap();
    jwk["kty"] = "EC".into();
    assert!(matches!(Wallet::from_jwk(&jwk.to_string()), Err(WalletError::Jwk(_))));
    let mut jwk: serde_json::Value = serde_json::from_str(WALLET).unwrap();
    jwk["d"] = "!!".into();
    assert!(matches!(Wallet::from_jwk(&jwk.to_string()), Err(WalletError::Jwk(_))));
    let mut jwk: serde_json::Value = serde_json::from_str(WALLET).unwrap();
    jwk["q"] = jwk["p"].clone();
    assert!(
        matches!(Wallet::from_jwk(&jwk.to_string()), Err(WalletError::Key(_))),
        "inconsistent key"
    );
    assert!(matches!(Wallet::from_jwk("{}"), Err(WalletError::Jwk(_))));
    assert!(
        Transaction::sign_data(&Wallet::from_jwk(WALLET).unwrap(), b"x", &[], "not base64!", "1")
            .is_err()
    );
}
