use cairn_solana_interface::{CairnError, ID, balance_address, event::Event, instruction as ix};

use crate::common::{Env, WITHDRAWAL_DELAY};

#[tokio::test]
async fn a_request_records_the_amount_and_when_it_is_ready() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    let now = env.now().await;
    let i = ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 400);
    let out = env.send(&[i], &[&p.key]).await;
    out.ok();
    let ready_at = now + WITHDRAWAL_DELAY;
    assert_eq!(
        out.events,
        vec![Event::WithdrawalRequested {
            owner: p.pubkey(),
            mint: env.mint,
            amount: 400,
            ready_at
        }]
    );
    let b = env.vault_balance(&p.pubkey()).await.unwrap();
    assert_eq!((b.amount, b.pending, b.ready_at), (1_000, 400, ready_at));
}

#[tokio::test]
async fn a_new_request_replaces_the_old_one_and_restarts_the_delay() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 400)], &[&p.key]).await.ok();
    env.warp(100).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 900)], &[&p.key]).await.ok();
    let now = env.now().await;
    let b = env.vault_balance(&p.pubkey()).await.unwrap();
    assert_eq!((b.pending, b.ready_at), (900, now + WITHDRAWAL_DELAY));
}

#[tokio::test]
async fn a_request_above_the_balance_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    let i = ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 1_001);
    env.send(&[i], &[&p.key]).await.err(CairnError::InsufficientBalance);
    let i = ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 0);
    env.send(&[i], &[&p.key]).await.err(CairnError::ZeroAmount);
}

#[tokio::test]
async fn a_request_without_the_owners_signature_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    let mut i = ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 10);
    i.accounts[0].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
}

#[tokio::test]
async fn a_request_against_another_owners_balance_is_rejected() {
    let mut env = Env::vault().await;
    let victim = env.depositor(1_000).await;
    let thief = env.depositor(1).await;
    let mut i = ix::request_withdrawal(&ID, &thief.pubkey(), &env.mint, 1_000);
    i.accounts[2].pubkey = balance_address(&ID, &victim.pubkey(), &env.mint).0;
    env.send(&[i], &[&thief.key]).await.err(CairnError::MissingSigner);
    assert_eq!(env.vault_balance(&victim.pubkey()).await.unwrap().pending, 0);
}
