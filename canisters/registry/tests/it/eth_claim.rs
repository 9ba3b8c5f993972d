//! Names claimed by an Ethereum address: the address signs (EIP-191) the
//! claim message for the calling principal and this canister.

use alloy::signers::{SignerSync, local::PrivateKeySigner};
use cairn_registry_canister::types::{EthClaim, NameOwner, RegistryError, eth_claim_message};
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2};
use candid::Principal;

use crate::{NOW, TestEnv, buf, canister, canister_id, names::record, principal};

fn claim(key: &str, name: &str, principal: Principal, canister: Principal) -> EthClaim {
    let signer: PrivateKeySigner = key.parse().unwrap();
    let valid_until = NOW + 600;
    let message = eth_claim_message(name, &principal, &canister, valid_until);
    let signature = signer.sign_message_sync(message.as_bytes()).unwrap();
    EthClaim {
        name: name.into(),
        address: buf(signer.address().as_slice()),
        valid_until,
        signature: buf(&signature.as_bytes()),
        records: vec![record("https://rpc.example")],
    }
}

#[test]
fn a_signed_claim_makes_the_address_the_owner() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let alice = principal(3);
    let c = claim(DEV_KEY_1, "eth.cairn", alice, canister_id());
    let address = c.address.clone();
    let entry = state.borrow_mut().claim_name_with_eth(env.as_caller(alice), c).unwrap();
    assert_eq!(entry.owner, NameOwner::Ethereum(address));
    assert_eq!(entry.controller, alice);
    assert_eq!(state.borrow().resolve(&env, "eth.cairn").unwrap(), entry);
    // Taken names stay taken, whatever proves the second claim.
    let again = claim(DEV_KEY_2, "eth.cairn", alice, canister_id());
    assert_eq!(state.borrow_mut().claim_name_with_eth(&env, again), Err(RegistryError::NameTaken));
}

#[test]
fn wrong_signatures_are_refused() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let (alice, mallory) = (principal(3), principal(6));
    let env = env.as_caller(alice);

    // Signed by another key than the address claimed.
    let mut other_key = claim(DEV_KEY_2, "a.cairn", alice, canister_id());
    other_key.address = claim(DEV_KEY_1, "a.cairn", alice, canister_id()).address;
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, other_key),
        Err(RegistryError::BadSignature)
    );
    // A signature for another name, principal or canister does not carry over.
    let mut other_name = claim(DEV_KEY_1, "b.cairn", alice, canister_id());
    other_name.name = "a.cairn".into();
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, other_name),
        Err(RegistryError::BadSignature)
    );
    let for_mallory = claim(DEV_KEY_1, "a.cairn", mallory, canister_id());
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, for_mallory),
        Err(RegistryError::BadSignature)
    );
    let other_canister = claim(DEV_KEY_1, "a.cairn", alice, principal(8));
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, other_canister),
        Err(RegistryError::BadSignature)
    );
    // A stretched validity is a different message.
    let mut stretched = claim(DEV_KEY_1, "a.cairn", alice, canister_id());
    stretched.valid_until += 1;
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, stretched),
        Err(RegistryError::BadSignature)
    );
    // Garbage and truncated signatures, and a short address.
    let mut garbage = claim(DEV_KEY_1, "a.cairn", alice, canister_id());
    garbage.signature = buf(&[7; 65]);
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, garbage),
        Err(RegistryError::BadSignature)
    );
    let mut short = claim(DEV_KEY_1, "a.cairn", alice, canister_id());
    short.signature = buf(&short.signature[..64]);
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env, short),
        Err(RegistryError::BadSignature)
    );
    let mut address = claim(DEV_KEY_1, "a.cairn", alice, canister_id());
    address.address = buf(&[1; 19]);
    assert!(matches!(
        state.borrow_mut().claim_name_with_eth(env, address),
        Err(RegistryError::InvalidArgument(_))
    ));
    assert_eq!(state.borrow().resolve(env, "a.cairn"), Err(RegistryError::NameNotFound));
}

#[test]
fn an_expired_claim_message_is_refused() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let alice = principal(3);
    let c = claim(DEV_KEY_1, "a.cairn", alice, canister_id());
    env.now.set(c.valid_until + 1);
    assert_eq!(
        state.borrow_mut().claim_name_with_eth(env.as_caller(alice), c),
        Err(RegistryError::ClaimExpired)
    );
}
