//! Backfill throughput of the indexer against raw `eth_getLogs` + decode,
//! measured in one run on one anvil history of about 100,000 events; peak
//! memory during the backfill; tip latency from a mined block to its
//! committed row. Figures go to docs/benchmarks.md.
//!
//!   cargo run --release -p cairn-indexer --example backfill_bench [BATCHES]
//!
//! Each of `BENCH_ROUNDS` rounds (default 5) backfills fresh SQLite and
//! PostgreSQL stores, with the raw baseline measured before and after each
//! backfill; a backfill is compared with the mean of the two baselines
//! around it, and the medians are printed last.
//! `BENCH_VERIFY=0` turns the count check off; `BENCH_TARGET_EVENTS=N`
//! sizes ranges to about N events instead of the default.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, I256, U256, keccak256},
    providers::{Provider, ProviderBuilder},
    rpc::types::Filter,
    sol_types::SolValue,
};
use cairn_bindings::{DevToken, Registry, Settlement};
use cairn_config::IndexerConfig;
use cairn_core::{
    eip712::{BatchCommitment, Delta, settlement_domain, signing_hash},
    merkle,
};
use cairn_indexer::{Contracts, Indexer, IndexerSettings, Metrics};
use cairn_signer::{LocalSigner, sign_typed};
use cairn_store::{Backend, Store};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, fund_dev_token, wallet,
};

/// The allocator the `cairn` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const CHAIN: &str = "eip155:31337";
const PAYEES: u64 = 97;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// CPU seconds (user + system) process `pid` has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    try_cpu_seconds(pid).expect("the process is running")
}

/// As [`cpu_seconds`], or `None` once the process has gone.
fn try_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU seconds of every PostgreSQL server process on this machine so far
/// (the backends our connections talk to, and the server's own helpers); a
/// backend that exits within a phase takes its share with it.
fn postgres_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim() == "postgres")
        })
        .filter_map(try_cpu_seconds)
        .sum()
}

/// Resets the kernel's peak-RSS mark (VmHWM) so a phase's peak can be read.
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("clear_refs");
}

fn settings(contracts: Contracts, start_block: u64, depth: u64) -> IndexerSettings {
    IndexerSettings {
        chain: CHAIN.into(),
        contracts,
        start_block,
        finality_depth: depth,
        tuning: IndexerConfig {
            poll_interval_ms: 20,
            verify_counts: std::env::var("BENCH_VERIFY").map_or(true, |v| v != "0"),
            // BENCH_TARGET_EVENTS: larger ranges, for the memory they take.
            target_events_per_range: std::env::var("BENCH_TARGET_EVENTS")
                .map_or(IndexerConfig::default().target_events_per_range, |v| {
                    v.parse().expect("BENCH_TARGET_EVENTS is a number")
                }),
            ..IndexerConfig::default()
        },
    }
}

/// Raw baseline: `eth_getLogs` over the ranges a dense backfill settles on
/// (about 5,000 events of 101 per block) and decoding, one range after
/// another. Prints the figures and returns events per second.
async fn raw_fetch(url: &str, contracts: Contracts, start_block: u64, head: u64, node: u32) -> f64 {
    let range: u64 = 5_000 / 101;
    let raw = ProviderBuilder::new().connect_http(url.parse().unwrap());
    let me = std::process::id();
    let cpu_before = (cpu_seconds(me), cpu_seconds(node));
    let started = Instant::now();
    let mut decoded = 0usize;
    let mut from = start_block;
    while from <= head {
        let to = head.min(from + range - 1);
        let filter =
            Filter::new().address(contracts.addresses().to_vec()).from_block(from).to_block(to);
        let logs = raw.get_logs(&filter).await.unwrap();
        decoded +=
            logs.iter().filter(|l| matches!(contracts.decode(&l.inner), Ok(Some(_)))).count();
        from = to + 1;
    }
    let raw_time = started.elapsed();
    let raw_rate = decoded as f64 / raw_time.as_secs_f64();
    println!(
        "raw eth_getLogs + decode: {decoded} events in {raw_time:.2?} = {raw_rate:.0} events/s; CPU: this process {:.2} s, anvil {:.2} s",
        cpu_seconds(me) - cpu_before.0,
        cpu_seconds(node) - cpu_before.1
    );
    raw_rate
}

