//! Issue 17's first acceptance point, on both store backends: four
//! providers registered on anvil, each behind its own `cairn provider
//! serve` process: one honest, one slow (a proxy between its sidecar and
//! the node delays a share of calls), one liar (a proxy alters every third
//! balance before its sidecar signs it, so its signatures are valid over
//! wrong answers) and one whose sidecar is SIGKILLed mid-test and started
//! again on its port. `cairn index` and `cairn serve` (gateway with 2-of-3
//! agreement, prober every 300 ms) run as processes. A client's every
//! answer through the gateway equals anvil's own; the liar is caught with
//! evidence `cairn evidence verify` accepts and falls in rank; the dead
//! one's breaker opens and it goes on probation, and once it is back the
//! probes lift it above the liar; the slow one measures slower than the
//! honest one.

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, U256},
    sol_types::SolCall,
};
use cairn_bindings::DevToken;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, DEV_KEY_4, Fault, FaultyRpc, address_of, anvil,
    free_port, register_provider, stores,
};
use serde_json::{Value, json};

use crate::{
    Running, cairn, spawn_cairn,
    stack::{TOKEN, chain_env, deploy},
    stderr, stdout,
    support::write_key_file,
    wait_for,
};

const CHAIN: &str = "eip155:31337";
/// Each provider is its own operator, so the quorum sees four.
const HONEST: &str = DEV_KEY_1;
const SLOW: &str = DEV_KEY_2;
const LIAR: &str = DEV_KEY_3;
const DYING: &str = DEV_KEY_4;
/// What the slow one's proxy adds to the calls it holds back.
const SLOW_BY: Duration = Duration::from_millis(400);
/// Calls each phase sends at least.
const MIN_CALLS: u64 = 30;
/// Longest any phase may take to show what it waits for.
const PHASE: Duration = Duration::from_secs(30);

/// One provider's `cairn provider serve`, in a directory of its own so its
/// log is its own; stopped (SIGKILL) and started again on the same port.
struct Sidecar {
    dir: PathBuf,
    listen: String,
    upstream: String,
    key: PathBuf,
    process: Option<Running>,
}

impl Sidecar {
    fn new(parent: &Path, name: &str, key: &str, upstream: String) -> Self {
        let dir = parent.join(name);
        std::fs::create_dir(&dir).unwrap();
        let key = write_key_file(&dir.join("operator.key"), key);
        let listen = format!("127.0.0.1:{}", free_port());
        Self { dir, listen, upstream, key, process: None }
    }

    fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    fn start(&mut self) {
        let key = self.key.display().to_string();
        let args = [
            "provider",
            "serve",
            "--upstream",
            &self.upstream,
            "--listen",
            &self.listen,
            "--chain",
            CHAIN,
            "--key-file",
            &key,
            "--tip-poll-ms",
            "100",
        ];
        self.process = Some(spawn_cairn(&self.dir, &args, &[]));
        let health = format!("{}/cairn/health", self.url());
        let http = reqwest::blocking::Client::new();
        wait_for("the sidecar to be healthy", || {
            http.get(&health).send().is_ok_and(|r| r.status() == 200)
        });
    }

    /// SIGKILL, as a crash or the OOM killer would.
    fn kill(&mut self) {
        self.process = None;
    }
}

/// The service under test and what the client compares it with.
struct Client {
    http: reqwest::blocking::Client,
    base: String,
    anvil: String,
    /// Nothing sends a transaction during the test: the chain stands
    /// still, every sidecar signs at the same tip (evidence needs its
    /// witnesses at the liar's block) and answers at this block never
    /// change.
    block: String,
    token: Address,
    sent: u64,
}

impl Client {
    fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    fn post(&self, url: &str, body: &Value) -> Value {
        post(&self.http, url, body)
    }

