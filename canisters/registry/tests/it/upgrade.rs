//! An upgrade reopens the same stable memory: every structure written before
//! must read back equal, and the rules keep holding across it (a nonce used
//! before the upgrade stays used).

use alloy_primitives::{Address, B256};
use cairn_registry_canister::{
    State, public_key, sign_batch, sign_slash,
    types::{EndpointArgs, RegistryError},
};

use crate::{
    LocalKey, TestEnv, batch_request, canister, names::record, principal, service, slash_request,
};

#[tokio::test]
async fn every_structure_survives_a_reload_from_stable_memory() {
    let (state, memory) = canister();
    let env = TestEnv::new();
    let key = LocalKey::new();
    let provider = principal(3);
    state
        .borrow_mut()
        .claim_name(env.as_caller(provider), "a.cairn".into(), vec![record("https://a.example")])
        .unwrap();
    state.borrow_mut().register_provider(&env, None).unwrap();
    let endpoint = EndpointArgs {
        chain: "eip155:1".into(),
        kind: "rpc".into(),
        url: "https://a.example".into(),
    };
    state.borrow_mut().add_endpoint(&env, provider, endpoint).unwrap();
    let env = env.as_caller(service());
    public_key(&state, &key).await.unwrap();
    sign_slash(&state, env, &key, slash_request(Address::repeat_byte(0xaa), 10, 1)).await.unwrap();
    let first = sign_batch(&state, env, &key, batch_request(1, B256::ZERO)).await.unwrap();

    let before = state.borrow().dump();
    // Every structure holds something, so equality below compares real data.
    assert!(before.config.init.is_some() && before.config.public_key.is_some());
    assert_eq!(
        (before.names.len(), before.slash_nonces.len(), before.rate_windows.len()),
        (1, 1, 1)
    );
    assert_eq!((before.batch_heads.len(), before.providers.len()), (1, 1));
    assert_eq!(before.events.len(), 6);
    drop(state);

    // What post_upgrade does: open the state on the memory the old code left.
    let reloaded = std::cell::RefCell::new(State::open(memory.clone()));
    assert_eq!(reloaded.borrow().dump(), before);

    // The rules continue from the saved state.
    assert_eq!(
        sign_slash(&reloaded, env, &key, slash_request(Address::repeat_byte(0xaa), 10, 1)).await,
        Err(RegistryError::NonceUsed)
    );
    let next = batch_request(2, B256::from_slice(&first.digest));
    assert!(sign_batch(&reloaded, env, &key, next).await.is_ok());
    assert_eq!(reloaded.borrow().get_events(6, 10)[0].id, 6, "numbering continues");
    drop(reloaded);
    assert_eq!(State::open(memory).dump().events.len(), 7);
}

#[test]
fn fresh_memory_opens_empty_and_unconfigured() {
    let state = State::open(ic_stable_structures::DefaultMemoryImpl::default());
    let dump = state.dump();
    assert!(dump.config.init.is_none() && dump.names.is_empty() && dump.events.is_empty());
}
