//! Signed payment intents accepted per second through `POST /v1/intents` on
//! loopback, against raw signature recovery of the same intents on the same
//! cores (the cost no acceptance path can avoid), measured in one run.
//!
//! ```sh
//! cargo run --release -p cairn-service --example intents_bench [-- INTENTS BATCH CLIENTS]
//! cargo run --release -p cairn-service --example intents_bench -- 10000 1000 4   # also settles, prices gas
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/cairn_bench cargo run --release -p cairn-service --example intents_bench
//! ```
//!
//! Starts anvil, deploys Cairn, has 3 payers deposit, indexes the deposits,
//! serves the API in this process on a loopback port, pre-signs the intents
//! (5 payees), and then times the submissions alone. With at most 10,000
//! intents it then settles them as one batch (receipt stored on arlocal)
//! and prices the `settleBatch` gas against one token transfer.

use std::{
    num::NonZeroUsize,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Instant,
};

use alloy::primitives::{Address, U256};
use cairn_auth::JwtKey;
use cairn_config::{AuthConfig, IndexerConfig, ServiceConfig};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain},
    intent::{SignedIntent, verify_intents},
};
use cairn_indexer::{Contracts, Indexer, IndexerSettings, Metrics};
use cairn_service::http::{AppState, EvmChain, serve};
use cairn_signer::{LocalSigner, sign_typed};
use cairn_store::Store;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, anvil, deploy_dev, deposit_dev,
    wallet,
};

