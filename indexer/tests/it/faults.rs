//! A proxy between the indexer and anvil answers with 429s, 503s, stalls,
//! cut-off bodies and empty log lists where there are logs. The indexer must
//! retry, switch URL, count every fault in its metrics, and still write
//! exactly what a clean run writes.

use std::{sync::Arc, time::Duration};

use alloy::primitives::{B256, U256};
use cairn_bindings::{Registry, Settlement};
use cairn_config::IndexerConfig;
use cairn_indexer::{CATCH_UP_RETRIES, Indexer, Metrics};
use cairn_store::Store;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, Fault, FaultyRpc, Mined, TestStores, stores};

use crate::{CHAIN, Chain, address_of, chain, wallet};

/// Two providers with endpoints and stake changes, and deposits: events in
/// about twenty blocks.
async fn history(chain: &Chain) {
    let d = &chain.deployment;
    for (n, key) in [DEV_KEY_1, DEV_KEY_2].into_iter().enumerate() {
        chain.fund(key, 100_000).await;
        let me = address_of(key);
        let registry = Registry::new(d.registry, wallet(&chain.anvil, key));
        registry.register(me, U256::from(1_000)).mined().await;
        for i in 0..3 {
            let url = format!("https://p{n}-{i}.example.org");
            registry.addService(me, "eip155:1".into(), "rpc".into(), url, B256::ZERO).mined().await;
        }
        for _ in 0..3 {
            registry.addStake(U256::from(7)).mined().await;
        }
        let vault = Settlement::new(d.settlement, wallet(&chain.anvil, key));
        vault.deposit(d.stake_token, U256::from(500)).mined().await;
    }
}

fn indexer(chain: &Chain, store: &Store, urls: &[String], metrics: Arc<Metrics>) -> Indexer {
    let tuning = IndexerConfig {
        max_range_blocks: 4,
        poll_interval_ms: 10,
        request_timeout_ms: 300,
        rpc_attempts: 12,
        backoff_initial_ms: 5,
        backoff_max_ms: 20,
        breaker_threshold: 3,
        breaker_cooldown_ms: 200,
        ..IndexerConfig::default()
    };
    let urls: Vec<url::Url> = urls.iter().map(|u| u.parse().unwrap()).collect();
    Indexer::new(store.clone(), &urls, chain.settings(3, tuning), metrics)
}

