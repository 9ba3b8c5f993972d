use cairn_solana_interface::{
    CairnError, ID, balance_address, event::Event, instruction as ix, settlement_vault_address,
};

use crate::common::Env;

#[tokio::test]
async fn a_deposit_moves_tokens_into_the_vault_and_credits_the_balance() {
    let mut env = Env::vault().await;
    let p = env.payer_with(5_000).await;
    let i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 3_000);
    let out = env.send(&[i], &[&p.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![
            Event::BalanceOpened { owner: p.pubkey(), mint: env.mint },
            Event::Deposited { owner: p.pubkey(), mint: env.mint, amount: 3_000, balance: 3_000 },
        ]
    );
    let i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 500);
    let out = env.send(&[i], &[&p.key]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::Deposited { owner: p.pubkey(), mint: env.mint, amount: 500, balance: 3_500 }]
    );
    assert_eq!(env.vault_balance(&p.pubkey()).await.unwrap().amount, 3_500);
    assert_eq!(env.balance(&settlement_vault_address(&ID, &env.mint).0).await, 3_500);
    assert_eq!(env.balance(&p.token).await, 1_500);
    assert_eq!(env.settlement().await.total_balance, 3_500);
}

#[tokio::test]
async fn a_deposit_without_the_owners_signature_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.payer_with(5_000).await;
    let mut i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 3_000);
    i.accounts[0].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
    assert_eq!(env.balance(&p.token).await, 5_000);
}

#[tokio::test]
async fn a_deposit_credited_to_another_owners_balance_is_rejected() {
    let mut env = Env::vault().await;
    let victim = env.depositor(100).await;
    let p = env.payer_with(5_000).await;
    let mut i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 3_000);
    i.accounts[2].pubkey = balance_address(&ID, &victim.pubkey(), &env.mint).0;
    env.send(&[i], &[&p.key]).await.err(CairnError::WrongAddress);
    assert_eq!(env.vault_balance(&victim.pubkey()).await.unwrap().amount, 100);
}

#[tokio::test]
async fn a_token_account_of_another_mint_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.payer_with(0).await;
    let other_mint = env.create_mint().await;
    let foreign = env.token_account_of(&other_mint, &p.pubkey()).await;
    let i = ix::deposit(&ID, &p.pubkey(), &foreign, &env.mint, 1);
    env.send(&[i], &[&p.key]).await.err(CairnError::WrongTokenAccount);
}

#[tokio::test]
async fn a_settlement_account_owned_by_another_program_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.payer_with(5_000).await;
    let mut i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 1);
    // A system-owned account in the config's place.
    i.accounts[1].pubkey = p.pubkey();
    env.send(&[i], &[&p.key]).await.err(CairnError::WrongOwner);
}

#[tokio::test]
async fn the_vault_as_its_own_source_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.payer_with(5_000).await;
    let vault = settlement_vault_address(&ID, &env.mint).0;
    let i = ix::deposit(&ID, &p.pubkey(), &vault, &env.mint, 1);
    env.send(&[i], &[&p.key]).await.err(CairnError::DuplicateAccount);
}

#[tokio::test]
async fn a_zero_deposit_is_rejected() {
    let mut env = Env::vault().await;
    let p = env.payer_with(5_000).await;
    let i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 0);
    env.send(&[i], &[&p.key]).await.err(CairnError::ZeroAmount);
}

#[tokio::test]
async fn a_deposit_before_the_vault_exists_is_rejected() {
    let mut env = Env::new().await;
    let p = env.payer_with(5_000).await;
    let i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 1);
    env.send(&[i], &[&p.key]).await.err(CairnError::WrongOwner);
}
