//! The ICP-side provider registry: principals register, and the provider or
//! its operator manage endpoints under `cairn-core`'s endpoint rules.

use std::str::FromStr;

use cairn_core::{ChainId, ServiceId};
use cairn_registry_canister::{
    providers::MAX_ENDPOINTS_PER_PROVIDER,
    types::{EndpointArgs, RegistryError},
};
use candid::Principal;

use crate::{NOW, TestEnv, buf, canister, principal, stranger};

fn endpoint(url: &str) -> EndpointArgs {
    EndpointArgs { chain: "eip155:1".into(), kind: "rpc".into(), url: url.into() }
}

#[test]
fn register_add_and_remove_endpoints() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let (provider, operator) = (principal(3), principal(4));
    let info =
        state.borrow_mut().register_provider(env.as_caller(provider), Some(operator)).unwrap();
    assert_eq!(
        (info.provider, info.operator, info.stake, info.registered_at),
        (provider, operator, 0, NOW)
    );
    assert_eq!(
        state.borrow_mut().register_provider(&env, None),
        Err(RegistryError::AlreadyRegistered)
    );

    let added = state
        .borrow_mut()
        .add_endpoint(env.as_caller(operator), provider, endpoint("https://rpc.example"))
        .unwrap();
    let expected = ServiceId::compute(
        provider.as_slice(),
        &ChainId::from_str("eip155:1").unwrap(),
        "rpc",
        "https://rpc.example",
    );
    assert_eq!(added.service_id.as_slice(), expected.0.as_slice(), "cairn-core's service id");
    assert!(matches!(
        state.borrow_mut().add_endpoint(&env, provider, endpoint("https://rpc.example")),
        Err(RegistryError::InvalidRecord(_))
    ));
    state
        .borrow_mut()
        .add_endpoint(env.as_caller(provider), provider, endpoint("wss://ws.example"))
        .unwrap();
    assert_eq!(state.borrow().get_provider(&provider).unwrap().endpoints.len(), 2);

    state.borrow_mut().remove_endpoint(&env, provider, added.service_id.clone()).unwrap();
    assert_eq!(
        state.borrow_mut().remove_endpoint(&env, provider, added.service_id),
        Err(RegistryError::EndpointNotFound)
    );
    let left = state.borrow().get_provider(&provider).unwrap().endpoints;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].url, "wss://ws.example");
}

#[test]
fn only_the_provider_or_its_operator_manage_endpoints() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let provider = principal(3);
    state.borrow_mut().register_provider(env.as_caller(provider), None).unwrap();
    assert_eq!(
        state.borrow_mut().add_endpoint(
            env.as_caller(stranger()),
            provider,
            endpoint("https://x.example")
        ),
        Err(RegistryError::Unauthorised)
    );
    let id = state
        .borrow_mut()
        .add_endpoint(env.as_caller(provider), provider, endpoint("https://x.example"))
        .unwrap()
        .service_id;
    assert_eq!(
        state.borrow_mut().remove_endpoint(env.as_caller(stranger()), provider, id),
        Err(RegistryError::Unauthorised)
    );
    assert_eq!(
        state.borrow_mut().add_endpoint(&env, stranger(), endpoint("https://x.example")),
        Err(RegistryError::NotRegistered)
    );
    assert_eq!(
        state.borrow_mut().register_provider(env.as_caller(Principal::anonymous()), None),
        Err(RegistryError::Unauthorised)
    );
    assert!(state.borrow().get_provider(&stranger()).is_none());
}

#[test]
fn endpoint_rules_and_the_per_provider_bound() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let provider = principal(3);
    state.borrow_mut().register_provider(env.as_caller(provider), None).unwrap();
    let bad = [
        EndpointArgs { chain: "1".into(), ..endpoint("https://x.example") },
        endpoint("ftp://x.example"),
        endpoint("https://"),
        endpoint("https://a b.example"),
        EndpointArgs { kind: String::new(), ..endpoint("https://x.example") },
    ];
    for args in bad {
        assert!(
            matches!(
                state.borrow_mut().add_endpoint(&env, provider, args.clone()),
                Err(RegistryError::InvalidRecord(_))
            ),
            "{args:?}"
        );
    }
    for n in 0..MAX_ENDPOINTS_PER_PROVIDER {
        state
            .borrow_mut()
            .add_endpoint(&env, provider, endpoint(&format!("https://{n}.example")))
            .unwrap();
    }
    assert_eq!(
        state.borrow_mut().add_endpoint(&env, provider, endpoint("https://more.example")),
        Err(RegistryError::TooManyEndpoints)
    );
    let missing = buf(&[0; 32]);
    assert_eq!(
        state.borrow_mut().remove_endpoint(&env, provider, missing),
        Err(RegistryError::EndpointNotFound)
    );
}
