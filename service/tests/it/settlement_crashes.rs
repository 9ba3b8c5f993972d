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

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolStruct;
use cairn_bindings::{Deployment, Settlement};
use cairn_core::eip712::{PaymentIntent, settlement_domain};
use cairn_test_utils::{
    Arlocal, DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, RestartableAnvil, address_of, arlocal,
    deposit_dev, free_port, stores, wallet,
};
use serde_json::Value;

use crate::{Running, cairn_with_dir, spawn_cairn, stderr, stdout, support::signed_intent};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const PAYERS: [&str; 3] = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
const INTENTS_PER_BATCH: u64 = 12;
const ARWEAVE_WALLET: &str = include_str!("../../../crates/arweave/fixtures/test-wallet.json");

/// Everything `cairn serve` runs against, and the service itself.
struct Stack {
    dir: tempfile::TempDir,
    anvil: RestartableAnvil,
    node: Arlocal,
    env: Vec<(String, String)>,
    deployment: Deployment,
    base: String,
    http: reqwest::blocking::Client,
    serve: Option<Running>,
    indexer: Option<Running>,
    _miner: cairn_test_utils::Miner,
}

impl Stack {
    fn start(store_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let anvil = RestartableAnvil::start();
        let node = arlocal();
        std::fs::write(dir.path().join("arweave-wallet.json"), ARWEAVE_WALLET).unwrap();
        let key_file = dir.path().join("settlement.key");
        {
            use std::{io::Write, os::unix::fs::OpenOptionsExt};
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&key_file)
                .unwrap();
            file.write_all(DEV_KEY_0.as_bytes()).unwrap();
        }
        let port = free_port();
        let mut env: Vec<(String, String)> = [
            ("CAIRN_DATA_DIR", dir.path().display().to_string()),
            ("CAIRN_EVM__RPC_URLS", format!("[\"{}\"]", anvil.endpoint())),
            ("CAIRN_EVM__FINALITY_DEPTH", "2".into()),
            ("CAIRN_INDEXER__POLL_INTERVAL_MS", "100".into()),
            ("CAIRN_INDEXER__METRICS_LISTEN", format!("\"127.0.0.1:{}\"", free_port())),
            ("CAIRN_SERVICE__LISTEN", format!("\"127.0.0.1:{port}\"")),
            ("CAIRN_SERVICE__RATE_LIMIT__ANONYMOUS_PER_SECOND", "0".into()),
            ("CAIRN_SETTLEMENT__ENABLED", "true".into()),
            ("CAIRN_SETTLEMENT__TICK_MS", "100".into()),
            ("CAIRN_SETTLEMENT__SIGNER_KEY_FILE", format!("\"{}\"", key_file.display())),
            ("CAIRN_ARWEAVE__GATEWAYS", format!("[\"{}\"]", node.url())),
            ("CAIRN_ARWEAVE__MAX_BACKOFF_SECS", "1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(url) = store_url {
            env.push(("CAIRN_STORE__URL".into(), format!("\"{url}\"")));
        }
        let borrowed: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut deploy_env = borrowed.clone();
        deploy_env.push(("CAIRN_DEPLOYER_KEY", DEV_KEY_0));
        let deployed = cairn_with_dir(dir.path(), &["deploy", "evm", "--dev-token"], &deploy_env);
        assert!(deployed.status.success(), "{}", stderr(&deployed));
        let deployment = Deployment::read(&dir.path().join("deployment.json")).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for key in PAYERS {
            runtime.block_on(deposit_dev(
                &anvil.endpoint(),
                &deployment,
                key,
                U256::from(100 * TOKEN),
            ));
        }
        let indexer = spawn_cairn(dir.path(), &["index"], &borrowed);
        let miner = node.keep_mining(Duration::from_millis(200));
        let stack = Self {
            dir,
            anvil,
            node,
            env,
            deployment,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            serve: None,
            indexer: Some(indexer),
            _miner: miner,
        };
        stack.fund_arweave_wallet();
        stack
    }

    fn start_indexer(&mut self) {
        let env: Vec<(&str, &str)> =
            self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.indexer = Some(spawn_cairn(self.dir.path(), &["index"], &env));
    }

