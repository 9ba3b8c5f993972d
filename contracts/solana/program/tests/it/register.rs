use cairn_solana_interface::{CairnError, ID, event::Event, instruction as ix, vault_address};
use solana_sdk::signature::{Keypair, Signer};

use crate::common::{Env, MIN_STAKE};

#[tokio::test]
async fn register_moves_stake_into_the_vault() {
    let mut env = Env::initialized().await;
    let s = env.funded(5_000).await;
    let i = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), 4_000);
    let out = env.send(&[i], &[&s.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::Registered {
            provider: s.key.pubkey(),
            operator: s.operator.pubkey(),
            amount: 4_000
        }]
    );
    assert_eq!(env.balance(&vault_address(&ID).0).await, 4_000);
    assert_eq!(env.balance(&s.token).await, 1_000);
    let p = env.provider(&s.key.pubkey()).await.unwrap();
    assert_eq!((p.stake, p.operator), (4_000, s.operator.pubkey()));
    assert_eq!(env.config().await.total_staked, 4_000);
}

#[tokio::test]
async fn stake_below_the_minimum_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.funded(5_000).await;
    let i = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), MIN_STAKE - 1);
    env.send(&[i], &[&s.key]).await.err(CairnError::BelowMinimum);
}

#[tokio::test]
async fn register_without_the_provider_signature_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.funded(5_000).await;
    let mut i = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), 2_000);
    i.accounts[0].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
    assert_eq!(env.balance(&s.token).await, 5_000);
}

#[tokio::test]
async fn registering_twice_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(2_000).await;
    env.mint_to(&s.token, 2_000).await;
    let i = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), 2_000);
    env.send(&[i], &[&s.key]).await.err(CairnError::AlreadyInitialized);
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().stake, 2_000);
}

#[tokio::test]
async fn another_providers_pda_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.funded(5_000).await;
    let other = Keypair::new();
    let mut i = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), 2_000);
    i.accounts[2].pubkey = cairn_solana_interface::provider_address(&ID, &other.pubkey()).0;
    env.send(&[i], &[&s.key]).await.err(CairnError::WrongAddress);
}

#[tokio::test]
async fn the_vault_as_source_is_a_duplicate_account() {
    let mut env = Env::initialized().await;
    let s = env.funded(5_000).await;
    let vault = vault_address(&ID).0;
    let i = ix::register(&ID, &s.key.pubkey(), &vault, &s.operator.pubkey(), 2_000);
    env.send(&[i], &[&s.key]).await.err(CairnError::DuplicateAccount);
}

#[tokio::test]
async fn a_config_not_owned_by_the_program_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.funded(5_000).await;
    let mut i = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), 2_000);
    i.accounts[1].pubkey = env.treasury;
    env.send(&[i], &[&s.key]).await.err(CairnError::WrongOwner);
}