    /// The `n`-th call of the client's mix: a balance (k-of-n) of an
    /// account that changes with `n`, so each lie is a record of its own;
    /// the block number (one endpoint, retried); a token balance by
    /// `eth_call` (k-of-n).
    fn call(&self, n: u64) -> Value {
        let accounts = [DEV_KEY_0, HONEST, SLOW, LIAR, DYING].map(address_of);
        let account = if n.is_multiple_of(2) {
            accounts[(n / 3 % 5) as usize]
        } else {
            Address::repeat_byte((n % 251) as u8 + 1)
        };
        let (method, params) = match n % 3 {
            0 => ("eth_getBalance", json!([account, self.block])),
            1 => ("eth_blockNumber", json!([])),
            _ => {
                let data = DevToken::balanceOfCall { account }.abi_encode();
                let call = json!({ "to": self.token, "data": alloy::hex::encode_prefixed(data) });
                ("eth_call", json!([call, self.block]))
            }
        };
        json!({ "jsonrpc": "2.0", "id": n + 1000, "method": method, "params": params })
    }

    /// Sends the next call through the gateway and checks its answer is
    /// anvil's own.
    fn check_one(&mut self) {
        let call = self.call(self.sent);
        self.sent += 1;
        let through = self.post(&format!("{}/v1/rpc/{CHAIN}", self.base), &call);
        let direct = self.post(&self.anvil, &call);
        assert!(direct["result"].is_string(), "anvil answers {call}: {direct}");
        assert_eq!(through["result"], direct["result"], "{call} through the gateway: {through}");
        assert_eq!(through["id"], call["id"], "{through}");
    }

    /// Keeps calling until `done` holds, and at least `MIN_CALLS` times,
    /// so every phase puts real traffic through the gateway; checks every
    /// answer.
    fn drive_until(&mut self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + PHASE;
        let first = self.sent;
        loop {
            for _ in 0..3 {
                self.check_one();
            }
            if self.sent - first >= MIN_CALLS && done(self) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
        }
    }