/// Backfills `store` from the start block to the head; prints the figures
/// and returns events per second.
async fn backfill(
    name: &str,
    store: &Store,
    url: &str,
    contracts: Contracts,
    start_block: u64,
    node: u32,
) -> f64 {
    let metrics = Arc::new(Metrics::default());
    let mut indexer = Indexer::new(
        store.clone(),
        &[url.parse().unwrap()],
        settings(contracts, start_block, 1),
        metrics.clone(),
    );
    let me = std::process::id();
    reset_peak_rss();
    let rss_before = status_kib("VmRSS:");
    let cpu_before = (cpu_seconds(me), cpu_seconds(node), postgres_cpu_seconds());
    let started = Instant::now();
    indexer.catch_up().await.unwrap();
    let elapsed = started.elapsed();
    let events = metrics.events.load(Ordering::Relaxed);
    let rate = events as f64 / elapsed.as_secs_f64();
    println!(
        "backfill into {name}: {events} events in {elapsed:.2?} = {rate:.0} events/s; peak RSS {:.1} MiB (process before: {:.1} MiB); CPU: this process {:.2} s, anvil {:.2} s{}",
        status_kib("VmHWM:") as f64 / 1024.0,
        rss_before as f64 / 1024.0,
        cpu_seconds(me) - cpu_before.0,
        cpu_seconds(node) - cpu_before.1,
        match store.backend() {
            Backend::Postgres =>
                format!(", PostgreSQL server {:.2} s", postgres_cpu_seconds() - cpu_before.2),
            Backend::Sqlite => String::new(),
        }
    );
    rate
}

