use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{Address, B256, I256, U256};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain, signing_hash},
    netting::{
        AssembleError, BatchIntent, BatchPolicy, ClosedBatch, IntentError, Ledger, LedgerError,
    },
};
use proptest::prelude::*;

use crate::addr;

const NOW: u64 = 1_000;
const POLICY: BatchPolicy =
    BatchPolicy { min_intents: 1, max_intents: 10_000, window_seconds: 30, max_deltas: 1_000 };

fn assets() -> Vec<Address> {
    vec![addr(500), addr(501), addr(502)]
}

fn digest(intent: &PaymentIntent) -> B256 {
    signing_hash(intent, &settlement_domain(31337, addr(999)))
}

fn intent(payer: u64, payee: u64, asset: usize, amount: u128, nonce: u64) -> PaymentIntent {
    PaymentIntent {
        payer: addr(payer),
        payee: addr(payee),
        asset: assets()[asset],
        amount: U256::from(amount),
        nonce: U256::from(nonce),
        validUntil: NOW + 60,
    }
}

/// A ledger where accounts 0..payers hold `deposit` of every asset.
fn funded(payers: u64, deposit: u128) -> Ledger {
    let mut ledger = Ledger::new(POLICY, assets(), 1, NOW);
    for payer in 0..payers {
        for asset in assets() {
            ledger.deposit(addr(payer), asset, deposit).unwrap();
        }
    }
    ledger
}

#[derive(Debug, Clone)]
struct Draft {
    payer: u64,
    payee: u64,
    asset: usize,
    amount: u128,
    nonce: u64,
}

fn drafts(max: usize) -> impl Strategy<Value = Vec<Draft>> {
    prop::collection::vec(
        (0u64..6, 0u64..12, 0usize..3, 0u128..400, 0u64..40).prop_map(
            |(payer, payee, asset, amount, nonce)| Draft { payer, payee, asset, amount, nonce },
        ),
        1..max,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Acceptance follows the rules exactly: an intent is accepted iff it
    /// fits the payer's available balance and its nonce is fresh (plus the
    /// shape checks); everything else is refused with the matching error.
    #[test]
    fn acceptance_never_exceeds_the_available_balance_or_reuses_a_nonce(drafts in drafts(120)) {
        let deposit = 1_000u128;
        let mut ledger = funded(4, deposit);
        let mut reserved: BTreeMap<(u64, usize), u128> = BTreeMap::new();
        let mut nonces: BTreeSet<(u64, u64)> = BTreeSet::new();
        for d in &drafts {
            let i = intent(d.payer, d.payee, d.asset, d.amount, d.nonce);
            let result = ledger.accept(&i, digest(&i), NOW);
            let funded = d.payer < 4;
            let available = if funded { deposit - reserved.get(&(d.payer, d.asset)).copied().unwrap_or(0) } else { 0 };
            let expected = if d.payer == d.payee {
                Err(IntentError::PayerIsPayee)
            } else if d.amount == 0 {
                Err(IntentError::ZeroAmount)
            } else if !funded {
                Err(IntentError::InsufficientBalance { available: 0, amount: d.amount })
            } else if nonces.contains(&(d.payer, d.nonce)) {
                Err(IntentError::NonceUsed { payer: addr(d.payer), nonce: U256::from(d.nonce) })
            } else if d.amount > available {
                Err(IntentError::InsufficientBalance { available, amount: d.amount })
            } else {
                Ok(())
            };
            prop_assert_eq!(result.map(|_| ()), expected.clone(), "{:?}", d);
            if expected.is_ok() {
                *reserved.entry((d.payer, d.asset)).or_default() += d.amount;
                nonces.insert((d.payer, d.nonce));
            }
            let balance = ledger.balance(&addr(d.payer), &assets()[d.asset]);
            prop_assert!(balance.reserved <= balance.deposit);
        }
    }

    /// Netting: Σδ = 0 per asset, each account's delta is the sum of its
    /// intents, the roots do not depend on arrival order, every intent has
    /// an inclusion proof, and settling applies exactly the deltas.
    #[test]
    fn netting_is_exact_and_order_independent(drafts in drafts(200), seed: u64) {
        let deposit = 1_000_000u128;
        let mut ledger = funded(6, deposit);
        let mut accepted = Vec::new();
        for d in &drafts {
            let i = intent(d.payer, d.payee, d.asset, d.amount, d.nonce);
            if ledger.accept(&i, digest(&i), NOW).is_ok() {
                accepted.push(i);
            }
        }
        prop_assume!(!accepted.is_empty());

        let mut expected: BTreeMap<(Address, Address), i128> = BTreeMap::new();
        for i in &accepted {
            let amount = i128::try_from(i.amount).unwrap();
            *expected.entry((i.payer, i.asset)).or_default() -= amount;
            *expected.entry((i.payee, i.asset)).or_default() += amount;
        }
        expected.retain(|_, v| *v != 0);

        let batch = ledger.close_batch(B256::ZERO, NOW + 5).unwrap().clone();
        prop_assert_eq!(batch.body.batch_id, 1);
        // A batcher without the ledger, from the same intents in reverse,
        // closes the very same batch.
        let mut reversed = batch.intents.clone();
        reversed.reverse();
        let assembled = ClosedBatch::assemble(1, B256::ZERO, batch.body.window_start, NOW + 5, reversed);
        prop_assert_eq!(assembled.as_ref().ok(), Some(&batch));
        prop_assert_eq!(batch.body.intent_count as usize, accepted.len());
        let mut per_asset: BTreeMap<Address, I256> = BTreeMap::new();
        let mut got = BTreeMap::new();
        for delta in &batch.deltas {
            *per_asset.entry(delta.asset).or_insert(I256::ZERO) += delta.amount;
            got.insert((delta.account, delta.asset), i128::try_from(delta.amount).unwrap());
        }
        prop_assert!(per_asset.values().all(|sum| sum.is_zero()), "Σδ ≠ 0: {:?}", per_asset);
        prop_assert_eq!(&got, &expected);

        let tree = batch.intents_tree();
        prop_assert_eq!(tree.root(), batch.body.intents_root);
        for (index, intent) in batch.intents.iter().enumerate() {
            let proof = tree.proof(index).unwrap();
            prop_assert!(proof.verify(ClosedBatch::intent_leaf(&intent.digest), batch.body.intents_root));
        }

        // The same intents in another order give the same commitment.
        let mut shuffled = accepted.clone();
        let mut state = seed | 1;
        for k in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(k, (state % (k as u64 + 1)) as usize);
        }
        let mut other = funded(6, deposit);
        for i in &shuffled {
            other.accept(i, digest(i), NOW).unwrap();
        }
        let again = other.close_batch(B256::ZERO, NOW + 5).unwrap();
        prop_assert_eq!(&again.body, &batch.body);
        prop_assert_eq!(&again.deltas, &batch.deltas);

        ledger.settle(1).unwrap();
        for account in (0..12).map(addr) {
            for asset in assets() {
                let balance = ledger.balance(&account, &asset);
                let start = if account < addr(6) { deposit as i128 } else { 0 };
                let delta = expected.get(&(account, asset)).copied().unwrap_or(0);
                prop_assert_eq!(balance.reserved, 0);
                prop_assert_eq!(balance.deposit as i128, start + delta);
            }
        }
    }
}

