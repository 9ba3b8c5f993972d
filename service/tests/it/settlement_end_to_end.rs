//! The money path end to end through `cairn serve`, on SQLite and
//! PostgreSQL, with the service's first RPC URL down (it fails over): three
//! payers send five payees 10,000 signed intents over HTTP; the batcher closes them into batches, stores each receipt on
//! arlocal and settles each batch on anvil; the indexer sees it. Every
//! payee's on-chain balance is then the sum of its intents, every receipt
//! reads back from arlocal with all its intents (inline, or in the item a
//! large receipt points to), and `cairn verify-batch` passes for every
//! batch.

use std::time::Duration;

use alloy::primitives::U256;
use cairn_bindings::Settlement;
use cairn_test_utils::stores;
use serde_json::Value;

use crate::{
    stack::{PAYERS, Stack, TOKEN, payees, signed_intents},
    stderr, stdout,
};

const INTENTS: u64 = 10_000;
/// `POST /v1/intents` takes up to 1,000 at once.
const PER_REQUEST: usize = 1_000;

fn ten_thousand_intents_settle_and_verify(store_url: Option<String>) {
    let mut stack = Stack::start(store_url);
    // The service's first RPC URL is down for good: it fails over to anvil.
    let rpc_urls = format!(
        "[\"http://127.0.0.1:{}\", \"{}\"]",
        cairn_test_utils::free_port(),
        stack.anvil.endpoint()
    );
    stack.serve(&[
        ("CAIRN_SETTLEMENT__MAX_INTENTS", "2500"),
        ("CAIRN_SETTLEMENT__WINDOW_SECONDS", "1"),
        ("CAIRN_EVM__RPC_URLS", &rpc_urls),
    ]);
    let signed = signed_intents(&stack.deployment, 0..INTENTS, |n| {
        U256::from(TOKEN / 1_000 * u128::from(1 + n % 7))
    });
    for chunk in signed.bodies.chunks(PER_REQUEST) {
        let body = serde_json::json!({ "intents": chunk });
        // Until the indexer has the deposits, intents are refused for balance.
        stack.wait_up_to(Duration::from_secs(180), "the intents to be accepted", || {
            stack
                .post_intents(&body)
                .is_some_and(|answer| answer["accepted"].as_u64() == Some(chunk.len() as u64))
        });
    }

    let batches = || -> Vec<Value> {
        let list: Value = stack
            .http
            .get(format!("{}/v1/batches?limit=200", stack.base))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_default();
        list["items"].as_array().cloned().unwrap_or_default()
    };
    stack.wait_up_to(Duration::from_secs(300), "every intent settled", || {
        let batches = batches();
        let settled: u64 = batches
            .iter()
            .filter(|b| b["stage"] == "settled")
            .map(|b| b["intent_count"].as_u64().unwrap_or(0))
            .sum();
        settled == INTENTS
    });
    let batches = batches();
    let ids: Vec<u64> = batches.iter().map(|b| b["batch_id"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).rev().collect();
    assert_eq!(ids, expected, "batch ids are contiguous");
    assert!(ids.len() >= 2, "10,000 intents at 2,500 a batch make several batches");

    // Every payee is paid the sum of its intents, once.
    let rpc = stack.rpc();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let vault = Settlement::new(stack.deployment.settlement, &rpc);
    for payee in payees() {
        let owed: U256 = signed.owed.iter().filter(|(p, _)| *p == payee).map(|(_, a)| *a).sum();
        let asset = stack.deployment.stake_token;
        let balance = runtime.block_on(async { vault.balanceOf(payee, asset).call().await });
        assert_eq!(balance.unwrap(), owed, "payee {payee}");
    }
    let paid: U256 = signed.owed.iter().map(|(_, a)| *a).sum();
    let left: U256 = PAYERS
        .iter()
        .map(|key| {
            let payer = cairn_test_utils::address_of(key);
            let asset = stack.deployment.stake_token;
            runtime.block_on(async { vault.balanceOf(payer, asset).call().await }).unwrap()
        })
        .sum();
    assert_eq!(left + paid, U256::from(300 * TOKEN), "payers paid exactly what was owed");

    for batch in &batches {
        // The receipt reads back from arlocal, from where the view says,
        // with every intent of the batch in it.
        assert_eq!(batch["upload"]["state"], "confirmed", "{batch}");
        let url = batch["upload"]["url"].as_str().unwrap();
        let receipt: Value =
            stack.http.get(url).send().and_then(|r| r.json()).expect("the receipt reads back");
        assert_eq!(receipt["batch"]["body"]["batch_id"], batch["batch_id"]);
        // Over `settlement.max_receipt_bytes` (4 MiB, about 6,000 intents)
        // the intents are in a second item the receipt names.
        let intents = match receipt["intents_item"]["item_id"].as_str() {
            Some(id) => stack
                .http
                .get(format!("{}{id}", stack.node.url()))
                .send()
                .and_then(|r| r.json::<Value>())
                .expect("the intents item reads back")["signed_intents"]
                .clone(),
            None => receipt["signed_intents"].clone(),
        };
        assert_eq!(
            intents.as_array().map(Vec::len),
            batch["intent_count"].as_u64().map(|n| n as usize)
        );
        assert!(batch["submitted_tx"].is_string(), "{batch}");
        let id = batch["batch_id"].to_string();
        let verified = stack.cairn(&["verify-batch", &id]);
        assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
        assert!(stdout(&verified).contains(&format!("verified: batch {id}")));
    }
    let unsettled = stack.cairn(&["verify-batch", &(ids.len() + 1).to_string()]);
    assert_eq!(unsettled.status.code(), Some(1), "{}", stderr(&unsettled));
    assert!(stderr(&unsettled).contains("is not settled on chain"), "{}", stderr(&unsettled));
}

#[test]
fn ten_thousand_intents_from_three_payers_to_five_payees_settle_on_sqlite() {
    ten_thousand_intents_settle_and_verify(None);
}

#[test]
fn ten_thousand_intents_from_three_payers_to_five_payees_settle_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stores = runtime.block_on(stores());
    ten_thousand_intents_settle_and_verify(Some(stores.postgres_url()));
    runtime.block_on(stores.cleanup());
}
