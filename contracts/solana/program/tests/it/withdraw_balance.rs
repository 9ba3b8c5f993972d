use cairn_solana_interface::{
    CairnError, ID, balance_address, event::Event, instruction as ix, settlement_vault_address,
};

use crate::common::{Env, WITHDRAWAL_DELAY, sorted};

#[tokio::test]
async fn a_withdrawal_after_the_delay_pays_out() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 400)], &[&p.key]).await.ok();
    env.warp(WITHDRAWAL_DELAY).await;
    let out =
        env.send(&[ix::withdraw_balance(&ID, &p.pubkey(), &p.token, &env.mint)], &[&p.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::BalanceWithdrawn {
            owner: p.pubkey(),
            mint: env.mint,
            amount: 400,
            balance: 600
        }]
    );
    assert_eq!(env.balance(&p.token).await, 400);
    assert_eq!(env.balance(&settlement_vault_address(&ID, &env.mint).0).await, 600);
    let b = env.vault_balance(&p.pubkey()).await.unwrap();
    assert_eq!((b.amount, b.pending, b.ready_at), (600, 0, 0));
    assert_eq!(env.settlement().await.total_balance, 600);
    // The request is used up.
    let i = ix::withdraw_balance(&ID, &p.pubkey(), &p.token, &env.mint);
    env.send(&[i], &[&p.key]).await.err(CairnError::NoPendingWithdrawal);
}

#[tokio::test]
async fn a_withdrawal_before_the_delay_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 400)], &[&p.key]).await.ok();
    env.warp(WITHDRAWAL_DELAY - 10).await;
    let i = ix::withdraw_balance(&ID, &p.pubkey(), &p.token, &env.mint);
    env.send(&[i], &[&p.key]).await.err(CairnError::WithdrawalNotReady);
    assert_eq!(env.balance(&p.token).await, 0);
}

#[tokio::test]
async fn a_batch_during_the_delay_caps_the_withdrawal() {
    // The pending amount stays debitable: a batch settled during the delay
    // takes its share first and the withdrawal pays what is left.
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    let q = env.depositor(0).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 1_000)], &[&p.key]).await.ok();
    let deltas = sorted(vec![(p.pubkey(), env.mint, -300), (q.pubkey(), env.mint, 300)]);
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[]).await.ok();
    env.warp(WITHDRAWAL_DELAY).await;
    env.send(&[ix::withdraw_balance(&ID, &p.pubkey(), &p.token, &env.mint)], &[&p.key]).await.ok();
    assert_eq!(env.balance(&p.token).await, 700);
    assert_eq!(env.vault_balance(&p.pubkey()).await.unwrap().amount, 0);
}

#[tokio::test]
async fn withdrawing_from_another_owners_balance_is_rejected() {
    let mut env = Env::vault().await;
    let victim = env.depositor(1_000).await;
    env.send(&[ix::request_withdrawal(&ID, &victim.pubkey(), &env.mint, 1_000)], &[&victim.key])
        .await
        .ok();
    env.warp(WITHDRAWAL_DELAY).await;
    let thief = env.depositor(1).await;
    let mut i = ix::withdraw_balance(&ID, &thief.pubkey(), &thief.token, &env.mint);
    i.accounts[2].pubkey = balance_address(&ID, &victim.pubkey(), &env.mint).0;
    env.send(&[i], &[&thief.key]).await.err(CairnError::MissingSigner);
    assert_eq!(env.balance(&thief.token).await, 0);
}

#[tokio::test]
async fn a_withdrawal_without_the_owners_signature_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 400)], &[&p.key]).await.ok();
    env.warp(WITHDRAWAL_DELAY).await;
    let mut i = ix::withdraw_balance(&ID, &p.pubkey(), &p.token, &env.mint);
    i.accounts[0].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
}

#[tokio::test]
async fn the_vault_as_the_destination_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.depositor(1_000).await;
    env.send(&[ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 400)], &[&p.key]).await.ok();
    env.warp(WITHDRAWAL_DELAY).await;
    let vault = settlement_vault_address(&ID, &env.mint).0;
    let i = ix::withdraw_balance(&ID, &p.pubkey(), &vault, &env.mint);
    env.send(&[i], &[&p.key]).await.err(CairnError::DuplicateAccount);
}