#[tokio::main]
async fn main() {
    let batches: u64 =
        std::env::args().nth(1).map_or(1_000, |a| a.parse().expect("BATCHES is a number"));
    let anvil = cairn_test_utils::anvil();
    let url = anvil.endpoint();
    let (deployer, d) = cairn_test_utils::deploy_dev(&url, 100, 3600, 60).await;
    let me = d.deployer;
    let contracts = Contracts { registry: d.registry, settlement: d.settlement };

    // Three payers fund the vault; every batch moves 97 units to 97 payees:
    // 100 deltas, 101 events.
    let payers: Vec<Address> =
        [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3].iter().map(|k| address_of(k)).collect();
    for key in [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3] {
        let provider = wallet(&url, key);
        let amount = U256::from(10u128.pow(30));
        fund_dev_token(&url, key, d.stake_token, amount, &[d.settlement]).await;
        Settlement::new(d.settlement, &provider)
            .deposit(d.stake_token, U256::from(10u128.pow(29)))
            .mined()
            .await;
    }
    let signer = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    let domain = settlement_domain(anvil.chain_id(), d.settlement);
    let vault = Settlement::new(d.settlement, &deployer);
    let mut accounts: Vec<(Address, i128)> =
        (0..PAYEES).map(|i| (Address::from_slice(&keccak256(i.to_be_bytes())[12..]), 1)).collect();
    accounts.extend(payers.iter().zip([-32i128, -32, -33]).map(|(a, v)| (*a, v)));
    accounts.sort();
    let deltas: Vec<Delta> = accounts
        .iter()
        .map(|(a, v)| Delta {
            account: *a,
            asset: d.stake_token,
            amount: I256::try_from(*v).unwrap(),
        })
        .collect();
    let leaves: Vec<B256> = deltas.iter().map(|x| merkle::leaf_hash(&x.abi_encode())).collect();
    let deltas_root = merkle::root(&leaves);
    let call_deltas: Vec<Settlement::Delta> = deltas.iter().map(Settlement::Delta::from).collect();
    let started = Instant::now();
    let mut prev = B256::ZERO;
    for id in 1..=batches {
        let commitment = BatchCommitment {
            batchId: id,
            prevHash: prev,
            windowStart: id,
            windowEnd: id,
            intentsRoot: keccak256(id.to_be_bytes()),
            deltasRoot: deltas_root,
            intentCount: 100,
            deltaCount: deltas.len() as u32,
            receiptId: keccak256(id.to_le_bytes()),
        };
        let sig = sign_typed(&signer, &commitment, &domain).await.unwrap();
        prev = signing_hash(&commitment, &domain);
        let call = vault.settleBatch(
            Settlement::BatchCommitment::from(&commitment),
            call_deltas.clone(),
            sig.to_bytes().to_vec().into(),
        );
        if id == 1 {
            // A failing batch would make a meaningless benchmark: check the first.
            call.call().await.expect("the first batch settles");
        }
        let pending = call.gas(10_000_000).send().await.unwrap();
        if id == 1 || id == batches {
            assert!(pending.get_receipt().await.unwrap().status(), "batch {id} settles");
        }
    }
    let head = deployer.get_block_number().await.unwrap();
    let expected_events =
        Settlement::new(d.settlement, &deployer).stateEventCount().call().await.unwrap();
    eprintln!(
        "history: {batches} batches, {expected_events} state events, head {head}, made in {:?}",
        started.elapsed()
    );

    // Rounds of raw baseline, SQLite and PostgreSQL, each backfill into
    // fresh stores and compared with the raw figure of its own round: the
    // machine's speed drifts by a fifth within minutes, more than the
    // differences being measured, so one round alone says little.
    let rounds: usize =
        std::env::var("BENCH_ROUNDS").map_or(5, |v| v.parse().expect("BENCH_ROUNDS is a number"));
    assert!(rounds > 0, "BENCH_ROUNDS must be at least 1");
    let node = anvil.child().id();
    let mut ratios: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut last_stores: Option<cairn_test_utils::TestStores> = None;
    // The raw baseline is measured before and after each backfill, and the
    // backfill compared with the mean of the two, so drift during a round
    // moves both sides of the ratio alike.
    let mut raw_before = raw_fetch(&url, contracts, d.start_block, head, node).await;
    for round in 1..=rounds {
        // Only the last round's stores are kept, for the tip latency below.
        if let Some(previous) = last_stores.take() {
            previous.cleanup().await;
        }
        let stores = cairn_test_utils::stores().await;
        for (i, (name, store)) in
            [("SQLite", &stores.sqlite), ("Postgres", &stores.postgres)].into_iter().enumerate()
        {
            let rate = backfill(name, store, &url, contracts, d.start_block, node).await;
            let raw_after = raw_fetch(&url, contracts, d.start_block, head, node).await;
            let raw_rate = (raw_before + raw_after) / 2.0;
            raw_before = raw_after;
            println!("  round {round}/{rounds}: {name} = {:.2} of raw", rate / raw_rate);
            ratios[i].push(rate / raw_rate);
            // Checked after the figures are taken: a fast backfill that
            // dropped rows would be no result.
            let vault = format!("{:#x}", d.settlement);
            assert_eq!(store.event_count(CHAIN, &vault).await.unwrap(), expected_events, "{name}");
            assert_eq!(store.last_batch_id(CHAIN).await.unwrap(), batches, "{name}");
            let first_payee =
                format!("{:#x}", Address::from_slice(&keccak256(0u64.to_be_bytes())[12..]));
            let asset = format!("{:#x}", d.stake_token);
            let balance = store.balance(CHAIN, &first_payee, &asset).await.unwrap();
            assert_eq!(balance, U256::from(batches), "{name}: one unit per batch");
        }
        last_stores = Some(stores);
    }
    for (name, mut ratios) in ["SQLite", "Postgres"].into_iter().zip(ratios) {
        ratios.sort_by(f64::total_cmp);
        println!(
            "{name} over {rounds} rounds: median {:.2} of raw (lowest {:.2}, highest {:.2})",
            ratios[ratios.len() / 2],
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    let stores = last_stores.expect("at least one round");
    let sqlite = stores.sqlite.clone();

    // Tip latency: a block mined while the indexer follows the head, to the
    // moment its event is committed; polling over HTTP every 20 ms, then
    // woken by WebSocket new heads with the poll interval at 10 s.
    let token = DevToken::new(d.stake_token, &deployer);
    token.mint(me, U256::from(10u128.pow(24))).mined().await;
    token.approve(d.registry, U256::MAX).mined().await;
    let registry = Registry::new(d.registry, &deployer);
    registry.register(me, U256::from(1_000)).mined().await;
    let registry_account = format!("{:#x}", d.registry);
    let followers = [
        ("HTTP, polling every 20 ms", anvil.endpoint(), 20),
        ("WebSocket new heads, polling every 10 s", anvil.ws_endpoint(), 10_000),
    ];
    for (how, url, poll_ms) in followers {
        let follower_store = sqlite.clone();
        let mut follower_settings = settings(contracts, d.start_block, 0);
        follower_settings.tuning.poll_interval_ms = poll_ms;
        let follower = tokio::spawn(async move {
            let mut indexer = Indexer::new(
                follower_store,
                &[url.parse().unwrap()],
                follower_settings,
                Arc::new(Metrics::default()),
            );
            indexer.run(std::future::pending()).await.unwrap();
        });
        // Let it catch up and subscribe before timing.
        let settled = sqlite.event_count(CHAIN, &registry_account).await.unwrap();
        registry.addStake(U256::from(1)).mined().await;
        while sqlite.event_count(CHAIN, &registry_account).await.unwrap() == settled {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let mut latencies = Vec::new();
        for _ in 0..30 {
            let before = sqlite.event_count(CHAIN, &registry_account).await.unwrap();
            registry.addStake(U256::from(1)).mined().await;
            let mined = Instant::now();
            while sqlite.event_count(CHAIN, &registry_account).await.unwrap() == before {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            latencies.push(mined.elapsed());
        }
        follower.abort();
        let _ = follower.await;
        latencies.sort();
        println!(
            "tip latency (receipt to committed row, {how}, SQLite): median {:.1?}, p90 {:.1?}, max {:.1?}",
            latencies[latencies.len() / 2],
            latencies[latencies.len() * 9 / 10],
            latencies[latencies.len() - 1]
        );
    }
    stores.cleanup().await;
}
