//! `POST /v1/intents` and `GET /v1/intents/{hash}` over deposits made on
//! anvil and indexed into each backend: acceptance, idempotent replays, and
//! each refusal with its code, singly and inside a batch.

use alloy::primitives::{Address, U256};
use axum::http::StatusCode;
use cairn_bindings::Settlement;
use cairn_core::eip712::{PaymentIntent, settlement_domain};
use cairn_service::http::app;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, wallet};
use serde_json::{Value, json};

use crate::support::{Answer, Chain, TOKEN, get, post, service_config, signed_intent};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

struct Fixture {
    chain: Chain,
    domain: alloy::sol_types::Eip712Domain,
    asset: Address,
}

impl Fixture {
    fn intent(&self, payer: &str, nonce: u64, amount: u128) -> PaymentIntent {
        PaymentIntent {
            payer: address_of(payer),
            payee: address_of(DEV_KEY_3),
            asset: self.asset,
            amount: U256::from(amount),
            nonce: U256::from(nonce),
            validUntil: now() + 3600,
        }
    }

    async fn submission(&self, key: &str, intent: &PaymentIntent) -> Value {
        json!({ "intent": intent, "signature": signed_intent(key, intent, &self.domain).await })
    }
}

async fn submit(app: &axum::Router, body: Value) -> Answer {
    post(app, "/v1/intents", body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_are_accepted_reserved_and_refused_by_name_on_both_backends() {
    let chain = Chain::with_providers().await;
    chain.deposit(DEV_KEY_1, 1_000 * TOKEN).await;
    chain.deposit(DEV_KEY_2, 100 * TOKEN).await;
    // Payer 2 announces a withdrawal of 60: only 40 stay spendable.
    Settlement::new(chain.deployment.settlement, wallet(&chain.rpc(), DEV_KEY_2))
        .requestWithdrawal(chain.deployment.stake_token, U256::from(60 * TOKEN))
        .mined()
        .await;
    let fixture = Fixture {
        domain: settlement_domain(31337, chain.deployment.settlement),
        asset: chain.deployment.stake_token,
        chain,
    };
    let stores = cairn_test_utils::stores().await;
    for store in stores.both() {
        fixture.chain.index_into(store).await;
        let app = app(fixture.chain.state(store, service_config()));
        let backend = format!("{:?}", store.backend());
        accepted_once_and_replayed_idempotently(&app, &fixture, &backend).await;
        refusals_are_named(&app, &fixture, &backend).await;
        batches_answer_per_intent(&app, &fixture, &backend).await;
        closed_batches_prove_their_intents(&app, store, &fixture, &backend).await;
    }
    stores.cleanup().await;
}

async fn accepted_once_and_replayed_idempotently(app: &axum::Router, f: &Fixture, backend: &str) {
    let intent = f.intent(DEV_KEY_1, 1, 100 * TOKEN);
    let body = f.submission(DEV_KEY_1, &intent).await;
    let first = submit(app, body.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{backend}: {first:?}");
    assert_eq!(first.body["batch_id"], 1);
    assert_eq!(first.body["duplicate"], false);
    let hash = first.body["intent_hash"].as_str().unwrap().to_owned();
    use alloy::sol_types::SolStruct;
    assert_eq!(hash, format!("{:#x}", intent.eip712_signing_hash(&f.domain)));

    let again = submit(app, body).await;
    assert_eq!(
        (again.status, &again.body["duplicate"]),
        (StatusCode::OK, &json!(true)),
        "{backend}"
    );
    assert_eq!(again.body["intent_hash"], hash.as_str());

    let view = get(app, &format!("/v1/intents/{hash}")).await;
    assert_eq!(view.status, StatusCode::OK, "{backend}: {view:?}");
    assert_eq!(view.body["amount"], (100 * TOKEN).to_string());
    assert_eq!(view.body["payer"], address_of(DEV_KEY_1).to_checksum(None));
    assert_eq!(view.body["status"], "accepted");
    assert_eq!(view.body["batch_id"], 1);
}

async fn refusals_are_named(app: &axum::Router, f: &Fixture, backend: &str) {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let mut cases: Vec<(&str, Value, StatusCode, &str)> = Vec::new();

    let intent = f.intent(DEV_KEY_1, 10, TOKEN);
    let by_other = json!({ "intent": intent, "signature": signed_intent(DEV_KEY_2, &intent, &f.domain).await });
    cases.push(("signed by another key", by_other, unprocessable, "signature_mismatch"));

    let other_chain = settlement_domain(1, f.chain.deployment.settlement);
    let mut declared = json!({ "intent": intent, "signature": signed_intent(DEV_KEY_1, &intent, &other_chain).await });
    cases.push((
        "signed for another chain, undeclared",
        declared.clone(),
        unprocessable,
        "signature_mismatch",
    ));
    declared["domain"] =
        json!({ "chain_id": 1, "verifying_contract": f.chain.deployment.settlement });
    cases.push(("signed for another chain", declared, unprocessable, "wrong_chain"));
    let other_contract = settlement_domain(31337, f.chain.deployment.registry);
    let mut declared = json!({ "intent": intent, "signature": signed_intent(DEV_KEY_1, &intent, &other_contract).await });
    declared["domain"] =
        json!({ "chain_id": 31337, "verifying_contract": f.chain.deployment.registry });
    cases.push(("signed for another contract", declared, unprocessable, "wrong_contract"));

    let expired = PaymentIntent { validUntil: now() - 1, ..f.intent(DEV_KEY_1, 11, TOKEN) };
    cases.push((
        "expired",
        f.submission(DEV_KEY_1, &expired).await,
        unprocessable,
        "intent_expired",
    ));
    let reused = f.intent(DEV_KEY_1, 1, 2 * TOKEN); // nonce 1 was accepted above
    cases.push((
        "nonce used",
        f.submission(DEV_KEY_1, &reused).await,
        StatusCode::CONFLICT,
        "nonce_used",
    ));
    let too_much = f.intent(DEV_KEY_1, 12, 901 * TOKEN); // 1000 deposited, 100 reserved
    cases.push((
        "over the balance",
        f.submission(DEV_KEY_1, &too_much).await,
        unprocessable,
        "insufficient_balance",
    ));
    let withdrawing = f.intent(DEV_KEY_2, 1, 41 * TOKEN); // 100 deposited, 60 announced
    cases.push((
        "over the balance less withdrawals",
        f.submission(DEV_KEY_2, &withdrawing).await,
        unprocessable,
        "insufficient_balance",
    ));
    let foreign =
        PaymentIntent { asset: Address::repeat_byte(0x42), ..f.intent(DEV_KEY_1, 13, TOKEN) };
    cases.push((
        "asset not allowed",
        f.submission(DEV_KEY_1, &foreign).await,
        unprocessable,
        "asset_not_allowed",
    ));
    let to_self = PaymentIntent { payee: address_of(DEV_KEY_1), ..f.intent(DEV_KEY_1, 14, TOKEN) };
    cases.push((
        "payer = payee",
        f.submission(DEV_KEY_1, &to_self).await,
        unprocessable,
        "payer_is_payee",
    ));
    let zero = f.intent(DEV_KEY_1, 15, 0);
    cases.push(("zero amount", f.submission(DEV_KEY_1, &zero).await, unprocessable, "zero_amount"));

    let intent = f.intent(DEV_KEY_1, 16, TOKEN);
    let good = signed_intent(DEV_KEY_1, &intent, &f.domain).await;
    let mut bytes = alloy::hex::decode(&good[2..]).unwrap();
    let order = U256::from_be_bytes(alloy::hex!(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    ));
    let s = U256::from_be_slice(&bytes[32..64]);
    bytes[32..64].copy_from_slice(&(order - s).to_be_bytes::<32>());
    bytes[64] = if bytes[64] == 27 { 28 } else { 27 };
    let malleated =
        json!({ "intent": intent, "signature": format!("0x{}", alloy::hex::encode(&bytes)) });
    cases.push(("malleated signature", malleated, unprocessable, "signature_malleable"));
    let short = json!({ "intent": intent, "signature": &good[..100] });
    cases.push(("short signature", short, StatusCode::BAD_REQUEST, "bad_signature_encoding"));
    cases.push(("missing signature", json!({ "intent": intent }), unprocessable, "invalid_body"));
    cases.push((
        "amount not a number",
        json!({ "intent": { "payer": "x" }, "signature": good }),
        unprocessable,
        "invalid_body",
    ));
    // Amounts and nonces are strings: a JSON number (exact or not) is
    // refused rather than read through a float.
    let signed = json!({ "intent": intent, "signature": good });
    for (case, field, value) in [
        ("amount as a JSON number", "amount", json!(1_000)),
        ("amount above 2^53 as a JSON number", "amount", json!(9_007_199_254_740_993u64)),
        ("amount as a float", "amount", json!(1e18)),
        ("nonce as a JSON number", "nonce", json!(16)),
        ("negative amount", "amount", json!("-1")),
        ("amount in exponent notation", "amount", json!("1e18")),
    ] {
        let mut body = signed.clone();
        body["intent"][field] = value;
        cases.push((case, body, unprocessable, "invalid_body"));
    }
    cases.push((
        "empty batch",
        json!({ "intents": [] }),
        StatusCode::BAD_REQUEST,
        "too_many_intents",
    ));
    let one = f.submission(DEV_KEY_1, &f.intent(DEV_KEY_1, 17, 1)).await;
    let oversized =
        json!({ "intents": vec![one; cairn_service::http::MAX_INTENTS_PER_REQUEST + 1] });
    cases.push(("over 1,000 intents", oversized, StatusCode::BAD_REQUEST, "too_many_intents"));

    let mut failures = Vec::new();
    for (case, body, status, code) in cases {
        let answer = submit(app, body).await;
        if answer.status != status || answer.code() != code {
            failures.push(format!("{case}: expected {status} {code}, got {answer:?}"));
        }
    }
    assert!(failures.is_empty(), "{backend}:\n{}", failures.join("\n"));

    let unknown = get(app, &format!("/v1/intents/0x{}", "ab".repeat(32))).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "intent_not_found"));
    let bad = get(app, "/v1/intents/0x1234").await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_hash"));
}

async fn batches_answer_per_intent(app: &axum::Router, f: &Fixture, backend: &str) {
    let mut intents = Vec::new();
    for nonce in 100..110 {
        intents.push(f.submission(DEV_KEY_1, &f.intent(DEV_KEY_1, nonce, 10 * TOKEN)).await);
    }
    // Two refusals in the middle: a reused nonce and a zero amount.
    intents.insert(3, f.submission(DEV_KEY_1, &f.intent(DEV_KEY_1, 100, TOKEN)).await);
    intents.insert(5, f.submission(DEV_KEY_1, &f.intent(DEV_KEY_1, 200, 0)).await);
    let answer = submit(app, json!({ "intents": intents })).await;
    assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
    assert_eq!(
        (answer.body["accepted"].as_u64(), answer.body["refused"].as_u64()),
        (Some(10), Some(2)),
        "{answer:?}"
    );
    let results = answer.body["results"].as_array().unwrap();
    assert_eq!(results[3]["code"], "nonce_used");
    assert_eq!(results[5]["code"], "zero_amount");
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["index"], i);
        if i != 3 && i != 5 {
            assert_eq!(result["batch_id"], 1, "{result}");
            assert!(result["intent_hash"].is_string());
        }
    }
}