#[test]
fn shape_checks_refuse_bad_intents() {
    let mut ledger = funded(2, 100);
    let mut expired = intent(0, 1, 0, 10, 1);
    expired.validUntil = NOW - 1;
    assert_eq!(
        ledger.accept(&expired, digest(&expired), NOW),
        Err(IntentError::Expired { valid_until: NOW - 1, now: NOW })
    );
    let mut foreign = intent(0, 1, 0, 10, 1);
    foreign.asset = addr(777);
    assert_eq!(
        ledger.accept(&foreign, digest(&foreign), NOW),
        Err(IntentError::AssetNotAllowed(addr(777)))
    );
    let mut huge = intent(0, 1, 0, 10, 1);
    huge.amount = U256::MAX;
    assert_eq!(ledger.accept(&huge, digest(&huge), NOW), Err(IntentError::AmountTooLarge));
    assert_eq!(ledger.pending_len(), 0, "nothing was reserved");
    assert_eq!(ledger.balance(&addr(0), &assets()[0]).reserved, 0);
}

#[test]
fn a_full_batch_refuses_until_closed() {
    let policy =
        BatchPolicy { min_intents: 1, max_intents: 2, window_seconds: 30, max_deltas: 1_000 };
    let mut ledger = Ledger::new(policy, assets(), 7, NOW);
    ledger.deposit(addr(0), assets()[0], 100).unwrap();
    for nonce in 0..2 {
        let i = intent(0, 1, 0, 1, nonce);
        assert_eq!(ledger.accept(&i, digest(&i), NOW).unwrap().batch_id, 7);
    }
    assert!(ledger.should_close(NOW));
    let third = intent(0, 1, 0, 1, 2);
    assert_eq!(ledger.accept(&third, digest(&third), NOW), Err(IntentError::BatchFull));
    ledger.close_batch(B256::ZERO, NOW).unwrap();
    assert_eq!(ledger.accept(&third, digest(&third), NOW).unwrap().batch_id, 8);
}

