//! The staged form of `settle_batch` (begin_batch, stage_deltas,
//! finalize_batch, apply_staged, cancel_batch): one commitment settled over
//! several transactions, atomic through the settlement PDA.

use alloy_sol_types::SolStruct;
use cairn_solana_interface::{
    CairnError, ID, event::Event, instruction as ix, instruction::BatchCommitment,
    staged_batch_address,
};
use solana_program::pubkey::Pubkey;
use solana_sdk::signature::Signer;

use crate::common::{Env, core_commitment, sign_batch, sorted};

type Deltas = Vec<(Pubkey, Pubkey, i64)>;

/// `n` payers with 1,000 each paying 100 to `n` payees, in batch order, and
/// the vault's state.
async fn market(n: usize) -> (Env, Deltas) {
    let mut env = Env::vault().await;
    let mut deltas = Vec::new();
    for _ in 0..n {
        let payer = env.depositor(1_000).await;
        let payee = env.depositor(0).await;
        deltas.push((payer.pubkey(), env.mint, -100));
        deltas.push((payee.pubkey(), env.mint, 100));
    }
    (env, sorted(deltas))
}

async fn begin(env: &mut Env, c: &BatchCommitment) -> crate::common::Outcome {
    let (sig, rid) = sign_batch(&env.slasher, c);
    let i = ix::begin_batch(&ID, &env.ctx.payer.pubkey(), c.clone(), sig, rid);
    env.send(&[i], &[]).await
}

async fn stage(env: &mut Env, deltas: &[(Pubkey, Pubkey, i64)]) -> crate::common::Outcome {
    let i = ix::stage_deltas(&ID, &env.ctx.payer.pubkey(), deltas);
    env.send(&[i], &[]).await
}

async fn apply(env: &mut Env, owners: &[Pubkey]) -> crate::common::Outcome {
    let payer = env.ctx.payer.pubkey();
    let i = ix::apply_staged(&ID, &payer, &env.mint, owners);
    env.send(&[i], &[]).await
}

async fn staged_exists(env: &mut Env) -> bool {
    env.ctx.banks_client.get_account(staged_batch_address(&ID).0).await.unwrap().is_some()
}

#[tokio::test]
async fn a_batch_past_one_transaction_settles_in_chunks() {
    let (mut env, deltas) = market(20).await;
    assert!(deltas.len() > ix::MAX_DELTAS_PER_TX);
    let c = env.next_commitment(&deltas).await;
    let digest = core_commitment(&c)
        .eip712_signing_hash(&cairn_core::eip712::solana_settlement_domain(ID.to_bytes()));
    let out = begin(&mut env, &c).await;
    out.ok();
    assert_eq!(out.events, vec![Event::BatchStaged { batch_id: 1, commitment_hash: digest.0 }]);
    assert!(env.settlement().await.staging);

    let mut debits = 0;
    for chunk in deltas.chunks(15) {
        let out = stage(&mut env, chunk).await;
        out.ok();
        debits += out.events.len();
    }
    assert_eq!(debits, 20, "one BalanceChanged per debit while staging");
    // Debits are taken, credits wait for finalisation.
    let payee = deltas.iter().find(|d| d.2 > 0).unwrap().0;
    let payer = deltas.iter().find(|d| d.2 < 0).unwrap().0;
    assert_eq!(env.vault_balance(&payer).await.unwrap().amount, 900);
    assert_eq!(env.vault_balance(&payee).await.unwrap().amount, 0);
    assert_eq!(env.settlement().await.last_batch_id, 0);

    let out = env.send(&[ix::finalize_batch(&ID)], &[]).await;
    out.ok();
    assert!(matches!(out.events[..], [Event::BatchSettled { batch_id: 1, .. }]));
    let s = env.settlement().await;
    assert_eq!((s.last_batch_id, s.last_commitment_hash, s.staging), (1, digest.0, true));

    let credited: Vec<Pubkey> = deltas.iter().filter(|d| d.2 > 0).map(|d| d.0).collect();
    apply(&mut env, &credited[..12]).await.ok();
    assert!(staged_exists(&mut env).await);
    apply(&mut env, &credited[12..]).await.ok();
    assert!(!staged_exists(&mut env).await, "the last credit closes the staged batch");
    for (owner, _, delta) in &deltas {
        let expected = if *delta > 0 { 100 } else { 900 };
        assert_eq!(env.vault_balance(owner).await.unwrap().amount, expected);
    }
    assert!(!env.settlement().await.staging);

    // The next batch, single-transaction, names the staged one.
    let back = sorted(vec![(payee, env.mint, -100), (payer, env.mint, 100)]);
    let c2 = env.next_commitment(&back).await;
    assert_eq!(c2.prev_hash, digest.0);
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c2, &back)], &[]).await.ok();
    assert_eq!(env.vault_balance(&payer).await.unwrap().amount, 1_000);
}

#[tokio::test]
async fn an_open_staged_batch_blocks_other_batches_and_out_of_phase_steps() {
    let (mut env, deltas) = market(3).await;
    let c = env.next_commitment(&deltas).await;
    begin(&mut env, &c).await.ok();
    begin(&mut env, &c).await.err(CairnError::StagedBatchOpen);
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::StagedBatchOpen);
    stage(&mut env, &deltas[..4]).await.ok();
    env.send(&[ix::finalize_batch(&ID)], &[]).await.err(CairnError::WrongDeltaCount);
    apply(&mut env, &[deltas[0].0]).await.err(CairnError::WrongStage);
    // More deltas than the commitment declares.
    let mut extra = deltas[4..].to_vec();
    extra.push(deltas[0]);
    stage(&mut env, &extra).await.err(CairnError::WrongDeltaCount);
}

