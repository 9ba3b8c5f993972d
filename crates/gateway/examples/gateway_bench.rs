//! The gateway against direct anvil, in one run on loopback: latency and
//! throughput of `eth_blockNumber` and `eth_call` at concurrency 1, 16 and
//! 64; the cost of 2-of-3 agreement on `eth_call`; and the p99 of reads with
//! one slow provider of two, hedging on against off.
//!
//! ```sh
//! cargo run --release -p cairn-gateway --example gateway_bench [-- REQUESTS]
//! ```
//!
//! The load generator is this program (keep-alive HTTP/1.1 clients, one
//! task per connection). Gateways run in-process on their own ports.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use alloy_primitives::Address;
use cairn_config::GatewayConfig;
use cairn_gateway::{Endpoint, Gateway, StaticEndpoints};
use cairn_test_utils::{Fault, FaultyRpc, anvil};
use serde_json::{Value, json};

const CHAIN: &str = "eip155:31337";

struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    per_second: f64,
}

async fn load(url: &str, body: &Value, concurrency: usize, requests: usize) -> Figures {
    let body = Arc::new(serde_json::to_vec(body).expect("json"));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (url, body, next) = (url.to_owned(), body.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut latencies = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let sent = Instant::now();
                let answer = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .send()
                    .await
                    .expect("answers")
                    .bytes()
                    .await
                    .expect("body");
                assert!(answer.windows(8).any(|w| w == b"\"result\""), "{answer:?}");
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for task in tasks {
        all.extend(task.await.expect("load task"));
    }
    let elapsed = started.elapsed();
    all.sort();
    let at = |q: f64| all[((all.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    Figures {
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        p999_ms: at(0.999),
        per_second: all.len() as f64 / elapsed.as_secs_f64(),
    }
}

async fn serve(gateway: Gateway) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, gateway.router()).await;
    });
    format!("http://{address}/v1/rpc/{CHAIN}")
}

fn endpoint(url: String, n: u8) -> Endpoint {
    Endpoint {
        url,
        provider: format!("provider {n}"),
        operator: Address::repeat_byte(n),
        weight: 1.0,
    }
}

fn gateway(config: GatewayConfig, endpoints: Vec<Endpoint>) -> Gateway {
    Gateway::new(config, Arc::new(StaticEndpoints::new(CHAIN, endpoints)))
}

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(4_000);
    let node = anvil();
    let direct = node.endpoint();
    let block_number =
        json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []});
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call",
        "params": [{"to": "0x0000000000000000000000000000000000000004", "data": "0x1234"}, "latest"]});

    // One provider, no agreement, no hedging: the gateway's own cost.
    let mut plain = GatewayConfig::default();
    plain.quorum.methods.clear();
    plain.hedging.enabled = false;
    let one = serve(gateway(plain.clone(), vec![endpoint(direct.clone(), 1)])).await;

    println!(
        "| method | concurrency | direct p50 ms | gateway p50 ms | p50 ratio | direct req/s | gateway req/s | throughput ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, body) in [("eth_blockNumber", &block_number), ("eth_call", &call)] {
        for concurrency in [1, 16, 64] {
            let n = if concurrency == 1 { requests / 4 } else { requests };
            // Warm both paths (connections, caches) before measuring.
            load(&direct, body, concurrency, n / 10).await;
            load(&one, body, concurrency, n / 10).await;
            let d = load(&direct, body, concurrency, n).await;
            let g = load(&one, body, concurrency, n).await;
            println!(
                "| {name} | {concurrency} | {:.3} | {:.3} | {:.2} | {:.0} | {:.0} | {:.2} |",
                d.p50_ms,
                g.p50_ms,
                g.p50_ms / d.p50_ms,
                d.per_second,
                g.per_second,
                g.per_second / d.per_second
            );
        }
    }

    // 2-of-3 agreement on eth_call: three providers over the node (three
    // URL spellings of it, three operators).
    let mut quorum = GatewayConfig::default();
    quorum.hedging.enabled = false;
    let three = serve(gateway(
        quorum,
        vec![
            endpoint(direct.clone(), 1),
            endpoint(format!("{direct}/"), 2),
            endpoint(format!("{direct}/?provider=3"), 3),
        ],
    ))
    .await;
    load(&three, &call, 16, requests / 10).await;
    let q = load(&three, &call, 16, requests).await;
    let g = load(&one, &call, 16, requests).await;
    println!();
    println!("| eth_call, concurrency 16 | p50 ms | p99 ms | req/s |");
    println!("|---|---|---|---|");
    println!("| gateway, one provider | {:.3} | {:.3} | {:.0} |", g.p50_ms, g.p99_ms, g.per_second);
    println!(
        "| gateway, 2-of-3 agreement | {:.3} | {:.3} | {:.0} |",
        q.p50_ms, q.p99_ms, q.per_second
    );
    println!(
        "| ratio (2-of-3 / one) | {:.2} | {:.2} | {:.2} |",
        q.p50_ms / g.p50_ms,
        q.p99_ms / g.p99_ms,
        q.per_second / g.per_second
    );

    // One slow provider of two: 4% of its answers take 200 ms (few enough
    // that its p95 is a quick answer, which is when p95 hedging can help).
    let slow = FaultyRpc::start(direct.clone(), |_, n| {
        if n % 25 == 0 { Fault::Delay(Duration::from_millis(200)) } else { Fault::Pass }
    })
    .await;
    let fast_a = FaultyRpc::start(direct.clone(), |_, _| Fault::Pass).await;
    let providers = || vec![endpoint(slow.url(), 1), endpoint(fast_a.url(), 2)];
    let mut hedged = plain.clone();
    hedged.hedging.enabled = true;
    let on = serve(gateway(hedged, providers())).await;
    let off = serve(gateway(plain, providers())).await;
    println!();
    println!(
        "| eth_blockNumber, one slow provider of two | concurrency | p50 ms | p99 ms | p99.9 ms | req/s |"
    );
    println!("|---|---|---|---|---|---|");
    for concurrency in [4, 16] {
        for (name, url) in [("hedging off", &off), ("hedging on", &on)] {
            load(url, &block_number, concurrency, requests / 10).await;
            let f = load(url, &block_number, concurrency, requests).await;
            println!(
                "| {name} | {concurrency} | {:.3} | {:.3} | {:.3} | {:.0} |",
                f.p50_ms, f.p99_ms, f.p999_ms, f.per_second
            );
        }
    }
}
