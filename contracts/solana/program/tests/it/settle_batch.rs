use alloy_sol_types::SolStruct;
use cairn_solana_interface::{CairnError, ID, balance_address, event::Event, instruction as ix};
use k256::ecdsa::SigningKey;
use solana_program::pubkey::Pubkey;

use crate::common::{Env, Payer, commitment, core_commitment, sign_batch, sorted};

type Deltas = Vec<(Pubkey, Pubkey, i64)>;

/// A vault with three balances: a (1,000), b (500) and c (opened, 0).
async fn three() -> (Env, [Payer; 3]) {
    let mut env = Env::vault().await;
    let a = env.depositor(1_000).await;
    let b = env.depositor(500).await;
    let c = env.depositor(0).await;
    (env, [a, b, c])
}

/// a −300, b −200, c +500, in batch order.
fn pay_c(env: &Env, p: &[Payer; 3]) -> Deltas {
    sorted(vec![
        (p[0].pubkey(), env.mint, -300),
        (p[1].pubkey(), env.mint, -200),
        (p[2].pubkey(), env.mint, 500),
    ])
}

#[tokio::test]
async fn a_signed_batch_moves_balances_and_chains_the_next() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = env.next_commitment(&deltas).await;
    let out = env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[]).await;
    out.ok();
    let digest = core_commitment(&c)
        .eip712_signing_hash(&cairn_core::eip712::solana_settlement_domain(ID.to_bytes()));
    let mut expected: Vec<Event> = deltas
        .iter()
        .map(|(owner, mint, delta)| {
            let before = if *owner == p[0].pubkey() {
                1_000
            } else if *owner == p[1].pubkey() {
                500
            } else {
                0
            };
            Event::BalanceChanged {
                batch_id: 1,
                owner: *owner,
                mint: *mint,
                delta: *delta,
                balance: (before + delta) as u64,
            }
        })
        .collect();
    expected.push(Event::BatchSettled {
        batch_id: 1,
        commitment_hash: digest.0,
        intents_root: c.intents_root,
        deltas_root: c.deltas_root,
        receipt_id: c.receipt_id,
        window_start: c.window_start,
        window_end: c.window_end,
        intent_count: c.intent_count,
        delta_count: 3,
    });
    assert_eq!(out.events, expected);
    for (payer, amount) in p.iter().zip([700, 300, 500]) {
        assert_eq!(env.vault_balance(&payer.pubkey()).await.unwrap().amount, amount);
    }
    let s = env.settlement().await;
    assert_eq!((s.last_batch_id, s.last_commitment_hash), (1, digest.0));
    // The vault holds what it owes: batches move balances, not tokens.
    assert_eq!(s.total_balance, 1_500);

    // The next batch names this one.
    let back = sorted(vec![(p[2].pubkey(), env.mint, -500), (p[0].pubkey(), env.mint, 500)]);
    let c2 = env.next_commitment(&back).await;
    assert_eq!((c2.batch_id, c2.prev_hash), (2, digest.0));
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c2, &back)], &[]).await.ok();
    assert_eq!(env.vault_balance(&p[0].pubkey()).await.unwrap().amount, 1_200);
    assert_eq!(env.settlement().await.last_batch_id, 2);
}

#[tokio::test]
async fn a_batch_signed_by_another_key_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = env.next_commitment(&deltas).await;
    let other = SigningKey::from_slice(&[8u8; 32]).unwrap();
    env.send(&[Env::settle_ix(&other, &c, &deltas)], &[])
        .await
        .err(CairnError::NotSettlementSigner);
    assert_eq!(env.vault_balance(&p[2].pubkey()).await.unwrap().amount, 0);
    assert_eq!(env.settlement().await.last_batch_id, 0);
}

#[tokio::test]
async fn the_malleated_high_s_twin_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = env.next_commitment(&deltas).await;
    let (sig, rid) = sign_batch(&env.slasher, &c);
    let sig = k256::ecdsa::Signature::from_slice(&sig).unwrap();
    let (r, s) = sig.split_scalars();
    let high = k256::ecdsa::Signature::from_scalars(r, -*s).unwrap();
    let i = ix::settle_batch(&ID, c, high.to_bytes().into(), rid ^ 1, &deltas);
    env.send(&[i], &[]).await.err(CairnError::InvalidSignature);
}

#[tokio::test]
async fn a_replayed_batch_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = env.next_commitment(&deltas).await;
    let i = Env::settle_ix(&env.slasher.clone(), &c, &deltas);
    env.send(std::slice::from_ref(&i), &[]).await.ok();
    env.send(&[i], &[]).await.err(CairnError::WrongBatchId);
    assert_eq!(env.vault_balance(&p[2].pubkey()).await.unwrap().amount, 500);
}

#[tokio::test]
async fn a_skipped_batch_id_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = commitment(2, [0; 32], &deltas);
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::WrongBatchId);
}