#[tokio::test]
async fn a_begin_signed_by_another_key_is_rejected() {
    let (mut env, deltas) = market(1).await;
    let c = env.next_commitment(&deltas).await;
    let other = k256::ecdsa::SigningKey::from_slice(&[8u8; 32]).unwrap();
    let (sig, rid) = sign_batch(&other, &c);
    let i = ix::begin_batch(&ID, &env.ctx.payer.pubkey(), c, sig, rid);
    env.send(&[i], &[]).await.err(CairnError::NotSettlementSigner);
    assert!(!staged_exists(&mut env).await);
}

#[tokio::test]
async fn the_order_holds_across_chunks() {
    let (mut env, deltas) = market(3).await;
    let c = env.next_commitment(&deltas).await;
    begin(&mut env, &c).await.ok();
    stage(&mut env, &deltas[..3]).await.ok();
    // The last staged balance again, as the first of the next chunk.
    stage(&mut env, &deltas[2..4]).await.err(CairnError::DeltasNotSorted);
    stage(&mut env, &deltas[3..]).await.ok();
}

#[tokio::test]
async fn an_overdraft_fails_its_chunk() {
    let (mut env, mut deltas) = market(2).await;
    let i = deltas.iter().position(|d| d.2 < 0).unwrap();
    let j = deltas.iter().position(|d| d.2 > 0).unwrap();
    deltas[i].2 = -1_001;
    deltas[j].2 = 1_001;
    let c = env.next_commitment(&deltas).await;
    begin(&mut env, &c).await.ok();
    stage(&mut env, &deltas).await.err(CairnError::Overdraft);
}

#[tokio::test]
async fn a_tampered_chunk_fails_finalisation_and_a_cancel_refunds_the_debits() {
    let (mut env, deltas) = market(3).await;
    let c = env.next_commitment(&deltas).await;
    begin(&mut env, &c).await.ok();
    // Σδ still zero, but not the signed deltas.
    let mut tampered = deltas.clone();
    let i = tampered.iter().position(|d| d.2 < 0).unwrap();
    let j = tampered.iter().position(|d| d.2 > 0).unwrap();
    tampered[i].2 -= 50;
    tampered[j].2 += 50;
    stage(&mut env, &tampered).await.ok();
    env.send(&[ix::finalize_batch(&ID)], &[]).await.err(CairnError::WrongDeltasRoot);
    assert_eq!(env.settlement().await.last_batch_id, 0);

    let debited: Vec<Pubkey> = tampered.iter().filter(|d| d.2 < 0).map(|d| d.0).collect();
    let payer = env.ctx.payer.pubkey();
    let intruder = solana_sdk::signature::Keypair::new();
    let i = ix::cancel_batch(&ID, &intruder.pubkey(), &payer, &env.mint, &debited);
    env.send(&[i], &[&intruder]).await.err(CairnError::NotAuthority);

    let authority = env.authority.insecure_clone();
    let i = ix::cancel_batch(&ID, &authority.pubkey(), &payer, &env.mint, &debited[..1]);
    env.send(&[i], &[&authority]).await.ok();
    // Cancelling: no more staging, and it cannot be finalised.
    stage(&mut env, &deltas[..1]).await.err(CairnError::WrongStage);
    let i = ix::cancel_batch(&ID, &authority.pubkey(), &payer, &env.mint, &debited[1..]);
    let out = env.send(&[i], &[&authority]).await;
    out.ok();
    assert_eq!(out.events.last(), Some(&Event::BatchCancelled { batch_id: 1 }));
    assert!(!staged_exists(&mut env).await);
    for (owner, _, delta) in &deltas {
        let expected = if *delta < 0 { 1_000 } else { 0 };
        assert_eq!(env.vault_balance(owner).await.unwrap().amount, expected);
    }

    // Batch id 1 is free: the signed batch now settles in one transaction.
    let s = env.settlement().await;
    assert_eq!((s.last_batch_id, s.staging), (0, false));
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[]).await.ok();
    assert_eq!(env.settlement().await.last_batch_id, 1);
}

#[tokio::test]
async fn credits_go_only_to_the_staged_accounts() {
    let (mut env, deltas) = market(2).await;
    let c = env.next_commitment(&deltas).await;
    begin(&mut env, &c).await.ok();
    stage(&mut env, &deltas).await.ok();
    env.send(&[ix::finalize_batch(&ID)], &[]).await.ok();
    let debited = deltas.iter().find(|d| d.2 < 0).unwrap().0;
    apply(&mut env, &[debited]).await.err(CairnError::WrongAddress);
    let credited: Vec<Pubkey> = deltas.iter().filter(|d| d.2 > 0).map(|d| d.0).collect();
    // A finalised batch cannot be cancelled.
    let authority = env.authority.insecure_clone();
    let payer = env.ctx.payer.pubkey();
    let i = ix::cancel_batch(&ID, &authority.pubkey(), &payer, &env.mint, &[]);
    env.send(&[i], &[&authority]).await.err(CairnError::WrongStage);
    apply(&mut env, &credited).await.ok();
    assert!(!staged_exists(&mut env).await);
}
