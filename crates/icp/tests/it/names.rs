//! The name and registration calls a `cairn icp` CLI would make, through
//! the trait, against the in-process canister.

use std::sync::Arc;

use cairn_icp::{
    IcpError, RegistryCanister,
    types::{EndpointArgs, NameOwner, RegistryError, ServiceRecord},
};

use crate::support::{install, service, stranger};

fn record() -> ServiceRecord {
    ServiceRecord {
        chain: "eip155:1".into(),
        kind: "json-rpc".into(),
        url: "https://rpc.example".into(),
        provider: "eip155:1:0x2222222222222222222222222222222222222222".into(),
    }
}

#[tokio::test]
async fn names_are_claimed_resolved_and_transferred_by_their_controller_only() {
    let (canister, as_service) = install();
    let as_stranger: Arc<dyn RegistryCanister> = Arc::new(canister.as_caller(stranger()));

    let entry = as_service.claim_name("eth-mainnet.cairn".into(), vec![record()]).await.unwrap();
    assert_eq!(entry.owner, NameOwner::Principal(service()));
    assert_eq!(as_stranger.resolve("eth-mainnet.cairn".into()).await.unwrap(), entry);
    match as_stranger.claim_name("eth-mainnet.cairn".into(), vec![]).await {
        Err(IcpError::Canister(RegistryError::NameTaken)) => {}
        other => panic!("expected NameTaken, got {other:?}"),
    }
    match as_stranger.set_records("eth-mainnet.cairn".into(), vec![]).await {
        Err(IcpError::Canister(RegistryError::Unauthorised)) => {}
        other => panic!("expected Unauthorised, got {other:?}"),
    }
    match as_service.resolve("Not A Name".into()).await {
        Err(IcpError::Canister(RegistryError::InvalidName(_) | RegistryError::NameNotFound)) => {}
        other => panic!("expected a bad name, got {other:?}"),
    }
    let moved = as_service.transfer_name("eth-mainnet.cairn".into(), stranger()).await.unwrap();
    assert_eq!(moved.controller, stranger());
    let set = as_stranger.set_records("eth-mainnet.cairn".into(), vec![]).await.unwrap();
    assert!(set.records.is_empty());
}

#[tokio::test]
async fn providers_register_and_manage_endpoints() {
    let (canister, as_service) = install();
    let info = as_service.register_provider(None).await.unwrap();
    assert_eq!(info.provider, service());
    let endpoint = as_service
        .add_endpoint(
            service(),
            EndpointArgs {
                chain: "eip155:1".into(),
                kind: "json-rpc".into(),
                url: "https://rpc.example".into(),
            },
        )
        .await
        .unwrap();
    let listed = as_service.get_provider(service()).await.unwrap().unwrap();
    assert_eq!(listed.endpoints, vec![endpoint.clone()]);
    let as_stranger = canister.as_caller(stranger());
    match as_stranger.remove_endpoint(service(), endpoint.service_id.to_vec()).await {
        Err(IcpError::Canister(RegistryError::Unauthorised)) => {}
        other => panic!("expected Unauthorised, got {other:?}"),
    }
    as_service.remove_endpoint(service(), endpoint.service_id.to_vec()).await.unwrap();
    assert!(as_service.get_provider(service()).await.unwrap().unwrap().endpoints.is_empty());
    // No ledger configured: stake is refused before any ledger call.
    match as_service.add_stake(10).await {
        Err(IcpError::Canister(RegistryError::NoStakeLedger)) => {}
        other => panic!("expected NoStakeLedger, got {other:?}"),
    }
    // Only controllers reconfigure.
    let config = as_service.get_config().await.unwrap().unwrap();
    match as_service.configure(config.clone()).await {
        Err(IcpError::Canister(RegistryError::Unauthorised)) => {}
        other => panic!("expected Unauthorised, got {other:?}"),
    }
    canister.configure(config).await.unwrap();
}
