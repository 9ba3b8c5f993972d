use std::num::NonZeroUsize;

use alloy_primitives::{Address, U256, keccak256};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain, signing_hash},
    intent::{SignedIntent, VerifyError, verify_intent, verify_intents},
    signature::SignatureError,
};
use k256::ecdsa::SigningKey;

use crate::addr;

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32].into()).unwrap()
}

fn address_of(key: &SigningKey) -> Address {
    Address::from_slice(
        &keccak256(&key.verifying_key().to_encoded_point(false).as_bytes()[1..])[12..],
    )
}

fn signed(key_n: u8, payer: Address, nonce: u64) -> SignedIntent {
    let intent = PaymentIntent {
        payer,
        payee: addr(1),
        asset: addr(2),
        amount: U256::from(10),
        nonce: U256::from(nonce),
        validUntil: 100,
    };
    let digest = signing_hash(&intent, &settlement_domain(31337, addr(9)));
    let (sig, id) = key(key_n).sign_prehash_recoverable(digest.as_slice()).unwrap();
    let mut signature = [0u8; 65];
    signature[..64].copy_from_slice(&sig.to_bytes());
    signature[64] = 27 + id.to_byte();
    SignedIntent { intent, signature }
}

#[test]
fn only_the_payers_signature_is_accepted() {
    let domain = settlement_domain(31337, addr(9));
    let payer = address_of(&key(1));
    let good = signed(1, payer, 1);
    assert_eq!(verify_intent(&domain, &good), Ok(signing_hash(&good.intent, &domain)));

    let forged = signed(2, payer, 1);
    assert_eq!(
        verify_intent(&domain, &forged),
        Err(VerifyError::NotPayer { payer, recovered: address_of(&key(2)) })
    );
    let other_chain = settlement_domain(1, addr(9));
    assert!(
        matches!(verify_intent(&other_chain, &good), Err(VerifyError::NotPayer { .. })),
        "replay on another chain"
    );
    let other_contract = settlement_domain(31337, addr(10));
    assert!(matches!(verify_intent(&other_contract, &good), Err(VerifyError::NotPayer { .. })));
    let mut bad_v = good.clone();
    bad_v.signature[64] = 5;
    assert_eq!(
        verify_intent(&domain, &bad_v),
        Err(VerifyError::Signature(SignatureError::RecoveryId(5)))
    );
    let mut tampered = good;
    tampered.intent.amount = U256::from(11);
    assert!(matches!(verify_intent(&domain, &tampered), Err(VerifyError::NotPayer { .. })));
}

#[test]
fn parallel_verification_keeps_input_order() {
    let domain = settlement_domain(31337, addr(9));
    let payer = address_of(&key(1));
    let intents: Vec<SignedIntent> = (0..101)
        .map(|n| if n % 7 == 0 { signed(3, payer, n) } else { signed(1, payer, n) })
        .collect();
    let sequential = verify_intents(&domain, &intents, NonZeroUsize::MIN);
    let parallel = verify_intents(&domain, &intents, NonZeroUsize::new(4).unwrap());
    assert_eq!(parallel, sequential);
    for (n, result) in parallel.iter().enumerate() {
        assert_eq!(result.is_ok(), n % 7 != 0, "intent {n}");
    }
    assert!(verify_intents(&domain, &[], NonZeroUsize::new(2).unwrap()).is_empty());
}

#[test]
fn signed_intents_serialize_with_hex_signatures() {
    let s = signed(1, address_of(&key(1)), 1);
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("\"signature\":\"0x"), "{json}");
    assert_eq!(serde_json::from_str::<SignedIntent>(&json).unwrap(), s);
    let short = json.replace(&alloy_primitives::hex::encode(&s.signature[60..]), "");
    assert!(serde_json::from_str::<SignedIntent>(&short).is_err());
}
