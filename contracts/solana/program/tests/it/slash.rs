use cairn_solana_interface::{
    CairnError, ID, event::Event, instruction as ix, nonce_address, vault_address,
};
use k256::ecdsa::SigningKey;
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env};

#[tokio::test]
async fn a_slash_signed_by_the_slasher_pays_the_treasury() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 3600;
    let order = env.order(1_200, 1, deadline);
    let i = env.slash_ix(&s.key.pubkey(), order.clone(), &env.slasher.clone());
    let out = env.send(&[i], &[]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::Slashed {
            provider: s.key.pubkey(),
            amount: 1_200,
            nonce: order.nonce,
            reason: 2,
            receipt_id: [0xaa; 32],
        }]
    );
    assert_eq!(env.balance(&env.treasury.clone()).await, 1_200);
    assert_eq!(env.balance(&vault_address(&ID).0).await, 3_800);
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().stake, 3_800);
    assert_eq!(env.config().await.slashed_total, 1_200);
    assert!(
        env.ctx
            .banks_client
            .get_account(nonce_address(&ID, &order.nonce).0)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_slash_reaches_unbonding_stake_after_bonded_stake() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    env.send(&[ix::unbond(&ID, &s.key.pubkey(), 3_000)], &[&s.key]).await.ok();
    let deadline = env.now().await + 3600;
    let i = env.slash_ix(&s.key.pubkey(), env.order(4_500, 1, deadline), &env.slasher.clone());
    env.send(&[i], &[]).await.ok();
    let p = env.provider(&s.key.pubkey()).await.unwrap();
    assert_eq!((p.stake, p.unbonding), (0, 500));
}

#[tokio::test]
async fn a_slash_signed_by_another_key_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 3600;
    let other = SigningKey::from_slice(&[8u8; 32]).unwrap();
    let i = env.slash_ix(&s.key.pubkey(), env.order(1_000, 1, deadline), &other);
    env.send(&[i], &[]).await.err(CairnError::NotSlasher);
    assert_eq!(env.balance(&env.treasury.clone()).await, 0);
}

#[tokio::test]
async fn a_changed_amount_breaks_the_signature() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 3600;
    let order = env.order(1_000, 1, deadline);
    let (sig, rid) = Env::sign(&env.slasher, &s.key.pubkey(), &order);
    let raised = cairn_solana_interface::instruction::SlashOrder { amount: 4_000, ..order };
    let i =
        ix::slash(&ID, &env.ctx.payer.pubkey(), &s.key.pubkey(), &env.treasury, raised, sig, rid);
    env.send(&[i], &[]).await.err(CairnError::NotSlasher);
}

#[tokio::test]
async fn a_replayed_nonce_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 3600;
    let i = env.slash_ix(&s.key.pubkey(), env.order(1_000, 7, deadline), &env.slasher.clone());
    env.send(std::slice::from_ref(&i), &[]).await.ok();
    env.send(&[i], &[]).await.err(CairnError::NonceUsed);
    // A new order reusing the nonce is just as used.
    let i = env.slash_ix(&s.key.pubkey(), env.order(10, 7, deadline), &env.slasher.clone());
    env.send(&[i], &[]).await.err(CairnError::NonceUsed);
    assert_eq!(env.balance(&env.treasury.clone()).await, 1_000);
}

#[tokio::test]
async fn a_slash_above_slashable_stake_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 3600;
    let i = env.slash_ix(&s.key.pubkey(), env.order(5_001, 1, deadline), &env.slasher.clone());
    env.send(&[i], &[]).await.err(CairnError::SlashExceedsSlashable);
}

#[tokio::test]
async fn an_expired_slash_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 60;
    env.warp(61).await;
    let i = env.slash_ix(&s.key.pubkey(), env.order(1_000, 1, deadline), &env.slasher.clone());
    env.send(&[i], &[]).await.err(CairnError::SlashExpired);
    let _ = DELAY;
}

#[tokio::test]
async fn the_malleated_high_s_twin_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let deadline = env.now().await + 3600;
    let order = env.order(1_000, 1, deadline);
    let (sig, rid) = Env::sign(&env.slasher, &s.key.pubkey(), &order);
    let sig = k256::ecdsa::Signature::from_slice(&sig).unwrap();
    let (r, s_low) = sig.split_scalars();
    let high = k256::ecdsa::Signature::from_scalars(r, -*s_low).unwrap();
    let i = ix::slash(
        &ID,
        &env.ctx.payer.pubkey(),
        &s.key.pubkey(),
        &env.treasury,
        order,
        high.to_bytes().into(),
        rid ^ 1,
    );
    env.send(&[i], &[]).await.err(CairnError::InvalidSignature);
}

#[tokio::test]
async fn a_substituted_treasury_is_rejected() {
    let mut env = Env::initialized().await;
    let s = env.registered(5_000).await;
    let thief = env.funded(0).await;
    let deadline = env.now().await + 3600;
    let mut i = env.slash_ix(&s.key.pubkey(), env.order(1_000, 1, deadline), &env.slasher.clone());
    i.accounts[4].pubkey = thief.token;
    env.send(&[i], &[]).await.err(CairnError::WrongAddress);
    assert_eq!(env.balance(&thief.token).await, 0);
}