#[tokio::test]
async fn a_wrong_prev_hash_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = commitment(1, [0x33; 32], &deltas);
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::WrongPrevHash);
}

#[tokio::test]
async fn a_window_that_ends_before_it_starts_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let mut c = env.next_commitment(&deltas).await;
    c.window_end = c.window_start - 1;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::BadWindow);
}

#[tokio::test]
async fn deltas_that_do_not_sum_to_zero_are_rejected() {
    let (mut env, p) = three().await;
    let deltas = sorted(vec![(p[0].pubkey(), env.mint, -300), (p[2].pubkey(), env.mint, 200)]);
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::UnbalancedMint);
}

#[tokio::test]
async fn an_overdraft_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = sorted(vec![(p[1].pubkey(), env.mint, -501), (p[2].pubkey(), env.mint, 501)]);
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::Overdraft);
    assert_eq!(env.vault_balance(&p[2].pubkey()).await.unwrap().amount, 0);
}

#[tokio::test]
async fn a_tampered_delta_breaks_the_root() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = env.next_commitment(&deltas).await;
    let (sig, rid) = sign_batch(&env.slasher, &c);
    // Still Σδ = 0, still signed: only the root tells.
    let tampered: Deltas = deltas
        .iter()
        .map(|&(o, m, d)| {
            (
                o,
                m,
                if o == p[2].pubkey() {
                    d + 100
                } else if o == p[0].pubkey() {
                    d - 100
                } else {
                    d
                },
            )
        })
        .collect();
    let i = ix::settle_batch(&ID, c, sig, rid, &tampered);
    env.send(&[i], &[]).await.err(CairnError::WrongDeltasRoot);
}

#[tokio::test]
async fn another_owners_balance_in_place_of_the_signed_one_breaks_the_root() {
    let (mut env, p) = three().await;
    let d = env.depositor(0).await;
    let deltas = sorted(vec![(p[0].pubkey(), env.mint, -300), (p[2].pubkey(), env.mint, 300)]);
    let c = env.next_commitment(&deltas).await;
    let mut i = Env::settle_ix(&env.slasher.clone(), &c, &deltas);
    let at = 1 + deltas.iter().position(|x| x.0 == p[2].pubkey()).unwrap();
    i.accounts[at].pubkey = balance_address(&ID, &d.pubkey(), &env.mint).0;
    let out = env.send(&[i], &[]).await;
    // Either the order or the root catches it, depending on where d sorts.
    assert!(
        [CairnError::WrongDeltasRoot as u32, CairnError::DeltasNotSorted as u32]
            .contains(&out.custom().unwrap()),
        "{:?}",
        out.result
    );
    assert_eq!(env.vault_balance(&d.pubkey()).await.unwrap().amount, 0);
}

#[tokio::test]
async fn a_balance_account_owned_by_another_program_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let c = env.next_commitment(&deltas).await;
    let mut i = Env::settle_ix(&env.slasher.clone(), &c, &deltas);
    i.accounts[1].pubkey = p[0].token;
    env.send(&[i], &[]).await.err(CairnError::WrongOwner);
}

#[tokio::test]
async fn the_same_balance_twice_is_rejected() {
    let (mut env, p) = three().await;
    let a = p[0].pubkey();
    let deltas = vec![(a, env.mint, -100), (a, env.mint, 100)];
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::DeltasNotSorted);
}

#[tokio::test]
async fn unsorted_deltas_are_rejected() {
    let (mut env, p) = three().await;
    let mut deltas = pay_c(&env, &p);
    deltas.reverse();
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::DeltasNotSorted);
}

#[tokio::test]
async fn a_zero_delta_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = sorted(vec![(p[0].pubkey(), env.mint, 0), (p[2].pubkey(), env.mint, 0)]);
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::ZeroDelta);
}

#[tokio::test]
async fn a_sum_past_i64_is_refused_not_wrapped() {
    let (mut env, p) = three().await;
    let mut deltas = pay_c(&env, &p);
    for (d, v) in deltas.iter_mut().zip([i64::MAX, i64::MAX, 2]) {
        d.2 = v;
    }
    let c = env.next_commitment(&deltas).await;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::Overflow);
}

#[tokio::test]
async fn a_delta_count_other_than_the_commitments_is_rejected() {
    let (mut env, p) = three().await;
    let deltas = pay_c(&env, &p);
    let mut c = env.next_commitment(&deltas).await;
    c.delta_count = 2;
    env.send(&[Env::settle_ix(&env.slasher.clone(), &c, &deltas)], &[])
        .await
        .err(CairnError::WrongDeltaCount);
    // An extra balance account the signer never saw.
    let c = env.next_commitment(&deltas).await;
    let mut i = Env::settle_ix(&env.slasher.clone(), &c, &deltas);
    i.accounts.push(solana_program::instruction::AccountMeta::new(
        balance_address(&ID, &p[0].pubkey(), &env.mint).0,
        false,
    ));
    env.send(&[i], &[]).await.err(CairnError::WrongDeltaCount);
}