#[test]
fn batches_close_by_window_with_the_minimum() {
    let policy =
        BatchPolicy { min_intents: 2, max_intents: 100, window_seconds: 30, max_deltas: 1_000 };
    assert!(!policy.should_close(0, 0, 0, 1_000), "an empty batch never closes");
    assert!(!policy.should_close(1, 2, 0, 1_000), "below the minimum");
    assert!(!policy.should_close(5, 6, 100, 129), "window still open");
    assert!(policy.should_close(5, 6, 100, 130));
    assert!(policy.should_close(100, 101, 100, 100), "full");
}

/// More payers in one window than a batch has deltas for: the batch closes
/// early when another intent might not fit, the intent that would not fit
/// is refused as `BatchFull`, and it lands in the next batch.
#[test]
fn batches_close_early_at_the_delta_cap() {
    let policy =
        BatchPolicy { min_intents: 1, max_intents: 100, window_seconds: 3600, max_deltas: 6 };
    let mut ledger = Ledger::new(policy, assets(), 1, NOW);
    for payer in 0..8 {
        ledger.deposit(addr(payer), assets()[0], 100).unwrap();
    }
    // One payee and five payers are six pairs: the sixth payer does not fit.
    let pay = |payer: u64| intent(payer, 50, 0, 1, payer);
    for payer in 0..5 {
        ledger.accept(&pay(payer), digest(&pay(payer)), NOW).unwrap();
    }
    assert!(ledger.should_close(NOW), "no room for another payer: close now, not at the window");
    assert_eq!(ledger.accept(&pay(5), digest(&pay(5)), NOW), Err(IntentError::BatchFull));
    let first = ledger.close_batch(B256::ZERO, NOW).unwrap().clone();
    assert!(first.deltas.len() <= 6, "{} deltas", first.deltas.len());
    for payer in 5..8 {
        assert_eq!(ledger.accept(&pay(payer), digest(&pay(payer)), NOW).unwrap().batch_id, 2);
    }
}

#[test]
fn batch_ids_are_contiguous_and_one_awaits_settlement_at_a_time() {
    let mut ledger = funded(1, 100);
    let i = intent(0, 1, 0, 10, 1);
    ledger.accept(&i, digest(&i), NOW).unwrap();
    assert_eq!(ledger.close_batch(B256::ZERO, NOW).unwrap().body.batch_id, 1);
    assert_eq!(
        ClosedBatch::assemble(1, B256::ZERO, 0, 0, Vec::new()),
        Err(AssembleError::NoIntents),
        "no empty batches"
    );
    let j = intent(0, 1, 0, 10, 2);
    ledger.accept(&j, digest(&j), NOW).unwrap();
    assert_eq!(
        ledger.close_batch(B256::ZERO, NOW),
        Err(LedgerError::UnexpectedBatch { expected: Some(1), got: 2 }).map(|_: ()| unreachable!())
    );
    assert_eq!(ledger.settle(2), Err(LedgerError::UnexpectedBatch { expected: Some(1), got: 2 }));
    ledger.settle(1).unwrap();
    assert_eq!(
        ledger.settle(1),
        Err(LedgerError::UnexpectedBatch { expected: None, got: 1 }),
        "settled once"
    );
    assert_eq!(ledger.close_batch(B256::repeat_byte(1), NOW + 1).unwrap().body.batch_id, 2);
    assert_eq!(ledger.balance(&addr(0), &assets()[0]).deposit, 90);
}

#[test]
fn reserved_funds_cannot_be_withdrawn_and_deposits_are_capped() {
    let mut ledger = funded(1, 100);
    let i = intent(0, 1, 0, 60, 1);
    ledger.accept(&i, digest(&i), NOW).unwrap();
    assert_eq!(
        ledger.withdraw(&addr(0), &assets()[0], 41),
        Err(LedgerError::InsufficientBalance { available: 40, amount: 41 })
    );
    ledger.withdraw(&addr(0), &assets()[0], 40).unwrap();
    assert_eq!(
        ledger.deposit(addr(3), assets()[0], i128::MAX as u128),
        Err(LedgerError::DepositCap(assets()[0]))
    );
    assert_eq!(ledger.deposit(addr(3), addr(777), 1), Err(LedgerError::AssetNotAllowed(addr(777))));
}

