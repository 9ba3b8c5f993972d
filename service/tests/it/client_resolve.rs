//! `cairn-client` against real services on loopback: the first service that
//! answers wins, answers are reused for their TTL, and with no service the
//! registry on chain answers.

use std::time::Duration;

use cairn_client::{Client, ClientError, Source};
use cairn_service::http::serve;

use crate::support::{Chain, p1, p2, service_config};

/// Serves the chain's state on a loopback port until the sender is dropped.
async fn start_service(
    chain: &Chain,
    store: &cairn_store::Store,
) -> (url::Url, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = chain.state(store, service_config());
    let task = tokio::spawn(async move {
        serve(listener, state, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (base, stop, task)
}

fn dead_service() -> url::Url {
    let port = cairn_test_utils::free_port();
    format!("http://127.0.0.1:{port}/").parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_in_order_then_the_registry_with_a_ttl_cache() {
    let chain = Chain::with_providers().await;
    let stores = cairn_test_utils::stores().await;
    chain.index_into(&stores.sqlite).await;
    let (live, stop, task) = start_service(&chain, &stores.sqlite).await;
    let dead = dead_service();

    // A dead first service is skipped; the live second one answers.
    let client = Client::builder()
        .service(dead.clone())
        .service(live.clone())
        .ttl(Duration::from_secs(3600))
        .build();
    let resolved = client.resolve_with_source("eip155:1", "rpc").await.unwrap();
    assert_eq!(resolved.source, Source::Service(live.clone()));
    let urls: Vec<&str> = resolved.endpoints.iter().map(|e| e.url.as_str()).collect();
    assert_eq!(urls[0], "https://p2.example/", "ranked as the service ranks: {urls:?}");
    assert_eq!(urls.len(), 3);
    assert!(resolved.endpoints[0].why.contains("health unknown"));

    // Stop the service: within the TTL the client still answers from cache.
    stop.send(()).unwrap();
    task.await.unwrap();
    let cached = client.resolve("eip155:1", "rpc").await.unwrap();
    assert_eq!(cached.len(), 3);

    // Without a cache and without services, nothing answers…
    let no_fallback = Client::builder().service(dead.clone()).ttl(Duration::ZERO).build();
    match no_fallback.resolve("eip155:1", "rpc").await {
        Err(ClientError::AllSourcesFailed(failures)) => {
            assert_eq!(failures.len(), 1);
            assert!(failures[0].starts_with(dead.as_str()), "{failures:?}");
        }
        other => panic!("expected every source to fail, got {other:?}"),
    }
    assert!(matches!(
        Client::builder().build().resolve("eip155:1", "rpc").await,
        Err(ClientError::NothingConfigured)
    ));

    // …but the registry does: P1 (150 staked after its slash) before P2 (100).
    let trustless = Client::builder()
        .service(dead)
        .registry_fallback(
            chain.anvil.endpoint_url(),
            chain.deployment.registry,
            chain.deployment.start_block,
        )
        .ttl(Duration::ZERO)
        .build();
    let resolved = trustless.resolve_with_source("eip155:1", "rpc").await.unwrap();
    assert!(matches!(resolved.source, Source::Registry { .. }), "{:?}", resolved.source);
    let providers: Vec<&str> = resolved.endpoints.iter().map(|e| e.provider.as_str()).collect();
    let p1_id = format!("eip155:31337:{}", p1().to_checksum(None));
    let p2_id = format!("eip155:31337:{}", p2().to_checksum(None));
    assert_eq!(providers, vec![p1_id.as_str(), p1_id.as_str(), p2_id.as_str()]);
    assert!((resolved.endpoints[0].score - 0.6).abs() < 1e-9, "{:?}", resolved.endpoints[0]);
    let archive = trustless.resolve("eip155:1", "archive").await.unwrap();
    assert_eq!(archive.len(), 1);
    assert_eq!(archive[0].url, "https://p2-archive.example");
    assert!(trustless.resolve("eip155:5", "rpc").await.unwrap().is_empty());

    stores.cleanup().await;
}

/// A service that answers every page with the same (or an empty) cursor
/// fails as a source instead of being paged for ever; the next source answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_that_repeats_its_page_cursor_fails_as_a_source() {
    for (cursor, expected) in [("same", "repeated page cursor `same`"), ("", "empty page cursor")] {
        let page = serde_json::json!({
            "items": [{
                "rank": 1, "chain": "eip155:1", "kind": "rpc", "url": "https://loop.example/",
                "provider": "eip155:31337:0x0000000000000000000000000000000000000001",
                "why": { "score": 1.0, "summary": "stake" },
            }],
            "next_cursor": cursor,
        });
        let pages = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = pages.clone();
        let router = axum::Router::new().route(
            "/v1/services",
            axum::routing::get(move || {
                let page = page.clone();
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { axum::Json(page) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base: url::Url = format!("http://{}/", listener.local_addr().unwrap()).parse().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let client = Client::builder().service(base).build();
        let outcome =
            tokio::time::timeout(Duration::from_secs(10), client.resolve("eip155:1", "rpc"))
                .await
                .expect("the client stops paging by itself");
        match outcome {
            Err(ClientError::AllSourcesFailed(failures)) => {
                assert!(failures.iter().any(|f| f.contains(expected)), "{failures:?}");
            }
            other => panic!("expected the looping source to fail, got {other:?}"),
        }
        let asked = pages.load(std::sync::atomic::Ordering::SeqCst);
        assert!(asked <= 2, "paged {asked} times");
        server.abort();
    }
}