    /// Discovery's ranking of the chain's `rpc` endpoints.
    fn ranked(&self) -> Vec<Value> {
        self.get(&format!("/v1/services?chain={CHAIN}&kind=rpc"))["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// What the gateway says of the endpoint at `url`.
    fn gateway_endpoint(&self, url: &str) -> Value {
        let stats = self.get("/v1/gateway/stats");
        stats["chains"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["chain"] == CHAIN)
            .flat_map(|c| c["endpoints"].as_array().cloned().unwrap_or_default())
            .find(|e| e["url"] == url)
            .unwrap_or_default()
    }
}

fn post(http: &reqwest::blocking::Client, url: &str, body: &Value) -> Value {
    http.post(url)
        .json(body)
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// The entry for `url` in a ranking.
fn entry<'a>(ranked: &'a [Value], url: &str) -> &'a Value {
    ranked
        .iter()
        .find(|s| s["url"] == url)
        .unwrap_or_else(|| panic!("{url} is not ranked: {ranked:?}"))
}

fn rank(ranked: &[Value], url: &str) -> u64 {
    entry(ranked, url)["rank"].as_u64().unwrap()
}

fn why(ranked: &[Value], url: &str, field: &str) -> Value {
    entry(ranked, url)["why"][field].clone()
}

fn accuses(evidence: &Value, key: &str) -> bool {
    evidence["accused"]
        .as_str()
        .is_some_and(|a| a.eq_ignore_ascii_case(&address_of(key).to_string()))
}

fn four_providers_one_gateway(store_url: Option<String>) {
    let started = Instant::now();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let node = anvil();
    let port = free_port();
    let mut env = chain_env(dir.path(), &node.endpoint(), port);
    if let Some(url) = &store_url {
        env.push(("CAIRN_STORE__URL".into(), format!("\"{url}\"")));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let deployment = deploy(dir.path(), &env);

    // The slow node holds back every `eth_chainId` (so every probe sees the
    // delay) and every other call of the rest; the lying node alters every
    // third balance.
    let slow_node = runtime.block_on(FaultyRpc::start(node.endpoint(), |method, n| {
        if method == "eth_chainId" || n % 2 == 1 { Fault::Delay(SLOW_BY) } else { Fault::Pass }
    }));
    let lying_node = runtime.block_on(FaultyRpc::start(node.endpoint(), |method, n| {
        if method == "eth_getBalance" && n % 3 == 2 { Fault::AlterResult } else { Fault::Pass }
    }));
    let mut honest = Sidecar::new(dir.path(), "honest", HONEST, node.endpoint());
    let mut slow = Sidecar::new(dir.path(), "slow", SLOW, slow_node.url());
    let mut liar = Sidecar::new(dir.path(), "liar", LIAR, lying_node.url());
    let mut dying = Sidecar::new(dir.path(), "dying", DYING, node.endpoint());
    // The liar's larger stake ranks it first until it is caught.
    for (key, stake, sidecar) in
        [(HONEST, 100, &honest), (SLOW, 100, &slow), (LIAR, 150, &liar), (DYING, 100, &dying)]
    {
        runtime.block_on(register_provider(
            &node.endpoint(),
            &deployment,
            key,
            key,
            U256::from(stake * TOKEN),
            &[(CHAIN, sidecar.url().as_str())],
        ));
    }
    for sidecar in [&mut honest, &mut slow, &mut liar, &mut dying] {
        sidecar.start();
    }

    let _indexer = spawn_cairn(dir.path(), &["index"], &env);
    let mut serve_env = env.clone();
    serve_env.extend([
        ("CAIRN_SERVICE__DISCOVERY_CACHE_MS", "100"),
        ("CAIRN_PROBER__INTERVAL_MS", "300"),
        ("CAIRN_PROBER__JITTER_MS", "0"),
        ("CAIRN_PROBER__TIMEOUT_MS", "1500"),
        // Short enough that a recovered endpoint's failures fade within
        // the test.
        ("CAIRN_PROBER__HALF_LIFE_SECS", "2"),
        ("CAIRN_PROBER__PROBATION_AFTER_FAILURES", "2"),
        ("CAIRN_PROBER__PROBATION_EXIT_SUCCESSES", "2"),
        ("CAIRN_GATEWAY__QUORUM__K", "2"),
        ("CAIRN_GATEWAY__QUORUM__N", "3"),
        ("CAIRN_GATEWAY__BREAKER_FAILURES", "2"),
        ("CAIRN_GATEWAY__BREAKER_OPEN_MS", "1000"),
        ("CAIRN_GATEWAY__ATTEMPT_TIMEOUT_MS", "2000"),
    ]);
    let _serve = spawn_cairn(dir.path(), &["serve"], &serve_env);
    let base = format!("http://127.0.0.1:{port}");
    let http =
        reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    wait_for("the service to answer", || http.get(format!("{base}/healthz")).send().is_ok());

    let head = post(
        &http,
        &node.endpoint(),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}),
    );
    let mut client = Client {
        http,
        base,
        anvil: node.endpoint(),
        block: head["result"].as_str().unwrap().to_owned(),
        token: deployment.stake_token,
        sent: 0,
    };
    let urls = [honest.url(), slow.url(), liar.url(), dying.url()];
    let mut before = Vec::new();
    wait_for("every endpoint to be probed healthy, its answers signed", || {
        before = client.ranked();
        before.len() == 4
            && urls.iter().all(|url| {
                why(&before, url, "probes").as_u64().is_some_and(|n| n >= 2)
                    && why(&before, url, "health") == "healthy"
                    && why(&before, url, "verified") == true
            })
    });
    assert!(
        rank(&before, &liar.url()) < rank(&before, &honest.url()),
        "unproven, the liar's stake leads: {before:?}"
    );
    let liar_before = entry(&before, &liar.url())["why"].clone();
    assert_eq!(liar_before["evidence"], 0, "{liar_before}");
    let honest_latency = why(&before, &honest.url(), "latency_ms").as_u64().unwrap();
    let slow_latency = why(&before, &slow.url(), "latency_ms").as_u64().unwrap();
    assert!(
        slow_latency >= SLOW_BY.as_millis() as u64 && slow_latency > honest_latency,
        "the slow one measures slower: {slow_latency} ms against {honest_latency} ms"
    );

