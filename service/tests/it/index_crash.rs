//! The indexer killed with SIGKILL at arbitrary points of a backfill, again
//! and again, then run to the end, must leave exactly the tables a clean run
//! leaves: no duplicate and no missing row.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use alloy::{
    primitives::{B256, U256},
    providers::Provider,
};
use cairn_bindings::{Deployment, Registry};
use cairn_store::Store;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, anvil, fund_dev_token, wallet,
};

use crate::stderr;

const KILLS: usize = 24;

/// Registrations, endpoints and stake top-ups: about 630 blocks with events.
async fn make_history(endpoint: &str, deployment: &Deployment) {
    for (n, key) in [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3].into_iter().enumerate() {
        let provider = wallet(endpoint, key);
        let me = address_of(key);
        let amount = U256::from(10u128.pow(30));
        fund_dev_token(endpoint, key, deployment.stake_token, amount, &[deployment.registry]).await;
        let registry = Registry::new(deployment.registry, &provider);
        registry.register(me, U256::from(10u128.pow(21))).mined().await;
        for i in 0..4 {
            let url = format!("https://p{n}-{i}.example.org");
            registry.addService(me, "eip155:1".into(), "rpc".into(), url, B256::ZERO).mined().await;
        }
        for _ in 0..200 {
            registry.addStake(U256::from(1_000 + n)).mined().await;
        }
    }
}

fn index_command(data_dir: &str, endpoint: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cairn"));
    command
        .args(["index", "--once"])
        .env_clear()
        .env("CAIRN_DATA_DIR", data_dir)
        .env("CAIRN_EVM__RPC_URLS", format!("[\"{endpoint}\"]"))
        .env("CAIRN_EVM__FINALITY_DEPTH", "2")
        .env("CAIRN_INDEXER__MAX_RANGE_BLOCKS", "1")
        .env("CAIRN_LOG__FILTER", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_loses_and_duplicates_nothing() {
    let anvil = anvil();
    let endpoint = anvil.endpoint();
    let crashed = tempfile::tempdir().unwrap();
    let clean = tempfile::tempdir().unwrap();
    let out = crate::cairn_with_dir(
        crashed.path(),
        &["deploy", "evm", "--dev-token", "--rpc", &endpoint],
        &[
            ("CAIRN_DEPLOYER_KEY", DEV_KEY_0),
            ("CAIRN_DATA_DIR", &crashed.path().display().to_string()),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The clean run indexes the same deployment into its own store.
    std::fs::copy(crashed.path().join("deployment.json"), clean.path().join("deployment.json"))
        .unwrap();
    let deployment = Deployment::read(&crashed.path().join("deployment.json")).unwrap();
    make_history(&endpoint, &deployment).await;

    let crashed_dir = crashed.path().display().to_string();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut killed = 0;
    for _ in 0..KILLS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut child = index_command(&crashed_dir, &endpoint).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(10 + state % 30));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert_eq!(
        killed, KILLS,
        "a run finished before it was killed: the history is too short for the test"
    );
    let finish = index_command(&crashed_dir, &endpoint).output().unwrap();
    assert!(finish.status.success(), "{}", stderr(&finish));
    let reference = index_command(&clean.path().display().to_string(), &endpoint).output().unwrap();
    assert!(reference.status.success(), "{}", stderr(&reference));

    let chain = "eip155:31337";
    let crashed_store = Store::open_configured(None, crashed.path()).await.unwrap();
    let clean_store = Store::open_configured(None, clean.path()).await.unwrap();
    let crashed_dump = crashed_store.dump(chain).await.unwrap();
    assert_eq!(crashed_dump, clean_store.dump(chain).await.unwrap());
    assert_eq!(crashed_dump["services"].len(), 12);
    assert!(crashed_dump["events"].len() > 120, "{} events", crashed_dump["events"].len());
    let head = wallet(&endpoint, DEV_KEY_0).get_block_number().await.unwrap();
    assert_eq!(crashed_store.cursor(chain).await.unwrap().unwrap().block_number, head);
}
