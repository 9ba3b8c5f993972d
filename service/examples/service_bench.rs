//! Load on the HTTP service, measured against its own `/healthz` in the same
//! run: discovery throughput and p99 (with `oha`), SIWE sign-ins per second
//! end to end, and the service process's peak RSS.
//!
//! ```sh
//! cargo build --release -p cairn-service --bin cairn
//! cargo run --release -p cairn-service --example service_bench [-- SECONDS CONNECTIONS]
//! ```
//!
//! Needs `oha` on PATH (`cargo install oha`). Starts anvil, deploys Cairn,
//! registers 20 providers with 5 `rpc` endpoints each for eip155:1, indexes
//! them with `cairn index --once` into SQLite (or `BENCH_DATABASE_URL`), and
//! runs `cairn serve` as its own process, so the RSS is the service's alone.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{B256, U256},
    providers::Provider,
    signers::{SignerSync, local::PrivateKeySigner},
};
use cairn_auth::{SiweMessage, Timestamp};
use cairn_bindings::{DevToken, Registry};
use cairn_test_utils::{DEV_KEY_0, Mined, anvil, deploy_dev, wallet};

const TOKEN: u128 = 1_000_000_000_000_000_000;
const PROVIDERS: usize = 20;
const ENDPOINTS_PER_PROVIDER: usize = 5;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cairn_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().and_then(|examples| examples.parent()).expect("target dir");
    let binary = dir.join("cairn");
    assert!(binary.exists(), "build it first: cargo build --release -p cairn-service --bin cairn");
    binary
}

#[derive(Debug)]
struct Load {
    requests_per_second: f64,
    p99_ms: f64,
    success_rate: f64,
}