    // The liar is caught by the quorum, with its own signature over the
    // wrong answer.
    let caught_by_quorum = |items: &[Value]| {
        items.iter().find(|e| e["kind"] == "quorum_mismatch" && accuses(e, LIAR)).cloned()
    };
    client.drive_until("evidence against the liar", |c| {
        let listed = c.get(&format!("/v1/evidence?chain={CHAIN}"));
        caught_by_quorum(listed["items"].as_array().unwrap()).is_some()
    });
    assert!(lying_node.injected(Fault::AlterResult) > 0);
    let listed = client.get(&format!("/v1/evidence?chain={CHAIN}"));
    let items = listed["items"].as_array().unwrap();
    // The liar may also have signed two answers to one call that conflict:
    // evidence too, and against it alone.
    assert!(items.iter().all(|e| accuses(e, LIAR)), "only the liar is accused: {listed}");
    let summary = caught_by_quorum(items).unwrap();
    let record = client.get(&format!("/v1/evidence/{}", summary["hash"].as_str().unwrap()));
    let answers = record["answers"].as_array().unwrap();
    let accused = address_of(LIAR);
    for answer in answers {
        let direct = client.post(&client.anvil, &answer["request"]);
        let operator: Address = answer["operator"].as_str().unwrap().parse().unwrap();
        if operator == accused {
            assert_ne!(
                answer["response"]["result"], direct["result"],
                "the liar's answer: {answer}"
            );
        } else {
            assert_eq!(answer["response"]["result"], direct["result"], "a witness: {answer}");
        }
    }
    assert!(answers.len() >= 3, "the liar and two witnesses: {record}");
    let file = dir.path().join("evidence.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&record).unwrap()).unwrap();
    let verified = cairn(&["evidence", "verify", file.to_str().unwrap()], &[]);
    assert!(verified.status.success(), "{}", stderr(&verified));
    let text = stdout(&verified);
    assert!(text.contains(&format!("verdict: VALID, {accused} signed a wrong answer")), "{text}");

    client.drive_until("discovery to count the evidence", |c| {
        why(&c.ranked(), &liar.url(), "evidence").as_u64().is_some_and(|n| n >= 1)
    });
    let caught = client.ranked();
    let liar_after = &entry(&caught, &liar.url())["why"];
    assert!(
        liar_after["reputation_factor"].as_f64().unwrap()
            < liar_before["reputation_factor"].as_f64().unwrap(),
        "{liar_before} → {liar_after}"
    );
    assert!(
        liar_after["score"].as_f64().unwrap() < liar_before["score"].as_f64().unwrap(),
        "{liar_before} → {liar_after}"
    );
    assert!(rank(&caught, &liar.url()) > rank(&caught, &honest.url()), "{caught:?}");

    // The dying one dies: its breaker opens and it goes on probation, last.
    dying.kill();
    client.drive_until("the dead one's breaker to open", |c| {
        c.gateway_endpoint(&dying.url())["breaker"] == "open"
    });
    let dead = client.gateway_endpoint(&dying.url());
    assert!(dead["failures_by_kind"]["connect"].as_u64().is_some_and(|n| n > 0), "{dead}");
    client.drive_until("the dead one to be on probation", |c| {
        why(&c.ranked(), &dying.url(), "probation") == true
    });
    let down = client.ranked();
    assert_eq!(rank(&down, &dying.url()), 4, "{down:?}");
    assert!(rank(&down, &dying.url()) > rank(&down, &liar.url()));
    assert_eq!(why(&down, &dying.url(), "health"), "failing");

    // Back on its port: probes take it off probation and above the liar,
    // and the gateway's breaker closes on its first answer.
    dying.start();
    client.drive_until("the recovered one to rank above the liar", |c| {
        let ranked = c.ranked();
        why(&ranked, &dying.url(), "probation") == false
            && rank(&ranked, &dying.url()) < rank(&ranked, &liar.url())
    });
    client.drive_until("the recovered one's breaker to close", |c| {
        c.gateway_endpoint(&dying.url())["breaker"] == "closed"
    });
    let back = client.gateway_endpoint(&dying.url());
    assert!(back["breaker_opened"].as_u64().is_some_and(|n| n >= 1), "{back}");

    // Still slower, after all that.
    let last = client.ranked();
    assert!(
        why(&last, &slow.url(), "latency_ms").as_u64()
            > why(&last, &honest.url(), "latency_ms").as_u64(),
        "{last:?}"
    );
    assert!(slow_node.injected(Fault::Delay(SLOW_BY)) > 0);
    eprintln!(
        "{} answers checked against anvil in {:.1} s",
        client.sent,
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn four_providers_one_gateway_on_sqlite() {
    four_providers_one_gateway(None);
}

#[test]
fn four_providers_one_gateway_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stores = runtime.block_on(stores());
    four_providers_one_gateway(Some(stores.postgres_url()));
    runtime.block_on(stores.cleanup());
}
