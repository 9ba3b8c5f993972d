//! Fixed vectors computed with Foundry's `cast` (keccak and abi-encode),
//! independently of alloy's EIP-712 code. The contracts' differential test
//! on anvil checks the same hashes against Solidity.

use alloy_primitives::{U256, address, b256, keccak256};
use alloy_sol_types::SolStruct;
use cairn_core::eip712::{
    BatchCommitment, PaymentIntent, Slash, registry_domain, settlement_domain, signing_hash,
};

#[test]
fn type_hashes_match_the_canonical_type_strings() {
    assert_eq!(
        keccak256(Slash::eip712_encode_type().as_bytes()),
        b256!("fbaf33258fcbfadf14306020e64fb1ee8c084d9fb57d4df923668edaf1c9690f")
    );
    assert_eq!(
        PaymentIntent::eip712_encode_type(),
        "PaymentIntent(address payer,address payee,address asset,uint256 amount,uint256 nonce,uint64 validUntil)"
    );
    assert_eq!(
        keccak256(PaymentIntent::eip712_encode_type().as_bytes()),
        b256!("ff63383f1675b689c40a64640e0b3f5a62b1dc11580118fa8decd95894053527")
    );
    assert_eq!(
        keccak256(BatchCommitment::eip712_encode_type().as_bytes()),
        b256!("fc8c088b1512ad9ee4cbd21e55b51a93249e50e826649cea93a5787b66743a48")
    );
}

fn intent() -> PaymentIntent {
    PaymentIntent {
        payer: address!("3333333333333333333333333333333333333333"),
        payee: address!("4444444444444444444444444444444444444444"),
        asset: address!("5555555555555555555555555555555555555555"),
        amount: U256::from(1_000_000u64),
        nonce: U256::from(7u64),
        validUntil: 1_800_000_000,
    }
}

#[test]
fn settlement_domain_separator_and_intent_digest() {
    let domain = settlement_domain(31337, address!("2222222222222222222222222222222222222222"));
    assert_eq!(
        domain.separator(),
        b256!("39a2d4628e566317f1b4803f98286fe746e8240d57b7b7da4acc3b0f233603ae")
    );
    assert_eq!(
        intent().eip712_hash_struct(),
        b256!("e7a834a51cd991edf3d9147091e6ae55089dc38f99e7f1e7b3877c474cf7871a")
    );
    assert_eq!(
        signing_hash(&intent(), &domain),
        b256!("0f365bd7538fcdc87f5be7c4ee82e62d2be8140267c94e14dbb9ec629aaed3fe")
    );
}

#[test]
fn the_domain_binds_chain_and_contract() {
    let contract = address!("2222222222222222222222222222222222222222");
    let base = signing_hash(&intent(), &settlement_domain(31337, contract));
    assert_ne!(base, signing_hash(&intent(), &settlement_domain(1, contract)));
    assert_ne!(
        base,
        signing_hash(
            &intent(),
            &settlement_domain(31337, address!("2222222222222222222222222222222222222223"))
        )
    );
    assert_ne!(
        base,
        signing_hash(&intent(), &registry_domain(31337, contract)),
        "domains differ by name"
    );
}