fn oha(url: &str, seconds: u64, connections: u32) -> Load {
    let output = Command::new("oha")
        .args(["--no-tui", "--output-format", "json", "-z", &format!("{seconds}s")])
        .args(["-c", &connections.to_string(), url])
        .output()
        .expect("oha on PATH (cargo install oha)");
    assert!(output.status.success(), "oha failed: {}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("oha JSON");
    Load {
        requests_per_second: report["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p99_ms: report["latencyPercentiles"]["p99"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        success_rate: report["summary"]["successRate"].as_f64().unwrap_or(0.0),
    }
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

async fn register_providers(rpc: &str, deployment: &cairn_bindings::Deployment) {
    let admin = wallet(rpc, DEV_KEY_0);
    for p in 0..PROVIDERS {
        let key = PrivateKeySigner::random();
        let address = key.address();
        admin
            .raw_request::<_, ()>("anvil_setBalance".into(), (address, U256::from(10u128 * TOKEN)))
            .await
            .expect("fund gas");
        let hex_key = format!("0x{}", alloy::hex::encode(key.to_bytes()));
        let provider = wallet(rpc, &hex_key);
        let token = DevToken::new(deployment.stake_token, &provider);
        let stake = U256::from((100 + 10 * p as u128) * TOKEN);
        token.mint(address, stake).mined().await;
        token.approve(deployment.registry, stake).mined().await;
        let registry = Registry::new(deployment.registry, &provider);
        registry.register(address, stake).mined().await;
        for e in 0..ENDPOINTS_PER_PROVIDER {
            registry
                .addService(
                    address,
                    "eip155:1".into(),
                    "rpc".into(),
                    format!("https://p{p}-e{e}.example/rpc"),
                    B256::ZERO,
                )
                .mined()
                .await;
        }
    }
}

async fn sign_ins(base: &str, seconds: u64, workers: usize) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let key = PrivateKeySigner::random();
            let domain = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
            let mut done = 0u64;
            while Instant::now() < deadline {
                let issued: serde_json::Value = http
                    .post(format!("{base}v1/auth/nonce"))
                    .json(&serde_json::json!({ "domain": domain }))
                    .send()
                    .await
                    .expect("nonce")
                    .json()
                    .await
                    .expect("nonce JSON");
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs() as i64;
                let message = SiweMessage {
                    scheme: None,
                    domain: domain.clone(),
                    address: key.address(),
                    statement: Some("Sign in to Cairn.".into()),
                    uri: base.clone(),
                    version: "1".into(),
                    chain_id: 31337,
                    nonce: issued["nonce"].as_str().expect("nonce").to_owned(),
                    issued_at: Timestamp::from_unix(now),
                    expiration_time: Some(Timestamp::from_unix(now + 300)),
                    not_before: None,
                    request_id: None,
                    resources: vec![],
                };
                let signature = key.sign_hash_sync(&message.eip191_hash()).expect("sign");
                let answer = http
                    .post(format!("{base}v1/auth/siwe"))
                    .json(&serde_json::json!({
                        "message": message.to_string(),
                        "signature": format!("0x{}", alloy::hex::encode(signature.as_bytes())),
                    }))
                    .send()
                    .await
                    .expect("siwe");
                assert!(
                    answer.status().is_success(),
                    "sign-in refused: {}",
                    answer.text().await.unwrap_or_default()
                );
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.expect("worker");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let connections: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(32);
    let cairn = cairn_binary();

    let anvil = anvil();
    let rpc = anvil.endpoint();
    let (_, deployment) = deploy_dev(&rpc, 100 * TOKEN, 3600, 3600).await;
    eprintln!("registering {PROVIDERS} providers × {ENDPOINTS_PER_PROVIDER} endpoints");
    register_providers(&rpc, &deployment).await;

    let data = tempfile::tempdir().expect("temp dir");
    deployment.write(&data.path().join("deployment.json")).expect("deployment file");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}/");
    let mut env = vec![
        ("CAIRN_DATA_DIR".to_owned(), data.path().display().to_string()),
        ("CAIRN_EVM__RPC_URLS".to_owned(), format!("[\"{rpc}\"]")),
        ("CAIRN_EVM__FINALITY_DEPTH".to_owned(), "0".to_owned()),
        ("CAIRN_SERVICE__LISTEN".to_owned(), format!("\"127.0.0.1:{port}\"")),
        ("CAIRN_SERVICE__RATE_LIMIT__ANONYMOUS_PER_SECOND".to_owned(), "0".to_owned()),
        ("CAIRN_SERVICE__RATE_LIMIT__WALLET_PER_SECOND".to_owned(), "0".to_owned()),
        ("CAIRN_LOG__FILTER".to_owned(), "warn".to_owned()),
        (
            "CAIRN_AUTH__DOMAINS".to_owned(),
            format!("[{{ domain = \"127.0.0.1:{port}\", uris = [\"{base}\"] }}]"),
        ),
    ];
    if let Ok(url) = std::env::var("BENCH_DATABASE_URL") {
        env.push(("CAIRN_STORE__URL".to_owned(), format!("\"{url}\"")));
    }
    let indexed = Command::new(&cairn)
        .args(["index", "--once"])
        .envs(env.clone())
        .output()
        .expect("cairn index");
    assert!(indexed.status.success(), "{}", String::from_utf8_lossy(&indexed.stderr));
    let service = Killed(
        Command::new(&cairn)
            .arg("serve")
            .envs(env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cairn serve"),
    );
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "service did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let discovery_url = format!("{base}v1/services?chain=eip155:1&kind=rpc");
    let probe: serde_json::Value =
        reqwest::get(&discovery_url).await.unwrap().json().await.unwrap();
    let items = probe["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, 50, "a full first page of ranked endpoints: {probe}");

    eprintln!("load: {seconds} s per target, {connections} connections");
    let healthz = oha(&format!("{base}healthz"), seconds, connections);
    let discovery = oha(&discovery_url, seconds, connections);
    let sign_in_rate = sign_ins(&base, seconds, 8).await;
    let rss = peak_rss_mib(service.0.id());

    let store = if std::env::var("BENCH_DATABASE_URL").is_ok() { "postgres" } else { "sqlite" };
    println!(
        "store: {store}; {connections} connections, {seconds} s per target; 100 endpoints, pages of 50"
    );
    println!(
        "healthz:   {:>9.0} req/s  p99 {:>6.2} ms  success {:.3}",
        healthz.requests_per_second, healthz.p99_ms, healthz.success_rate
    );
    println!(
        "discovery: {:>9.0} req/s  p99 {:>6.2} ms  success {:.3}  ({:.2} of healthz)",
        discovery.requests_per_second,
        discovery.p99_ms,
        discovery.success_rate,
        discovery.requests_per_second / healthz.requests_per_second
    );
    println!("sign-ins:  {sign_in_rate:>9.0} /s end to end (nonce + SIWE, 8 clients)");
    println!("service peak RSS: {rss:.1} MiB");
}