    fn fund_arweave_wallet(&self) {
        let wallet = cairn_arweave::transaction::Wallet::from_jwk(ARWEAVE_WALLET).unwrap();
        self.node.mint(&wallet.address(), 1_000_000_000_000_000);
    }

    /// (Re)starts `cairn serve` with `extra` settings on top of the stack's.
    fn serve(&mut self, extra: &[(&str, &str)]) {
        self.kill();
        let mut env: Vec<(&str, &str)> =
            self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra);
        let serve = spawn_cairn(self.dir.path(), &["serve"], &env);
        self.serve = Some(serve);
        self.wait("the service to answer", || {
            self.http.get(format!("{}/healthz", self.base)).send().is_ok()
        });
    }

    /// Starts the service set to stop at `boundary`, waits until it is
    /// there (doing `meanwhile` first), and SIGKILLs it.
    fn crash_at(
        &mut self,
        boundary: &str,
        window_seconds: &str,
        meanwhile: impl FnOnce(&mut Self),
    ) {
        self.serve(&[
            ("CAIRN_FAILPOINT", boundary),
            ("CAIRN_SETTLEMENT__WINDOW_SECONDS", window_seconds),
        ]);
        meanwhile(self);
        let reached = format!("failpoint {boundary} reached");
        self.wait(&reached, || self.serve.as_ref().is_some_and(|s| s.log().contains(&reached)));
        self.kill();
    }

    /// SIGKILL (`Child::kill`), as the OOM killer or a power cut would.
    fn kill(&mut self) {
        self.serve = None;
    }

    fn wait(&self, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            if Instant::now() > deadline {
                let log = self.serve.as_ref().map(Running::log).unwrap_or_default();
                panic!("timed out waiting for {what}; service log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn post_intents(&self, body: &Value) -> Option<Value> {
        let response = self.http.post(format!("{}/v1/intents", self.base)).json(body).send();
        response.ok()?.json().ok()
    }

    fn batch(&self, id: u64) -> Value {
        self.http
            .get(format!("{}/v1/batches/{id}", self.base))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_default()
    }

    fn rpc(&self) -> alloy::providers::DynProvider {
        wallet(&self.anvil.endpoint(), DEV_KEY_0)
    }
}

/// The intents of batch `batch` (1-based), signed, and what each payee is
/// owed by them.
fn batch_intents(deployment: &Deployment, batch: u64) -> (Value, Vec<B256>, Vec<(Address, U256)>) {
    let domain = settlement_domain(31337, deployment.settlement);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut body = Vec::new();
    let mut hashes = Vec::new();
    let mut owed = Vec::new();
    for n in 0..INTENTS_PER_BATCH {
        let key = PAYERS[(n % 3) as usize];
        let intent = PaymentIntent {
            payer: address_of(key),
            payee: Address::repeat_byte(0x50 + (n % 5) as u8),
            asset: deployment.stake_token,
            amount: U256::from(TOKEN / 100 * u128::from(batch * 100 + n + 1)),
            nonce: U256::from(batch * 1_000 + n),
            validUntil: u64::MAX,
        };
        let signature = runtime.block_on(signed_intent(key, &intent, &domain));
        hashes.push(intent.eip712_signing_hash(&domain));
        owed.push((intent.payee, intent.amount));
        body.push(serde_json::json!({ "intent": intent, "signature": signature }));
    }
    (serde_json::json!({ "intents": body }), hashes, owed)
}

fn run_through_crashes(store_url: Option<String>) {
    let mut stack = Stack::start(store_url);
    let mut owed: Vec<(Address, U256)> = Vec::new();
    let mut all_hashes: Vec<(B256, u64)> = Vec::new();
    for batch in 1..=3u64 {
        let (body, hashes, batch_owed) = batch_intents(&stack.deployment, batch);
        owed.extend(batch_owed);
        all_hashes.extend(hashes.into_iter().map(|h| (h, batch)));

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
    let env: Vec<(&str, &str)> = stack.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    for batch in ["1", "2", "3"] {
        let verified = cairn_with_dir(stack.dir.path(), &["verify-batch", batch], &env);
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