/// Indexes the history into PostgreSQL straight from anvil and requires the
/// SQLite store, indexed through faults, to hold the same.
async fn assert_equals_a_clean_index(chain: &Chain, stores: &TestStores, why: &str) {
    indexer(chain, &stores.postgres, &[chain.anvil.endpoint()], Arc::new(Metrics::default()))
        .catch_up()
        .await
        .unwrap();
    assert_eq!(
        stores.sqlite.dump(CHAIN).await.unwrap(),
        stores.postgres.dump(CHAIN).await.unwrap(),
        "{why}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_node_is_retried_and_nothing_wrong_is_written() {
    let chain = chain().await;
    history(&chain).await;
    // Faults come in cycles of a prime length: the indexer reads two ranges
    // at once, and with an even cycle one of them could draw nothing but
    // faults, however often it retried.
    let proxy = FaultyRpc::start(chain.anvil.endpoint(), |method, n| match method {
        "eth_getLogs" if matches!(n % 7, 0 | 2 | 4) => Fault::EmptyLogs,
        "eth_getLogs" if n % 7 == 1 => Fault::Status(429),
        "eth_getLogs" if n % 7 == 3 => Fault::Truncate,
        "eth_blockNumber" if n % 5 == 1 => Fault::Status(503),
        "eth_getBlockByNumber" if n % 7 == 2 => Fault::Stall(Duration::from_millis(600)),
        "eth_call" if n % 9 == 4 => Fault::Truncate,
        _ => Fault::Pass,
    })
    .await;

    let stores = stores().await;
    let metrics = Arc::new(Metrics::default());
    indexer(&chain, &stores.sqlite, &[proxy.url()], metrics.clone()).catch_up().await.unwrap();
    assert_equals_a_clean_index(&chain, &stores, "the faulty run wrote something else").await;
    let faulty = stores.sqlite.dump(CHAIN).await.unwrap();
    assert_eq!(faulty["services"].len(), 6);

    for fault in [Fault::EmptyLogs, Fault::Status(429), Fault::Truncate, Fault::Status(503)] {
        assert!(proxy.injected(fault) > 0, "{fault:?} was never injected");
    }
    for kind in ["rate_limited", "unavailable", "bad_response", "inconsistent", "timeout"] {
        assert!(
            metrics.rpc_errors(kind) > 0,
            "no {kind} error counted:\n{}",
            metrics.render(CHAIN)
        );
    }
    let rendered = metrics.render(CHAIN);
    assert!(
        rendered.contains(
            "cairn_indexer_rpc_errors_total{chain=\"eip155:31337\",kind=\"inconsistent\"}"
        )
    );
    stores.cleanup().await;
}

#[tokio::test]
async fn a_dead_url_is_skipped_for_the_next_one() {
    let chain = chain().await;
    history(&chain).await;
    let dead = FaultyRpc::start(chain.anvil.endpoint(), |_, _| Fault::Status(503)).await;
    let healthy = FaultyRpc::start(chain.anvil.endpoint(), |_, _| Fault::Pass).await;
    let stores = stores().await;
    let metrics = Arc::new(Metrics::default());
    indexer(&chain, &stores.sqlite, &[dead.url(), healthy.url()], metrics.clone())
        .catch_up()
        .await
        .unwrap();
    assert_equals_a_clean_index(&chain, &stores, "skipping the dead URL lost something").await;
    assert_eq!(metrics.rpc_errors("unavailable"), dead.requests(), "every failure counted");
    assert!(dead.requests() > 0, "the dead URL was never tried");
    // The breaker skips the dead URL after three failures in a row, so it
    // sees a fraction of what the healthy one serves.
    assert!(
        dead.requests() * 3 < healthy.requests(),
        "dead {} vs healthy {}",
        dead.requests(),
        healthy.requests()
    );
    stores.cleanup().await;
}

/// The blocks an `eth_getLogs` request spans, if it names a range.
fn log_range_blocks(params: &serde_json::Value) -> Option<u64> {
    let block = |key: &str| {
        let hex = params.get(0)?.get(key)?.as_str()?;
        u64::from_str_radix(hex.trim_start_matches("0x"), 16).ok()
    };
    Some(block("toBlock")? - block("fromBlock")? + 1)
}

/// Indexes the history into SQLite, with `tuning`, through a proxy that
/// answers every log range of more than two blocks with `fault`, as
/// providers cap ranges; the indexer starts with larger ones and reads
/// ahead of itself. The store must end as a clean index.
async fn index_with_large_ranges_failing(
    fault: Fault,
    tuning: IndexerConfig,
) -> (FaultyRpc, TestStores, Arc<Metrics>) {
    let chain = chain().await;
    history(&chain).await;
    let proxy =
        FaultyRpc::start_with_params(chain.anvil.endpoint(), move |method, params, _| {
            match (method, log_range_blocks(params)) {
                ("eth_getLogs", Some(blocks)) if blocks > 2 => fault,
                _ => Fault::Pass,
            }
        })
        .await;
    let stores = stores().await;
    let metrics = Arc::new(Metrics::default());
    let urls = [proxy.url().parse().unwrap()];
    Indexer::new(stores.sqlite.clone(), &urls, chain.settings(3, tuning), metrics.clone())
        .catch_up()
        .await
        .unwrap();
    assert_equals_a_clean_index(&chain, &stores, "the shrunk ranges wrote something else").await;
    (proxy, stores, metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_too_large_for_the_node_shrinks_until_it_is_answered() {
    let tuning = IndexerConfig { max_range_blocks: 8, poll_interval_ms: 10, ..Default::default() };
    let (proxy, stores, metrics) =
        index_with_large_ranges_failing(Fault::TooManyResults, tuning).await;
    let refused = proxy.injected(Fault::TooManyResults);
    assert!(refused > 0, "no range was ever too large");
    // 8 → 4 → 2 blocks, one more try at 3, and ranges read ahead beside
    // them; without a ceiling on regrowth every other range was refused
    // (20 refusals for this history).
    assert!(refused <= 8, "{refused} refusals");
    // A refusal can reach a range read ahead that was already given up.
    let counted = metrics.rpc_errors("too_many_results");
    assert!(counted > 0 && counted <= refused, "{counted} counted of {refused}");
    stores.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_the_node_cannot_answer_in_time_shrinks_until_it_is_answered() {
    let never = Fault::Stall(Duration::from_secs(1));
    let tuning = IndexerConfig {
        max_range_blocks: 4,
        poll_interval_ms: 10,
        request_timeout_ms: 200,
        rpc_attempts: 1,
        ..Default::default()
    };
    let (proxy, stores, metrics) = index_with_large_ranges_failing(never, tuning).await;
    assert!(proxy.injected(never) > 0, "no range ever stalled");
    assert!(metrics.rpc_errors("timeout") > 0, "{}", metrics.render(CHAIN));
    stores.cleanup().await;
}

/// Every request fails at first: the first steps run out of attempts, and
/// `catch_up` (what `cairn index --once` runs) waits them out and redoes them
/// until the node answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_waits_out_a_node_that_is_down_for_a_while() {
    let chain = chain().await;
    history(&chain).await;
    // Each method's first 15 requests fail: more than one step's 12 attempts.
    let proxy = FaultyRpc::start(chain.anvil.endpoint(), |_, n| {
        if n < 15 { Fault::Status(503) } else { Fault::Pass }
    })
    .await;
    let stores = stores().await;
    let metrics = Arc::new(Metrics::default());
    indexer(&chain, &stores.sqlite, &[proxy.url()], metrics.clone()).catch_up().await.unwrap();
    assert_equals_a_clean_index(&chain, &stores, "the run after the outage wrote something else")
        .await;
    let retried = metrics.step_retries.load(std::sync::atomic::Ordering::Relaxed);
    assert!((1..=u64::from(CATCH_UP_RETRIES)).contains(&retried), "{retried} steps redone");
    stores.cleanup().await;
}

/// A node that never answers again: `catch_up` gives up after
/// `CATCH_UP_RETRIES` redone steps, with the error, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_gives_up_on_a_node_that_stays_down() {
    let chain = chain().await;
    let proxy = FaultyRpc::start(chain.anvil.endpoint(), |_, _| Fault::Status(503)).await;
    let stores = stores().await;
    let metrics = Arc::new(Metrics::default());
    let error = indexer(&chain, &stores.sqlite, &[proxy.url()], metrics.clone())
        .catch_up()
        .await
        .expect_err("nothing can be read");
    assert!(error.is_transient(), "{error}");
    let retried = metrics.step_retries.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(retried, u64::from(CATCH_UP_RETRIES));
    assert_eq!(stores.sqlite.cursor(CHAIN).await.unwrap(), None);
    stores.cleanup().await;
}