async fn closed_batches_prove_their_intents(
    app: &axum::Router,
    store: &cairn_store::Store,
    f: &Fixture,
    backend: &str,
) {
    let listed = get(app, "/v1/batches").await;
    assert_eq!(listed.body["items"], json!([]), "{backend}: nothing closed yet");
    let policy = cairn_core::netting::BatchPolicy {
        min_intents: 1,
        max_intents: 1,
        window_seconds: 0,
        max_deltas: 1_000,
    };
    let cairn_store::CloseOutcome::Closed(batch) =
        store.close_open_batch("eip155:31337", &policy, now() as i64).await.unwrap()
    else {
        panic!("{backend}: batch 1 closes");
    };
    let key = cairn_signer::LocalSigner::from_hex(cairn_test_utils::DEV_KEY_0).unwrap();
    let written = cairn_settlement::write_receipt(
        store,
        "eip155:31337",
        &f.domain,
        1,
        &key,
        &key,
        cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
    )
    .await
    .unwrap()
    .unwrap();

    let one = get(app, "/v1/batches/1").await;
    assert_eq!(one.status, StatusCode::OK, "{backend}: {one:?}");
    assert_eq!(one.body["stage"], "receipt_written");
    assert_eq!(one.body["intent_count"], batch.body.intent_count);
    assert_eq!(one.body["receipt_id"], written.item.id_base64url());
    assert_eq!(one.body["settled_tx"], Value::Null);
    let listed = get(app, "/v1/batches?limit=1").await;
    assert_eq!(listed.body["items"][0]["batch_id"], 1);
    let missing = get(app, "/v1/batches/9").await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "batch_not_found"));
    let bad = get(app, "/v1/batches/x").await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "invalid_batch_id"));

    // Every intent of the batch proves its inclusion in the intents root.
    for intent in batch.intents.iter().step_by(3) {
        let view = get(app, &format!("/v1/intents/{:#x}", intent.digest)).await;
        assert_eq!(view.body["status"], "closed", "{backend}: {view:?}");
        let inclusion = &view.body["inclusion"];
        let proof = cairn_core::merkle::MerkleProof {
            index: inclusion["index"].as_u64().unwrap(),
            leaf_count: inclusion["leaf_count"].as_u64().unwrap(),
            siblings: inclusion["siblings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().parse().unwrap())
                .collect(),
        };
        let leaf = cairn_core::netting::ClosedBatch::intent_leaf(&intent.digest);
        assert!(
            proof.verify(leaf, batch.body.intents_root),
            "{backend}: proof of {}",
            intent.digest
        );
        assert_eq!(inclusion["intents_root"], format!("{:#x}", batch.body.intents_root));
    }
}
