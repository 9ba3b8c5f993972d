use cairn_solana_interface::{CairnError, ID, event::Event, instruction as ix};
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env, MIN_STAKE};

#[tokio::test]
async fn unbond_starts_the_delay() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let now = env.now().await;
    let out = env.send(&[ix::unbond(&ID, &s.key.pubkey(), 2_000)], &[&s.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::UnbondStarted {
            provider: s.key.pubkey(),
            amount: 2_000,
            release_at: now + DELAY
        }]
    );
    let p = env.provider(&s.key.pubkey()).await.unwrap();
    assert_eq!((p.stake, p.unbonding, p.release_at), (3_000, 2_000, now + DELAY));
}

#[tokio::test]
async fn bad_amounts_are_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let cases = [
        (0, CairnError::ZeroAmount),
        (5_001, CairnError::UnbondExceedsStake),
        (5_000 - MIN_STAKE + 1, CairnError::UnbondLeavesBelowMinimum),
    ];
    for (amount, e) in cases {
        env.send(&[ix::unbond(&ID, &s.key.pubkey(), amount)], &[&s.key]).await.err(e);
    }
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().stake, 5_000);
}

#[tokio::test]
async fn unbond_needs_the_providers_own_signature() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let mut i = ix::unbond(&ID, &s.key.pubkey(), 1_000);
    i.accounts[0].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
    // The operator signs for itself, against the provider's account.
    let mut i = ix::unbond(&ID, &s.key.pubkey(), 1_000);
    i.accounts[0].pubkey = s.operator.pubkey();
    env.send(&[i], &[&s.operator]).await.err(CairnError::MissingSigner);
}

#[tokio::test]
async fn a_release_time_past_u64_is_an_overflow_error() {
    let mut env = Env::new().await;
    let i = env.initialize_ix(MIN_STAKE, u64::MAX);
    let authority = env.authority.insecure_clone();
    env.send(&[i], &[&authority]).await.ok();
    let s = env.registered(5_000).await;
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 5_000)], &[&s.key]).await.err(CairnError::Overflow);
}

#[tokio::test]
async fn a_provider_account_of_another_owner_or_kind_is_refused() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    // Owned by the token program: refused on owner.
    let mut i = ix::unbond(&ID, &s.key.pubkey(), 1_000);
    i.accounts[2].pubkey = s.token;
    env.send(&[i], &[&s.key]).await.err(CairnError::WrongOwner);
    // The program's own config account in the provider's place: refused on kind.
    let mut i = ix::unbond(&ID, &s.key.pubkey(), 1_000);
    i.accounts[2].pubkey = cairn_solana_interface::config_address(&ID).0;
    env.send(&[i], &[&s.key]).await.err(CairnError::NotInitialized);
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().stake, 5_000);
}
