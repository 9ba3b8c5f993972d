//! Discovery once the prober has measured the endpoints: two providers on
//! anvil, one behind a real `cairn provider serve` (its own process) in front
//! of the node and one on a dead port with three times the stake. Unprobed, stake decides; after a round the live
//! endpoint ranks first with its measured figures, and repeated failures put
//! the dead one on probation. `cairn discover` prints the figures.

use alloy::primitives::U256;
use axum::http::StatusCode;
use cairn_config::ProberConfig;
use cairn_prober::{Prober, Settings};
use cairn_service::http::{app, serve};
use cairn_test_utils::{
    DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, anvil, deploy_dev, free_port, register_provider, wallet,
};
use serde_json::Value;

use crate::support::{Chain, MIN_STAKE, get, service_config};

const CHAIN: &str = "eip155:31337";

/// Cairn deployed on `anvil`, P1 serving `live` and P2 (three times the
/// stake) serving `dead`.
async fn chain_with_a_live_and_a_dead_endpoint(
    anvil: alloy::node_bindings::AnvilInstance,
    live: &str,
    dead: &str,
) -> Chain {
    let rpc = anvil.endpoint();
    let (_, deployment) = deploy_dev(&rpc, MIN_STAKE, 3600, 3600).await;
    let stake = U256::from(MIN_STAKE);
    register_provider(&rpc, &deployment, DEV_KEY_1, DEV_KEY_1, stake, &[(CHAIN, live)]).await;
    register_provider(
        &rpc,
        &deployment,
        DEV_KEY_2,
        DEV_KEY_3,
        stake * U256::from(3),
        &[(CHAIN, dead)],
    )
    .await;
    Chain { anvil, deployment }
}

fn prober(chain: &Chain, store: &cairn_store::Store) -> Prober {
    let settings = Settings::from_config(&ProberConfig {
        jitter_ms: 0,
        timeout_ms: 2_000,
        probation_after_failures: 2,
        ..ProberConfig::default()
    })
    .unwrap();
    let registry =
        cairn_prober::Registry { chain: CHAIN.into(), min_stake: chain.evm_chain().min_stake };
    Prober::new(store.clone(), vec![registry], settings)
}

async fn ranked(app: &axum::Router) -> Vec<Value> {
    let answer = get(app, &format!("/v1/services?chain={CHAIN}&kind=rpc")).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["items"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probed_endpoints_rank_by_what_they_did_on_both_backends() {
    // The node both holds the registry and serves the chain, behind P1's
    // sidecar, which signs with P1's operator key.
    let node = anvil();
    let node_url = node.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let sidecar = Sidecar {
        url: format!("http://{listen}/"),
        _process: crate::spawn_cairn(
            dir.path(),
            &["provider", "serve", "--upstream", &node_url, "--listen", &listen, "--chain", CHAIN],
            &[("CAIRN_PROVIDER_KEY", DEV_KEY_1)],
        ),
    };
    let health = format!("{}cairn/health", sidecar.url());
    tokio::task::spawn_blocking(move || {
        let http = reqwest::blocking::Client::new();
        crate::wait_for("the sidecar to be healthy", || {
            http.get(&health).send().is_ok_and(|r| r.status() == 200)
        });
    })
    .await
    .unwrap();
    let dead = format!("http://127.0.0.1:{}/", free_port());
    let chain = chain_with_a_live_and_a_dead_endpoint(node, &sidecar.url(), &dead).await;
    let stores = cairn_test_utils::stores().await;
    for store in stores.both() {
        chain.index_into(store).await;
        let app = app(chain.state(store, service_config()));

        let before = ranked(&app).await;
        assert_eq!(before[0]["url"], dead, "unprobed, the larger stake leads: {before:?}");
        assert_eq!(before[0]["why"]["health"], "unknown");
        assert!(before[0]["why"].get("latency_ms").is_none(), "nothing measured yet");

        let prober = prober(&chain, store);
        prober.round().await.unwrap();
        let after = ranked(&app).await;
        assert_eq!(after[0]["url"], sidecar.url(), "{after:?}");
        let live = &after[0]["why"];
        assert_eq!(live["health"], "healthy", "{live}");
        assert_eq!(live["verified"], true, "{live}");
        assert!(live["latency_ms"].as_u64().is_some(), "{live}");
        let tip = rpc_block_number(&node_url).await;
        assert!(live["tip"].as_u64().unwrap() <= tip, "{live}");
        assert_eq!(live["tip_lag"], 0);
        assert_eq!(live["success_ratio"], 1.0);
        assert_eq!(live["probes"], 1);
        assert_eq!(live["probation"], false);
        assert!(live.get("last_error").is_none(), "{live}");
        assert!(live["last_probe_at"].as_i64().unwrap() > 1_700_000_000_000);
        assert!(live["summary"].as_str().unwrap().contains("signed by the operator"), "{live}");
        let failing = &after[1]["why"];
        assert_eq!(after[1]["url"], dead);
        assert_eq!(failing["health"], "failing");
        assert_eq!(failing["verified"], false);
        assert!(failing["last_error"].as_str().unwrap().starts_with("connect: "), "{failing}");
        assert_eq!(failing["success_ratio"], 0.0);
        assert!(failing.get("tip").is_none());
        assert!(live["score"].as_f64().unwrap() > failing["score"].as_f64().unwrap());

        prober.round().await.unwrap();
        let later = ranked(&app).await;
        assert_eq!(later[1]["url"], dead);
        assert_eq!(later[1]["why"]["probation"], true, "two failures in a row");
        assert!(later[1]["why"]["summary"].as_str().unwrap().contains("probation"));
        assert_eq!(later[0]["why"]["probes"], 2);
    }

    // `cairn discover` shows the figures, from a service over the SQLite store.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = chain.state(&stores.sqlite, service_config());
    let served = tokio::spawn(async move {
        serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let services = format!("[\"{base}\"]");
    let output = tokio::task::spawn_blocking(move || {
        crate::cairn(&["discover", CHAIN], &[("CAIRN_CLIENT__SERVICES", services.as_str())])
    })
    .await
    .unwrap();
    let printed = crate::stdout(&output);
    assert!(output.status.success(), "{}", crate::stderr(&output));
    let lines: Vec<&str> = printed.lines().collect();
    assert!(lines[0].contains(&sidecar.url()), "{printed}");
    assert!(
        lines[1].contains("healthy") && lines[1].contains("signed by the operator"),
        "{printed}"
    );
    assert!(lines[3].contains("failing (connect"), "{printed}");
    stop.send(()).unwrap();
    served.await.unwrap();
    stores.cleanup().await;
}

/// A `cairn provider serve` process, killed when dropped.
struct Sidecar {
    url: String,
    _process: crate::Running,
}

impl Sidecar {
    fn url(&self) -> String {
        self.url.clone()
    }
}

async fn rpc_block_number(url: &str) -> u64 {
    use alloy::providers::Provider;
    wallet(url, DEV_KEY_1).get_block_number().await.unwrap()
}
