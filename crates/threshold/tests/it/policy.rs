//! Each party's own checks before it joins: a refusal names the party and
//! says why, and no signature exists.

use alloy_primitives::{Address, B256, I256, U256};
use cairn_core::netting::{BatchIntent, ClosedBatch};
use cairn_signer::{LocalSigner, Signer};
use cairn_test_utils::evidence::agreeing_answers;
use cairn_test_utils::{DEV_KEY_3, DEV_KEY_4};
use cairn_threshold::{
    Policy, PolicyRecord, SignedCommitment, SigningRequest, ThresholdError, check_request,
};

use crate::support::{REGISTRY, group, now, operator, slash};

/// Stands in for the group key in checks that need only its address: what
/// previous commitments must be signed by.
fn group_key() -> LocalSigner {
    LocalSigner::from_hex(DEV_KEY_3).unwrap()
}

fn accept(request: &SigningRequest, policy: &Policy, record: &mut PolicyRecord) {
    check_request(request, policy, record, group_key().address(), now()).unwrap()
}

fn refusal(request: &SigningRequest, policy: &Policy, record: &mut PolicyRecord) -> String {
    check_request(request, policy, record, group_key().address(), now()).unwrap_err()
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_evidence_is_refused_and_nothing_is_signed() {
    let (_dir, _parties, signer) = group(2, 3, Policy::default()).await;
    let mut request = slash(1, Address::repeat_byte(0x01), 31337, REGISTRY);
    if let SigningRequest::Slash { evidence, order, .. } = &mut request {
        *evidence = agreeing_answers(&operator());
        order.evidenceHash = evidence.hash();
    }
    match signer.sign_request(&request).await {
        Err(ThresholdError::Refused { party, reason }) => {
            assert!(party < 3);
            assert!(reason.contains("evidence does not verify"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_nonce_signed_once_is_refused_after_a_restart() {
    let (_dir, mut parties, signer) =
        group(2, 3, Policy { max_slashes_per_provider: 10, ..Policy::default() }).await;
    parties.stop(2);
    signer.sign_request(&slash(7, Address::repeat_byte(0x01), 31337, REGISTRY)).await.unwrap();
    // The record survives the party's restart.
    parties.restart(0).await.unwrap();
    let again = slash(7, Address::repeat_byte(0x02), 31337, REGISTRY);
    match signer.sign_request(&again).await {
        Err(ThresholdError::Refused { reason, .. }) => {
            assert!(reason.contains("nonce 7"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // The same nonce at another registry is another order.
    signer
        .sign_request(&slash(7, Address::repeat_byte(0x02), 31337, Address::repeat_byte(0x22)))
        .await
        .unwrap();
}

#[test]
fn slash_limits() {
    let policy = Policy {
        max_slash_amount: U256::from(10u128.pow(18)),
        max_slashes_per_provider: 1,
        rate_window_seconds: 3600,
        max_deadline_seconds: 3600,
    };
    let mut record = PolicyRecord::default();
    let provider = Address::repeat_byte(0x01);

    let mut big = slash(1, provider, 1, REGISTRY);
    if let SigningRequest::Slash { order, .. } = &mut big {
        order.amount = U256::from(10u128.pow(18) + 1);
    }
    assert!(refusal(&big, &policy, &mut record).contains("outside this party's limit"));

    let mut late = slash(1, provider, 1, REGISTRY);
    if let SigningRequest::Slash { order, .. } = &mut late {
        order.deadline = now() - 1;
    }
    assert!(refusal(&late, &policy, &mut record).contains("has passed"));

    let mut far = slash(1, provider, 1, REGISTRY);
    if let SigningRequest::Slash { order, .. } = &mut far {
        order.deadline = now() + 7200;
    }
    assert!(refusal(&far, &policy, &mut record).contains("ahead"));

    let mut wrong_hash = slash(1, provider, 1, REGISTRY);
    if let SigningRequest::Slash { order, .. } = &mut wrong_hash {
        order.evidenceHash = B256::repeat_byte(9);
    }
    assert!(refusal(&wrong_hash, &policy, &mut record).contains("evidence hash"));

    let mut wrong_operator = slash(1, provider, 1, REGISTRY);
    if let SigningRequest::Slash { operator, .. } = &mut wrong_operator {
        *operator = Address::repeat_byte(0x99);
    }
    assert!(refusal(&wrong_operator, &policy, &mut record).contains("accuses"));

    // Nothing refused was recorded: the good order passes once.
    let good = slash(1, provider, 1, REGISTRY);
    accept(&good, &policy, &mut record);
    // The very same order asked for again (its coordinator lost the
    // signature) is signed again and counted once.
    accept(&good, &policy, &mut record);
    assert_eq!(record.slashes[&format!("1:{REGISTRY}:{provider}")].len(), 1);
    assert!(
        refusal(&slash(1, Address::repeat_byte(2), 1, REGISTRY), &policy, &mut record)
            .contains("already signed")
    );
    assert!(
        refusal(&slash(2, provider, 1, REGISTRY), &policy, &mut record).contains("slashed 1 time")
    );
    // Another provider is within its own limit.
    check_request(
        &slash(3, Address::repeat_byte(3), 1, REGISTRY),
        &policy,
        &mut record,
        group_key().address(),
        now(),
    )
    .unwrap();
}

fn batch(id: u64, prev: B256) -> ClosedBatch {
    let asset = Address::repeat_byte(0xa0);
    let intents = vec![
        BatchIntent {
            digest: B256::repeat_byte(id as u8),
            payer: Address::repeat_byte(1),
            payee: Address::repeat_byte(2),
            asset,
            amount: 500,
        },
        BatchIntent {
            digest: B256::repeat_byte(id as u8 + 100),
            payer: Address::repeat_byte(2),
            payee: Address::repeat_byte(3),
            asset,
            amount: 200,
        },
    ];
    ClosedBatch::assemble(id, prev, 100 * id, 100 * id + 50, intents).unwrap()
}

fn batch_request(batch: ClosedBatch) -> SigningRequest {
    batch_request_after(batch, None)
}

fn batch_request_after(batch: ClosedBatch, previous: Option<SignedCommitment>) -> SigningRequest {
    SigningRequest::BatchCommitment {
        chain_id: 31337,
        settlement: Address::repeat_byte(0x33),
        commitment: batch.body.commit(B256::repeat_byte(0xcc)),
        batch,
        previous: previous.map(Box::new),
    }
}

/// `request`'s commitment signed by `key`, as the contract accepted it.
async fn signed_by(key: &LocalSigner, request: &SigningRequest) -> SignedCommitment {
    let SigningRequest::BatchCommitment { commitment, .. } = request else { unreachable!() };
    SignedCommitment {
        commitment: commitment.clone(),
        signature: key.sign_digest(request.digest()).await.unwrap(),
    }
}

#[test]
fn batch_commitments_must_net_to_zero_and_follow_the_last_one() {
    let policy = Policy::default();
    let mut record = PolicyRecord::default();

    let mut unbalanced = batch(1, B256::ZERO);
    unbalanced.deltas[0].amount += I256::ONE;
    assert!(refusal(&batch_request(unbalanced), &policy, &mut record).contains("not zero"));

    let mut moved = batch(1, B256::ZERO);
    let (a, b) = (moved.deltas[0].amount, moved.deltas[1].amount);
    moved.deltas[0].amount = b;
    moved.deltas[1].amount = a;
    assert!(refusal(&batch_request(moved), &policy, &mut record).contains("netting"));

    let mut recount = batch_request(batch(1, B256::ZERO));
    if let SigningRequest::BatchCommitment { commitment, .. } = &mut recount {
        commitment.intentCount += 1;
    }
    assert!(refusal(&recount, &policy, &mut record).contains("does not match"));

    assert!(
        refusal(&batch_request(batch(1, B256::repeat_byte(7))), &policy, &mut record)
            .contains("prevHash")
    );
    let first = batch_request(batch(1, B256::ZERO));
    accept(&first, &policy, &mut record);
    // A coordinator that crashed before it kept the signature asks again.
    accept(&first, &policy, &mut record);
    assert!(
        refusal(&batch_request(batch(3, first.digest())), &policy, &mut record)
            .contains("does not follow batch 1")
    );
    assert!(
        refusal(&batch_request(batch(2, B256::repeat_byte(1))), &policy, &mut record)
            .contains("prevHash")
    );
    let mut other_first = batch_request(batch(1, B256::ZERO));
    if let SigningRequest::BatchCommitment { commitment, .. } = &mut other_first {
        commitment.receiptId = B256::repeat_byte(0xdd);
    }
    assert!(refusal(&other_first, &policy, &mut record).contains("does not follow"));
    accept(&batch_request(batch(2, first.digest())), &policy, &mut record);
}

#[tokio::test]
async fn a_party_left_out_of_batches_follows_the_group_signed_one_before() {
    let policy = Policy::default();
    let mut record = PolicyRecord::default();
    let first = batch_request(batch(1, B256::ZERO));
    accept(&first, &policy, &mut record);
    // Batch 2 was signed by the other parties; this one is asked for 3.
    let second = batch_request(batch(2, first.digest()));
    let third = |previous| batch_request_after(batch(3, second.digest()), previous);

    assert!(
        refusal(&third(None), &policy, &mut record).contains("does not carry batch 2"),
        "no previous commitment"
    );
    let stranger = LocalSigner::from_hex(DEV_KEY_4).unwrap();
    assert!(
        refusal(&third(Some(signed_by(&stranger, &second).await)), &policy, &mut record)
            .contains("not by this group's key"),
        "previous signed by another key"
    );
    assert!(
        refusal(&third(Some(signed_by(&group_key(), &first).await)), &policy, &mut record)
            .contains("is batch 1, not 2"),
        "previous is not the batch before"
    );
    let mut tampered = signed_by(&group_key(), &second).await;
    tampered.commitment.windowEnd += 1;
    assert!(
        refusal(&third(Some(tampered)), &policy, &mut record).contains("prevHash"),
        "previous changed after signing"
    );
    let off_chain = batch_request_after(
        batch(3, B256::repeat_byte(9)),
        Some(signed_by(&group_key(), &second).await),
    );
    assert!(refusal(&off_chain, &policy, &mut record).contains("prevHash"), "does not chain");
    let mut high_s = third(Some(signed_by(&group_key(), &second).await));
    if let SigningRequest::BatchCommitment { previous, .. } = &mut high_s {
        previous.as_mut().unwrap().signature.s = B256::repeat_byte(0xff);
    }
    assert!(
        refusal(&high_s, &policy, &mut record).contains("batch 2's signature"),
        "bad signature"
    );

    accept(&third(Some(signed_by(&group_key(), &second).await)), &policy, &mut record);
    // …and from there on it follows its own record again.
    accept(&batch_request(batch(4, third(None).digest())), &policy, &mut record);

    // A party that has signed nothing yet joins at batch 4 the same way.
    let mut fresh = PolicyRecord::default();
    let fourth = batch_request(batch(4, third(None).digest()));
    assert!(refusal(&fourth, &policy, &mut fresh).contains("does not carry batch 3"));
    let third_signed = signed_by(&group_key(), &third(None)).await;
    accept(
        &batch_request_after(batch(4, third(None).digest()), Some(third_signed)),
        &policy,
        &mut fresh,
    );
}

#[test]
fn requests_survive_the_wire_format() {
    // u128 amounts inside: the wire must not go through serde's buffered
    // (internally tagged) representation, which refuses them.
    for request in
        [batch_request(batch(1, B256::ZERO)), slash(1, Address::repeat_byte(1), 1, REGISTRY)]
    {
        let text = serde_json::to_string(&request).unwrap();
        let back: SigningRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, request);
        assert_eq!(back.digest(), request.digest());
    }
}
