//! Batch commitments signed by a 2-of-3 threshold group of `cairn signer
//! party` processes, the group being the contract's settlement signer. Each
//! batch is signed by whichever two parties are up: a party left out of a
//! batch signs the next one from the group-signed commitment before it;
//! with one party up the batch waits (the signer is unavailable) and
//! settles once a second is back. Every batch verifies from the chain and
//! Arweave alone, though the receipts' owner is the service's key.

use alloy::primitives::{Address, U256};
use cairn_bindings::Settlement;
use serde_json::json;

use crate::{
    stack::{Stack, TOKEN, signed_intents},
    stderr, stdout,
};

const INTENTS_PER_BATCH: u64 = 4;

#[test]
fn a_threshold_group_signs_every_batch_whichever_two_parties_are_up() {
    let mut stack = Stack::start(None);
    let mut group = stack.threshold_group(false, true);
    let mut env = vec![
        ("CAIRN_SETTLEMENT__SIGNER", "\"threshold\""),
        ("CAIRN_SETTLEMENT__WINDOW_SECONDS", "0"),
    ];
    env.extend(group.env());
    stack.serve(&env);
    let signer: serde_json::Value =
        stack.http.get(format!("{}/v1/signer", stack.base)).send().unwrap().json().unwrap();
    assert_eq!(signer["settlement_signer"], "threshold", "{signer}");
    assert_eq!(signer["settlement_address"], format!("{:#x}", group.key.address), "{signer}");

    let mut owed: Vec<(Address, U256)> = Vec::new();
    let mut submit = |stack: &Stack, batch: u64| {
        let first = batch * 100;
        let signed = signed_intents(&stack.deployment, first..first + INTENTS_PER_BATCH, |n| {
            U256::from(TOKEN / 100 * u128::from(n % 100 + 1))
        });
        owed.extend(signed.owed);
        let answer = stack.post_intents(&json!({ "intents": signed.bodies })).expect("an answer");
        assert_eq!(answer["accepted"], INTENTS_PER_BATCH, "{answer}");
        assert!(
            answer["results"].as_array().unwrap().iter().all(|r| r["batch_id"] == batch),
            "{answer}"
        );
    };
    let settled = |stack: &Stack, batch: u64| {
        stack
            .wait(&format!("batch {batch} to settle"), || stack.batch(batch)["stage"] == "settled");
    };

    // Batch 1 by parties 1 and 2.
    group.stop(0);
    submit(&stack, 1);
    settled(&stack, 1);

    // Batch 2 by parties 0 and 2: party 0 never signed batch 1.
    group.stop(1);
    group.start(0);
    submit(&stack, 2);
    settled(&stack, 2);

    // Batch 3 with party 0 alone: it waits, and says why.
    group.stop(2);
    submit(&stack, 3);
    stack.wait("the batcher to find the signer unavailable", || {
        stack.serve.as_ref().is_some_and(|s| s.log().contains("threshold signer unavailable"))
    });
    assert_eq!(stack.batch(3)["stage"], "closed", "{}", stack.batch(3));
    // Party 1 comes back, last having signed batch 1.
    group.start(1);
    settled(&stack, 3);

    let rpc = stack.rpc();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let vault = Settlement::new(stack.deployment.settlement, &rpc);
    assert_eq!(runtime.block_on(async { vault.lastBatchId().call().await }).unwrap(), 3);
    for payee in (0..5u8).map(|i| Address::repeat_byte(0x50 + i)) {
        let expected: U256 = owed.iter().filter(|(p, _)| *p == payee).map(|(_, a)| *a).sum();
        let balance = runtime
            .block_on(async { vault.balanceOf(payee, stack.deployment.stake_token).call().await });
        assert_eq!(balance.unwrap(), expected, "payee {payee}");
    }
    for batch in ["1", "2", "3"] {
        let verified = stack.cairn(&["verify-batch", batch]);
        assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
    }
}
