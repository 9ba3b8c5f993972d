use cairn_solana_interface::{CairnError, ID, event::Event, instruction as ix};
use solana_sdk::signature::Signer;

use crate::common::Env;

#[tokio::test]
async fn anyone_opens_an_empty_balance_for_an_owner() {
    let mut env = Env::vault().await;
    let owner = solana_program::pubkey::Pubkey::new_unique();
    let i = ix::open_balance(&ID, &env.ctx.payer.pubkey(), &owner, &env.mint);
    let out = env.send(&[i], &[]).await;
    out.ok();
    assert_eq!(out.events, vec![Event::BalanceOpened { owner, mint: env.mint }]);
    let b = env.vault_balance(&owner).await.unwrap();
    assert_eq!((b.owner, b.amount, b.pending), (owner, 0, 0));
}

#[tokio::test]
async fn reopening_a_balance_is_rejected_and_keeps_it() {
    let mut env = Env::vault().await;
    let p = env.depositor(700).await;
    let i = ix::open_balance(&ID, &env.ctx.payer.pubkey(), &p.pubkey(), &env.mint);
    env.send(&[i], &[]).await.err(CairnError::AlreadyInitialized);
    assert_eq!(env.vault_balance(&p.pubkey()).await.unwrap().amount, 700);
}

#[tokio::test]
async fn a_balance_at_another_address_is_rejected() {
    let mut env = Env::vault().await;
    let owner = solana_program::pubkey::Pubkey::new_unique();
    let mut i = ix::open_balance(&ID, &env.ctx.payer.pubkey(), &owner, &env.mint);
    let other = solana_program::pubkey::Pubkey::new_unique();
    i.accounts[2].pubkey = cairn_solana_interface::balance_address(&ID, &other, &env.mint).0;
    env.send(&[i], &[]).await.err(CairnError::WrongAddress);
}
