//! Crash safety of the settlement pipeline in `cairn serve`, on SQLite and
//! PostgreSQL: three batches each go through a service that is SIGKILLed at
//! every stage boundary in turn (after reservation, after the batch closes,
//! after its receipt is written, after the receipt is stored on Arweave,
//! after the settlement transaction is sent, after it is mined and before
//! the indexer has seen it), restarted each time. Batch 2 meets a stopped
//! Arweave gateway; batch 3's transaction is lost from the pool by an anvil
//! restart. In the end no intent is lost or settled twice, batch ids are
//! contiguous, the outbox is drained, and `cairn verify-batch` passes for
//! every batch.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use cairn_bindings::Settlement;
use cairn_test_utils::stores;
use serde_json::Value;

use crate::{
    stack::{Stack, TOKEN, signed_intents},
    stderr, stdout,
};

const INTENTS_PER_BATCH: u64 = 12;

fn run_through_crashes(store_url: Option<String>) {
    let mut stack = Stack::start(store_url);
    let mut owed: Vec<(Address, U256)> = Vec::new();
    let mut all_hashes: Vec<(B256, u64)> = Vec::new();
    for batch in 1..=3u64 {
        let first = batch * 1_000;
        let signed = signed_intents(&stack.deployment, first..first + INTENTS_PER_BATCH, |n| {
            U256::from(TOKEN / 100 * u128::from(n % 1_000 + 1))
        });
        let body = serde_json::json!({ "intents": signed.bodies });
        owed.extend(signed.owed);
        all_hashes.extend(signed.hashes.into_iter().map(|h| (h, batch)));

        // After reservation: the request is cut off before its answer.
        stack.crash_at("after_reservation", "3600", |stack| {
            let (base, body) = (stack.base.clone(), body.clone());
            std::thread::spawn(move || {
                let _ = reqwest::blocking::Client::new()
                    .post(format!("{base}/v1/intents"))
                    .json(&body)
                    .send();
            });
        });
        // The client, having no answer, submits again: nothing is lost or
        // taken twice, every intent is in this batch.
        stack.crash_at("after_close", "0", |stack| {
            let answer = stack.post_intents(&body).expect("an answer");
            assert_eq!(answer["accepted"], INTENTS_PER_BATCH, "{answer}");
            assert!(
                answer["results"].as_array().unwrap().iter().all(|r| r["batch_id"] == batch),
                "{answer}"
            );
        });
        stack.crash_at("after_receipt", "0", |_| {});
        if batch == 2 {
            // The gateway is down: the receipt waits, with the reason, and
            // goes up once the gateway is back.
            stack.node.stop();
            stack.crash_at("after_upload", "0", |stack| {
                stack.wait("a failed upload attempt", || {
                    stack.batch(2)["upload"]["last_error"].is_string()
                });
                assert_eq!(stack.batch(2)["stage"], "receipt_written");
                stack.node.restart();
            });
        } else {
            stack.crash_at("after_upload", "0", |_| {});
        }
        // Until the indexer sees the settlement, the batch is not final:
        // stopped, it holds the batch between "mined" and "confirmed".
        stack.indexer = None;
        if batch == 3 {
            // The transaction sits in the pool when anvil restarts and loses it.
            let rpc = stack.rpc();
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                let _: Value = rpc.raw_request("evm_setAutomine".into(), (false,)).await.unwrap();
            });
            stack.crash_at("after_tx_sent", "0", |_| {});
            stack.anvil.restart();
            // The restarted submitter finds the node has forgotten its
            // transaction and sends the same bytes again.
            stack.crash_at("after_tx_sent", "0", |_| {});
            let log = std::fs::read_to_string(stack.dir.path().join("cairn-serve.log")).unwrap();
            assert!(log.contains("Rebroadcast"), "{log}");
        } else {
            stack.crash_at("after_tx_sent", "0", |_| {});
        }
        stack.crash_at("after_mined", "0", |_| {});
        stack.start_indexer();
        stack.serve(&[("CAIRN_SETTLEMENT__WINDOW_SECONDS", "0")]);
        stack.wait(&format!("batch {batch} settled"), || stack.batch(batch)["stage"] == "settled");
        let view = stack.batch(batch);
        assert_eq!(view["upload"]["state"], "confirmed", "{view}");
        assert_eq!(view["intent_count"], INTENTS_PER_BATCH, "{view}");
    }

    // Ids are contiguous and every payee holds exactly what it was owed.
    let rpc = stack.rpc();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let vault = Settlement::new(stack.deployment.settlement, &rpc);
    assert_eq!(runtime.block_on(async { vault.lastBatchId().call().await }).unwrap(), 3);
    let list: Value =
        stack.http.get(format!("{}/v1/batches", stack.base)).send().and_then(|r| r.json()).unwrap();
    let ids: Vec<u64> =
        list["items"].as_array().unwrap().iter().map(|b| b["batch_id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [3, 2, 1]);
    for payee in (0..5u8).map(|i| Address::repeat_byte(0x50 + i)) {
        let expected: U256 = owed.iter().filter(|(p, _)| *p == payee).map(|(_, a)| *a).sum();
        let balance = runtime
            .block_on(async { vault.balanceOf(payee, stack.deployment.stake_token).call().await });
        assert_eq!(balance.unwrap(), expected, "payee {payee}");
    }
    // Every intent is in exactly one batch, with its inclusion proof.
    for (hash, batch) in &all_hashes {
        let view: Value = stack
            .http
            .get(format!("{}/v1/intents/{hash:#x}", stack.base))
            .send()
            .and_then(|r| r.json())
            .unwrap();
        assert_eq!(view["batch_id"], *batch, "{view}");
        assert!(view["inclusion"].is_object(), "{view}");
    }
    assert_eq!(all_hashes.len() as u64, 3 * INTENTS_PER_BATCH);
    // And anyone can check each batch from the chain and Arweave.
    for batch in ["1", "2", "3"] {
        let verified = stack.cairn(&["verify-batch", batch]);
        assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
    }
    let _ = runtime.block_on(async { rpc.get_block_number().await });
}

#[test]
fn settlement_survives_sigkill_at_every_stage_boundary_on_sqlite() {
    run_through_crashes(None);
}

#[test]
fn settlement_survives_sigkill_at_every_stage_boundary_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stores = runtime.block_on(stores());
    run_through_crashes(Some(stores.postgres_url()));
    runtime.block_on(stores.cleanup());
}