const TOKEN: u128 = 1_000_000_000_000_000_000;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(60_000);
    let batch: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(500);
    let clients: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(4);

    let anvil = anvil();
    let rpc = anvil.endpoint();
    let (_, deployment) = deploy_dev(&rpc, 100 * TOKEN, 3600, 3600).await;
    let payers = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
    for key in payers {
        deposit_dev(&rpc, &deployment, key, U256::from(1_000_000_000 * TOKEN)).await;
    }

    let data = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| {
        format!("sqlite://{}?mode=rwc", data.path().join("bench.db").display())
    });
    let store = Store::open(&url).await.expect("store");
    let settings = IndexerSettings {
        chain: "eip155:31337".into(),
        contracts: Contracts { registry: deployment.registry, settlement: deployment.settlement },
        start_block: deployment.start_block,
        finality_depth: 0,
        tuning: IndexerConfig::default(),
    };
    Indexer::new(store.clone(), &[anvil.endpoint_url()], settings, Arc::new(Metrics::default()))
        .catch_up()
        .await
        .expect("deposits indexed");

    let mut service = ServiceConfig::default();
    service.rate_limit.anonymous_per_second = 0;
    service.rate_limit.wallet_per_second = 0;
    service.max_body_bytes = 16 * 1024 * 1024;
    let chain = EvmChain {
        chain_id: 31337,
        registry: deployment.registry,
        settlement: deployment.settlement,
        min_stake: U256::from(100 * TOKEN),
        rpc: wallet(&rpc, DEV_KEY_0),
        max_batch_deltas: cairn_core::netting::DEFAULT_MAX_DELTAS,
    };
    let state = AppState::new(
        store.clone(),
        JwtKey::new(&[1; 32], "cairn").unwrap(),
        AuthConfig::default(),
        service,
        vec![chain],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, state, std::future::pending()));

    eprintln!("signing {total} intents");
    let domain = settlement_domain(31337, deployment.settlement);
    let payees: Vec<Address> = (1..=5u8).map(Address::repeat_byte).collect();
    let signers: Vec<LocalSigner> =
        payers.iter().map(|k| LocalSigner::from_hex(k).unwrap()).collect();
    let mut signed = Vec::with_capacity(total);
    for i in 0..total {
        let signer = &signers[i % signers.len()];
        let intent = PaymentIntent {
            payer: cairn_signer::Signer::address(signer),
            payee: payees[i % payees.len()],
            asset: deployment.stake_token,
            amount: U256::from(1 + (i % 1_000) as u64),
            nonce: U256::from(i),
            validUntil: u64::MAX,
        };
        let signature = sign_typed(signer, &intent, &domain).await.unwrap().to_bytes();
        signed.push(SignedIntent { intent, signature });
    }
    let bodies: Vec<String> = signed
        .chunks(batch)
        .map(|chunk| {
            let intents: Vec<serde_json::Value> = chunk
                .iter()
                .map(|s| {
                    serde_json::json!({
                        "intent": s.intent,
                        "signature": format!("0x{}", alloy::hex::encode(s.signature)),
                    })
                })
                .collect();
            serde_json::json!({ "intents": intents }).to_string()
        })
        .collect();

    // Baseline: recovering every signer on the cores the service uses.
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let started = Instant::now();
    let recovered = verify_intents(&domain, &signed, threads);
    let recovery_rate = total as f64 / started.elapsed().as_secs_f64();
    assert!(recovered.iter().all(Result::is_ok));

    eprintln!("submitting {} requests of {batch} from {clients} clients", bodies.len());
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (bodies, next, base) = (bodies.clone(), next.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut accepted = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { return accepted };
                let response = http
                    .post(format!("{base}/v1/intents"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("submitted");
                let answer: serde_json::Value = response.json().await.expect("JSON answer");
                accepted += answer["accepted"].as_u64().expect("a batch answer");
            }
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        accepted += task.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(accepted as usize, total, "every intent accepted");
    let rate = total as f64 / elapsed;
    let backend = if url.starts_with("postgres") { "postgres" } else { "sqlite" };
    println!(
        "store: {backend}; {total} intents from 3 payers to 5 payees; batches of {batch}; {clients} clients"
    );
    println!("accepted through HTTP: {rate:>9.0} intents/s ({elapsed:.2} s)");
    println!("raw recovery, {threads} threads: {recovery_rate:>9.0} intents/s");
    println!(
        "ratio: {:.2} of raw recovery; {:.1}x the 1,000 intents/s reference",
        rate / recovery_rate,
        rate / 1_000.0
    );

    // Settle what was accepted, through the pipeline's own steps, and price
    // it against one plain token transfer per intent on the same chain. A
    // batch's intents item must fit one inline Arweave upload (arlocal takes
    // 15 MB of JSON), which holds the default batch of 10,000 intents.
    if total > 10_000 {
        println!(
            "settleBatch gas: not measured for {total} intents in one batch (over the default \
             settlement.max_intents of 10,000); run with 10000 or fewer"
        );
        return;
    }
    let key = Arc::new(LocalSigner::from_hex(DEV_KEY_0).unwrap());
    let deployer = wallet(&rpc, DEV_KEY_0);
    let pipeline = cairn_settlement::Pipeline {
        store: store.clone(),
        chain: "eip155:31337".into(),
        domain: domain.clone(),
        policy: cairn_core::netting::BatchPolicy {
            min_intents: 1,
            max_intents: 1,
            window_seconds: 0,
            max_deltas: cairn_core::netting::DEFAULT_MAX_DELTAS,
        },
        receipt_signer: key.clone(),
        settlement_signer: key,
        max_receipt_bytes: cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        submitter: Some(cairn_settlement::Submitter::connect(
            rpc.parse().unwrap(),
            DEV_KEY_0.parse().unwrap(),
            31337,
            deployment.settlement,
            cairn_settlement::FeePolicy::default(),
        )),
    };
    // The receipt must read back from Arweave before the batch may settle.
    let node = cairn_test_utils::arlocal();
    let arweave_wallet = cairn_arweave::transaction::Wallet::from_jwk(include_str!(
        "../../crates/arweave/fixtures/test-wallet.json"
    ))
    .unwrap();
    node.mint(&arweave_wallet.address(), 1_000_000_000_000_000);
    let uploader = cairn_settlement::Uploader {
        store: store.clone(),
        bundlers: Vec::new(),
        gateways: vec![cairn_settlement::Gateway::new(node.url().parse().unwrap())],
        wallet: arweave_wallet,
        initial_backoff_secs: 1,
        max_backoff_secs: 1,
        confirm_attempts: 5,
    };
    let mut settled_tx = None;
    for _ in 0..6 {
        let now = i64::MAX / 2;
        uploader.drain_once(now).await.expect("upload pass");
        node.mine();
        match pipeline.step(now).await.expect("pipeline step") {
            cairn_settlement::Step::Submitted(
                _,
                cairn_settlement::Submitted::Sent { tx_hash, .. },
            ) => {
                settled_tx = Some(tx_hash);
                break;
            }
            step => eprintln!("{step:?}"),
        }
    }
    let tx = settled_tx.expect("the batch settled");
    use alloy::providers::Provider;
    let settle_gas = deployer.get_transaction_receipt(tx).await.unwrap().expect("receipt").gas_used;
    let token = cairn_bindings::DevToken::new(deployment.stake_token, wallet(&rpc, DEV_KEY_1));
    token.mint(address_of(DEV_KEY_1), U256::from(TOKEN)).mined().await;
    let transfer = token.transfer(Address::repeat_byte(0x09), U256::from(1)).mined().await;
    let per_intent = settle_gas as f64 / total as f64;
    println!(
        "settleBatch: {settle_gas} gas for {total} intents = {per_intent:.2} gas per intent; \
         one ERC-20 transfer: {} gas ({:.0}x)",
        transfer.gas_used,
        transfer.gas_used as f64 / per_intent
    );
}
