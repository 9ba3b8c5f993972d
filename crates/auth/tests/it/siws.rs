use cairn_auth::{SignInInput, SignInOutput, SiwsError, siws};
use ed25519_dalek::{Signer, SigningKey};

fn input() -> SignInInput {
    SignInInput {
        domain: "cairn.test".into(),
        address: None,
        statement: Some("Sign in to Cairn".into()),
        uri: Some("https://cairn.test/".into()),
        version: Some("1".into()),
        chain_id: Some("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp".into()),
        nonce: Some("abcdefgh1234".into()),
        issued_at: Some("2026-11-25T12:00:00Z".into()),
        expiration_time: Some("2026-11-25T12:10:00Z".into()),
        not_before: None,
        request_id: None,
        resources: vec![],
    }
}

fn sign_in(key: &SigningKey, input: &SignInInput) -> SignInOutput {
    let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
    let message = input.message(&address).into_bytes();
    SignInOutput {
        address,
        public_key: key.verifying_key().as_bytes().to_vec(),
        signature: key.sign(&message).to_bytes().to_vec(),
        signed_message: message,
    }
}

#[test]
fn message_follows_the_wallet_standard_layout() {
    let text = input().message("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin");
    assert_eq!(
        text,
        "cairn.test wants you to sign in with your Solana account:\n\
         9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin\n\n\
         Sign in to Cairn\n\n\
         URI: https://cairn.test/\n\
         Version: 1\n\
         Chain ID: solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp\n\
         Nonce: abcdefgh1234\n\
         Issued At: 2026-11-25T12:00:00Z\n\
         Expiration Time: 2026-11-25T12:10:00Z"
    );
    let bare = SignInInput { statement: None, resources: vec!["https://a/".into()], ..input() };
    assert!(bare.message("X").starts_with(
        "cairn.test wants you to sign in with your Solana account:\nX\n\nURI: https://cairn.test/"
    ));
    assert!(bare.message("X").ends_with("\nResources:\n- https://a/"));
}

#[test]
fn a_wallets_sign_in_verifies() {
    let key = SigningKey::from_bytes(&[3; 32]);
    assert_eq!(siws::verify(&input(), &sign_in(&key, &input())), Ok(()));
}

#[test]
fn altered_input_other_key_and_bad_encodings_are_refused() {
    let key = SigningKey::from_bytes(&[3; 32]);
    let other = SigningKey::from_bytes(&[4; 32]);
    let issued = input();

    // The wallet signed a message for a different nonce than the one issued.
    let altered = SignInInput { nonce: Some("zzzzzzzz9999".into()), ..input() };
    assert_eq!(siws::verify(&issued, &sign_in(&key, &altered)), Err(SiwsError::MessageMismatch));

    // The public key is not the address.
    let mut output = sign_in(&key, &issued);
    output.public_key = other.verifying_key().as_bytes().to_vec();
    assert_eq!(siws::verify(&issued, &output), Err(SiwsError::PublicKeyMismatch));

    // Signed by another key over the right message for this address.
    let mut output = sign_in(&key, &issued);
    output.signature = other.sign(&output.signed_message).to_bytes().to_vec();
    assert_eq!(siws::verify(&issued, &output), Err(SiwsError::SignatureInvalid));

    let mut output = sign_in(&key, &issued);
    output.signature.pop();
    assert_eq!(siws::verify(&issued, &output), Err(SiwsError::SignatureEncoding));

    // Issued for one address, signed by another.
    let bound = SignInInput {
        address: Some(bs58::encode(other.verifying_key().as_bytes()).into_string()),
        ..input()
    };
    assert!(matches!(
        siws::verify(&bound, &sign_in(&key, &bound)),
        Err(SiwsError::AddressMismatch { .. })
    ));

    let mut output = sign_in(&key, &issued);
    output.address = "0OIl".into();
    assert!(matches!(siws::verify(&issued, &output), Err(SiwsError::BadAddress(_))));
}
