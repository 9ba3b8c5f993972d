use cairn_solana_interface::{CairnError, ID, event::Event, instruction as ix, vault_address};
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env};

#[tokio::test]
async fn withdraw_before_the_delay_fails_and_after_it_pays() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 2_000)], &[&s.key]).await.ok();
    let w = ix::withdraw(&ID, &s.key.pubkey(), &s.token);
    env.send(std::slice::from_ref(&w), &[&s.key]).await.err(CairnError::StillUnbonding);
    env.warp(DELAY - 10).await;
    env.send(std::slice::from_ref(&w), &[&s.key]).await.err(CairnError::StillUnbonding);
    env.warp(10).await;
    let out = env.send(&[w], &[&s.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::Withdrawn { provider: s.key.pubkey(), amount: 2_000, exited: false }]
    );
    assert_eq!(env.balance(&s.token).await, 2_000);
    assert_eq!(env.balance(&vault_address(&ID).0).await, 3_000);
    let p = env.provider(&s.key.pubkey()).await.unwrap();
    assert_eq!((p.stake, p.unbonding), (3_000, 0));
}

#[tokio::test]
async fn nothing_unbonding_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let w = ix::withdraw(&ID, &s.key.pubkey(), &s.token);
    env.send(&[w], &[&s.key]).await.err(CairnError::NothingUnbonding);
}

#[tokio::test]
async fn a_full_exit_closes_the_provider_and_a_new_registration_starts_fresh() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 5_000)], &[&s.key]).await.ok();
    env.warp(DELAY).await;
    let out = env.send(&[ix::withdraw(&ID, &s.key.pubkey(), &s.token)], &[&s.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::Withdrawn { provider: s.key.pubkey(), amount: 5_000, exited: true }]
    );
    assert!(env.provider(&s.key.pubkey()).await.is_none());
    let again = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), 1_500);
    env.send(&[again], &[&s.key]).await.ok();
    let p = env.provider(&s.key.pubkey()).await.unwrap();
    assert_eq!((p.stake, p.unbonding, p.endpoint_count), (1_500, 0, 0));
}

#[tokio::test]
async fn exit_with_endpoints_left_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let add = ix::add_endpoint(
        &ID,
        &s.operator.pubkey(),
        &s.key.pubkey(),
        "eip155:1",
        "json-rpc",
        "https://a.example",
        [0; 32],
    );
    env.send(&[add], &[&s.operator]).await.ok();
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 5_000)], &[&s.key]).await.ok();
    env.warp(DELAY).await;
    env.send(&[ix::withdraw(&ID, &s.key.pubkey(), &s.token)], &[&s.key])
        .await
        .err(CairnError::EndpointsRemain);
}

#[tokio::test]
async fn the_vault_as_destination_is_a_duplicate_account() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 2_000)], &[&s.key]).await.ok();
    env.warp(DELAY).await;
    let w = ix::withdraw(&ID, &s.key.pubkey(), &vault_address(&ID).0);
    env.send(&[w], &[&s.key]).await.err(CairnError::DuplicateAccount);
}

#[tokio::test]
async fn another_providers_signature_does_not_withdraw() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let thief = env.funded(0).await;
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 2_000)], &[&s.key]).await.ok();
    env.warp(DELAY).await;
    let mut w = ix::withdraw(&ID, &s.key.pubkey(), &thief.token);
    w.accounts[0].pubkey = thief.key.pubkey();
    env.send(&[w], &[&thief.key]).await.err(CairnError::MissingSigner);
    assert_eq!(env.balance(&thief.token).await, 0);
}
