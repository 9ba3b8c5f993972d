//! Names claimed by principals: taken while live, free again once expired,
//! changed only by their controller.

use cairn_registry_canister::types::{NameOwner, RegistryError, ServiceRecord};
use candid::Principal;

use crate::{NOW, TTL, TestEnv, canister, principal, stranger};

pub(crate) fn record(url: &str) -> ServiceRecord {
    ServiceRecord {
        chain: "eip155:1".into(),
        kind: "rpc".into(),
        url: url.into(),
        provider: "eip155:1:0x00000000000000000000000000000000000000aa".into(),
    }
}

#[test]
fn claim_resolve_and_taken() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let alice = principal(3);
    let entry = state
        .borrow_mut()
        .claim_name(
            env.as_caller(alice),
            "eth-mainnet.cairn".into(),
            vec![record("https://a.example")],
        )
        .unwrap();
    assert_eq!(entry.owner, NameOwner::Principal(alice));
    assert_eq!(entry.expires_at, NOW + TTL);
    assert_eq!(state.borrow().resolve(&env, "eth-mainnet.cairn").unwrap(), entry);
    assert_eq!(
        state.borrow_mut().claim_name(
            env.as_caller(stranger()),
            "eth-mainnet.cairn".into(),
            vec![]
        ),
        Err(RegistryError::NameTaken)
    );
    assert_eq!(
        state.borrow_mut().claim_name(env.as_caller(alice), "eth-mainnet.cairn".into(), vec![]),
        Err(RegistryError::NameTaken),
        "a live name is renewed, not claimed again"
    );
    assert_eq!(state.borrow().resolve(&env, "base.cairn"), Err(RegistryError::NameNotFound));
}

#[test]
fn an_expired_name_stops_resolving_and_is_free_to_claim() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let alice = principal(3);
    state.borrow_mut().claim_name(env.as_caller(alice), "old.cairn".into(), vec![]).unwrap();
    env.now.set(NOW + TTL - 1);
    assert!(state.borrow().resolve(&env, "old.cairn").is_ok());
    env.now.set(NOW + TTL);
    assert_eq!(state.borrow().resolve(&env, "old.cairn"), Err(RegistryError::NameExpired));
    assert_eq!(state.borrow_mut().renew_name(&env, "old.cairn"), Err(RegistryError::NameExpired));
    assert_eq!(
        state.borrow_mut().transfer_name(&env, "old.cairn", stranger()),
        Err(RegistryError::NameExpired)
    );
    assert_eq!(
        state.borrow_mut().set_records(&env, "old.cairn", vec![]),
        Err(RegistryError::NameExpired)
    );
    let bob = principal(4);
    let entry =
        state.borrow_mut().claim_name(env.as_caller(bob), "old.cairn".into(), vec![]).unwrap();
    assert_eq!(entry.controller, bob);
    assert_eq!(entry.expires_at, NOW + TTL + TTL);
}

#[test]
fn transfer_renew_and_records_by_the_controller_only() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let (alice, bob) = (principal(3), principal(4));
    state.borrow_mut().claim_name(env.as_caller(alice), "x.cairn".into(), vec![]).unwrap();

    let records = vec![record("https://a.example"), record("wss://b.example/ws")];
    assert_eq!(
        state.borrow_mut().set_records(env.as_caller(bob), "x.cairn", records.clone()),
        Err(RegistryError::Unauthorised)
    );
    assert_eq!(
        state.borrow_mut().transfer_name(env.as_caller(bob), "x.cairn", bob),
        Err(RegistryError::Unauthorised)
    );
    assert_eq!(
        state.borrow_mut().renew_name(env.as_caller(bob), "x.cairn"),
        Err(RegistryError::Unauthorised)
    );
    let set = state.borrow_mut().set_records(env.as_caller(alice), "x.cairn", records.clone());
    assert_eq!(set.unwrap().records, records);

    env.now.set(NOW + 100);
    let renewed = state.borrow_mut().renew_name(env.as_caller(alice), "x.cairn").unwrap();
    assert_eq!(renewed.expires_at, NOW + 100 + TTL);

    assert!(matches!(
        state.borrow_mut().transfer_name(env.as_caller(alice), "x.cairn", Principal::anonymous()),
        Err(RegistryError::InvalidArgument(_))
    ));
    let moved = state.borrow_mut().transfer_name(env.as_caller(alice), "x.cairn", bob).unwrap();
    assert_eq!((moved.owner, moved.controller), (NameOwner::Principal(bob), bob));
    assert_eq!(
        state.borrow_mut().set_records(env.as_caller(alice), "x.cairn", vec![]),
        Err(RegistryError::Unauthorised),
        "the old controller lost it"
    );
    assert!(state.borrow_mut().set_records(env.as_caller(bob), "x.cairn", vec![]).is_ok());
}

#[test]
fn bad_names_records_and_anonymous_callers_are_refused() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let alice = principal(3);
    for name in ["eth.com", "Eth.cairn", ".cairn", "a..cairn", "-a.cairn", "é.cairn", "a b.cairn"]
    {
        assert!(
            matches!(
                state.borrow_mut().claim_name(env.as_caller(alice), name.into(), vec![]),
                Err(RegistryError::InvalidName(_))
            ),
            "{name}"
        );
    }
    let long = format!("{}.cairn", "a".repeat(60));
    assert!(matches!(
        state.borrow_mut().claim_name(&env, long, vec![]),
        Err(RegistryError::InvalidName(_))
    ));
    let bad_records = [
        ServiceRecord { chain: "mainnet".into(), ..record("https://a.example") },
        record("ftp://a.example"),
        ServiceRecord { kind: "RPC".into(), ..record("https://a.example") },
        ServiceRecord { provider: String::new(), ..record("https://a.example") },
    ];
    for r in bad_records {
        assert!(
            matches!(
                state.borrow_mut().claim_name(&env, "ok.cairn".into(), vec![r.clone()]),
                Err(RegistryError::InvalidRecord(_))
            ),
            "{r:?}"
        );
    }
    let too_many = vec![record("https://a.example"); 17];
    assert!(matches!(
        state.borrow_mut().claim_name(&env, "ok.cairn".into(), too_many),
        Err(RegistryError::InvalidRecord(_))
    ));
    assert_eq!(
        state.borrow_mut().claim_name(
            env.as_caller(Principal::anonymous()),
            "ok.cairn".into(),
            vec![]
        ),
        Err(RegistryError::Unauthorised)
    );
    assert_eq!(state.borrow().resolve(&env, "ok.cairn"), Err(RegistryError::NameNotFound));
    assert_eq!(state.borrow().event_count(), 0, "nothing refused was logged");
}