#[test]
fn spent_nonces_are_forgotten_only_after_expiry_and_grace() {
    let mut ledger = funded(1, 100);
    let i = intent(0, 1, 0, 1, 1);
    ledger.accept(&i, digest(&i), NOW).unwrap();
    ledger.close_batch(B256::ZERO, NOW).unwrap();
    assert!(ledger.is_nonce_used(&addr(0), &U256::from(1)), "kept while the intent could be valid");
    ledger.settle(1).unwrap();
    let j = intent(0, 1, 0, 1, 2);
    ledger.accept(&j, digest(&j), NOW).unwrap();
    ledger
        .close_batch(B256::ZERO, NOW + 60 + cairn_core::netting::NONCE_GRACE_SECONDS + 1)
        .unwrap();
    assert!(!ledger.is_nonce_used(&addr(0), &U256::from(1)), "pruned long after expiry");
    // The pruned intent stays refused: it has expired.
    assert!(matches!(ledger.accept(&i, digest(&i), NOW + 5_000), Err(IntentError::Expired { .. })));
}

#[test]
fn previewing_deltas_twice_gives_the_same_answer_as_closing() {
    let mut ledger = funded(3, 1_000);
    for (n, (payer, payee, amount)) in
        [(0, 1, 10), (1, 2, 20), (2, 0, 5), (0, 2, 7)].into_iter().enumerate()
    {
        let i = intent(payer, payee, 0, amount, n as u64);
        ledger.accept(&i, digest(&i), NOW).unwrap();
    }
    let first = ledger.pending_deltas();
    assert_eq!(ledger.pending_deltas(), first, "a second preview must not see the first's sums");
    assert_eq!(ledger.pending_len(), 4, "previewing does not close");
    let closed = ledger.close_batch(B256::ZERO, NOW).unwrap();
    assert_eq!(closed.deltas, first);
    let net: Vec<i128> = first.iter().map(|d| i128::try_from(d.amount).unwrap()).collect();
    assert_eq!(net, [-12, -10, 22], "accounts 0, 1, 2 in address order");
}

proptest! {
    /// Intents read from a store carry no deposit cap: amounts up to
    /// `u128::MAX` either net exactly (checked against 256-bit sums) or are
    /// refused with the asset named, never wrapped into a wrong delta.
    #[test]
    fn assembling_huge_amounts_nets_exactly_or_refuses(
        amounts in proptest::collection::vec(
            prop_oneof![
                (u128::MAX - 1_000)..=u128::MAX,
                ((i128::MAX as u128) - 1_000)..=((i128::MAX as u128) + 1_000),
                1u128..1_000,
            ],
            1..6,
        ),
        payers in proptest::collection::vec(0u64..3, 6),
    ) {
        let asset = addr(500);
        let intents: Vec<BatchIntent> = amounts
            .iter()
            .enumerate()
            .map(|(i, &amount)| BatchIntent {
                digest: B256::from(U256::from(i + 1)),
                payer: addr(payers[i]),
                payee: addr(10 + payers[(i + 1) % payers.len()]),
                asset,
                amount,
            })
            .collect();
        // The exact nets, in 256 bits, which cannot overflow here.
        let mut exact: BTreeMap<Address, I256> = BTreeMap::new();
        let mut fits = true;
        for intent in &intents {
            let amount = I256::try_from(U256::from(intent.amount)).unwrap();
            for (account, signed) in [(intent.payer, -amount), (intent.payee, amount)] {
                let entry = exact.entry(account).or_insert(I256::ZERO);
                *entry += signed;
                fits &= i128::try_from(*entry).is_ok() && i128::try_from(intent.amount).is_ok();
            }
        }
        match ClosedBatch::assemble(1, B256::ZERO, 0, 1, intents) {
            Ok(batch) => {
                prop_assert!(fits, "a sum past i128 was accepted");
                for delta in &batch.deltas {
                    prop_assert_eq!(Some(&delta.amount), exact.get(&delta.account));
                }
                let sum = batch.deltas.iter().fold(I256::ZERO, |acc, d| acc + d.amount);
                prop_assert_eq!(sum, I256::ZERO);
            }
            Err(AssembleError::AmountOverflow { asset: named, .. }) => {
                prop_assert!(!fits, "refused a batch whose every running sum fits");
                prop_assert_eq!(named, asset);
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}
