//! `cairn serve` with the batcher on, against anvil, arlocal and
//! `cairn index`: signed intents submitted over HTTP close into a batch, its
//! receipt and commitment are written, the receipt is stored on arlocal and
//! read back, `settleBatch` is sent, the indexer sees it, and every payee's
//! on-chain balance is the sum of its intents.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use cairn_bindings::Settlement;
use cairn_core::eip712::{PaymentIntent, settlement_domain};
use cairn_signer::{LocalSigner, sign_typed};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, address_of, anvil, arlocal, deposit_dev, free_port, wallet,
};

use crate::{cairn_with_dir, spawn_cairn, stderr, stdout};

const TOKEN: u128 = 1_000_000_000_000_000_000;

#[test]
fn the_batcher_in_cairn_serve_settles_submitted_intents_on_chain() {
    let anvil = anvil();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let key_file = dir.join("settlement.key");
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
    let node = arlocal();
    let _miner = node.keep_mining(Duration::from_millis(300));
    let arweave_wallet = include_str!("../../../crates/arweave/fixtures/test-wallet.json");
    node.mint(
        &cairn_arweave::transaction::Wallet::from_jwk(arweave_wallet).unwrap().address(),
        1_000_000_000_000_000,
    );
    std::fs::write(dir.join("arweave-wallet.json"), arweave_wallet).unwrap();
    let gateways = format!("[\"{}\"]", node.url());
    let port = free_port();
    let (data_dir, rpc_urls) = (dir.display().to_string(), format!("[\"{}\"]", anvil.endpoint()));
    let (listen, metrics) =
        (format!("\"127.0.0.1:{port}\""), format!("\"127.0.0.1:{}\"", free_port()));
    let key_path = format!("\"{}\"", key_file.display());
    let env = [
        ("CAIRN_DATA_DIR", data_dir.as_str()),
        ("CAIRN_EVM__RPC_URLS", rpc_urls.as_str()),
        ("CAIRN_EVM__FINALITY_DEPTH", "2"),
        ("CAIRN_INDEXER__POLL_INTERVAL_MS", "100"),
        ("CAIRN_INDEXER__METRICS_LISTEN", metrics.as_str()),
        ("CAIRN_SERVICE__LISTEN", listen.as_str()),
        ("CAIRN_SERVICE__RATE_LIMIT__ANONYMOUS_PER_SECOND", "0"),
        ("CAIRN_SETTLEMENT__ENABLED", "true"),
        ("CAIRN_SETTLEMENT__WINDOW_SECONDS", "0"),
        ("CAIRN_SETTLEMENT__TICK_MS", "100"),
        ("CAIRN_SETTLEMENT__SIGNER_KEY_FILE", key_path.as_str()),
        ("CAIRN_ARWEAVE__GATEWAYS", gateways.as_str()),
    ];
    let mut deploy_env = env.to_vec();
    deploy_env.push(("CAIRN_DEPLOYER_KEY", DEV_KEY_0));
    let deployed = cairn_with_dir(dir, &["deploy", "evm", "--dev-token"], &deploy_env);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let deployment = cairn_bindings::Deployment::read(&dir.join("deployment.json")).unwrap();
    let asset = deployment.stake_token;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    for key in [DEV_KEY_1, DEV_KEY_2] {
        runtime.block_on(deposit_dev(&anvil.endpoint(), &deployment, key, U256::from(50 * TOKEN)));
    }

    let _indexer = spawn_cairn(dir, &["index"], &env);
    let _service = spawn_cairn(dir, &["serve"], &env);

    let domain = settlement_domain(31337, deployment.settlement);
    let payees: Vec<Address> = (0..5u8).map(|i| Address::repeat_byte(0x40 + i)).collect();
    let mut owed = vec![U256::ZERO; payees.len()];
    let body = runtime.block_on(async {
        let mut intents = Vec::new();
        for n in 0..20u64 {
            let key = if n % 2 == 0 { DEV_KEY_1 } else { DEV_KEY_2 };
            let intent = PaymentIntent {
                payer: address_of(key),
                payee: payees[(n % 5) as usize],
                asset,
                amount: U256::from(TOKEN / 10 * u128::from(n + 1)),
                nonce: U256::from(n),
                validUntil: u64::MAX,
            };
            owed[(n % 5) as usize] += intent.amount;
            let signer = LocalSigner::from_hex(key).unwrap();
            let signature = sign_typed(&signer, &intent, &domain).await.unwrap();
            intents.push(serde_json::json!({
                "intent": intent,
                "signature": format!("0x{}", alloy::hex::encode(signature.to_bytes())),
            }));
        }
        serde_json::json!({ "intents": intents })
    });

    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Until the indexer has the deposits, the intents are refused for balance.
    // `accepted` counts resubmitted intents too (their receipts say `duplicate`).
    let mut last_answer = serde_json::Value::Null;
    while last_answer["accepted"].as_u64() != Some(20) {
        assert!(Instant::now() < deadline, "intents never accepted; last answer {last_answer}");
        if let Ok(response) =
            runtime.block_on(http.post(format!("{base}/v1/intents")).json(&body).send())
        {
            last_answer = runtime.block_on(response.json()).unwrap_or_default();
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut view = serde_json::Value::Null;
    while view["stage"] != "settled" {
        assert!(Instant::now() < deadline, "batch 1 did not settle; last view {view}");
        std::thread::sleep(Duration::from_millis(200));
        if let Ok(response) = runtime.block_on(http.get(format!("{base}/v1/batches/1")).send()) {
            view = runtime.block_on(response.json()).unwrap_or_default();
        }
    }
    // The receipt was stored before the batch settled, and reads back from
    // where the view says.
    let receipt_id = view["receipt_id"].as_str().unwrap().to_owned();
    assert_eq!(view["upload"]["state"], "confirmed", "{view}");
    assert_eq!(view["upload"]["url"], format!("{}{receipt_id}", node.url()), "{view}");
    assert!(view["submitted_tx"].is_string(), "{view}");
    let stored = runtime
        .block_on(async {
            reqwest::get(format!("{}{receipt_id}", node.url())).await?.bytes().await
        })
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(body["batch"]["body"]["batch_id"], 1, "{body}");
    // Anyone can check it from the chain and Arweave alone.
    let verified = cairn_with_dir(dir, &["verify-batch", "1", "--gateway", &node.url()], &env);
    assert!(verified.status.success(), "{}{}", stdout(&verified), stderr(&verified));
    assert!(stdout(&verified).contains("verified: batch 1"), "{}", stdout(&verified));
    assert!(!stdout(&verified).contains("FAIL"), "{}", stdout(&verified));
    let unsettled = cairn_with_dir(dir, &["verify-batch", "2"], &env);
    assert_eq!(unsettled.status.code(), Some(1), "{}", stderr(&unsettled));
    assert!(
        stderr(&unsettled).contains("batch 2 is not settled on chain"),
        "{}",
        stderr(&unsettled)
    );

    let vault = Settlement::new(deployment.settlement, wallet(&anvil.endpoint(), DEV_KEY_0));
    for (payee, owed) in payees.iter().zip(owed) {
        let balance =
            runtime.block_on(async { vault.balanceOf(*payee, asset).call().await }).unwrap();
        assert_eq!(balance, owed, "payee {payee} is paid the sum of its intents");
    }
    assert_eq!(runtime.block_on(async { vault.lastBatchId().call().await }).unwrap(), 1);
}
