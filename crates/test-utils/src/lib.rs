//! Helpers shared by Cairn's test suites. Tests run against the real tools:
//! [`anvil`] starts the anvil binary that `scripts/bootstrap` installs,
//! [`stores`] opens a fresh SQLite file and a fresh PostgreSQL database,
//! [`FaultyRpc`] puts a misbehaving (or lying) proxy in front of a node,
//! [`fund_dev_token`] gives a dev account tokens to stake and deposit, and
//! [`history`] makes dense synthetic histories for the store, and
//! [`evidence`] makes signed evidence records.

use std::path::PathBuf;

use alloy::node_bindings::{Anvil, AnvilInstance};

pub mod conformance;
pub mod evidence;
mod faulty_rpc;
pub mod history;

pub use faulty_rpc::{Fault, FaultyRpc, alter_result};

/// anvil's first development key: funded on every anvil chain, never used
/// anywhere else.
pub const DEV_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const DEV_KEY_1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
pub const DEV_KEY_2: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
pub const DEV_KEY_3: &str = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6";
pub const DEV_KEY_4: &str = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a";

/// Sends a contract call and waits for it to be mined; a revert fails the test.
#[allow(async_fn_in_trait)]
pub trait Mined {
    async fn mined(self) -> alloy::rpc::types::TransactionReceipt;
}

impl<P, D> Mined for alloy::contract::CallBuilder<P, D>
where
    P: alloy::providers::Provider,
    D: alloy::contract::CallDecoder,
{
    async fn mined(self) -> alloy::rpc::types::TransactionReceipt {
        let receipt = self
            .send()
            .await
            .expect("transaction sent")
            .get_receipt()
            .await
            .expect("transaction mined");
        assert!(receipt.status(), "transaction {} reverted", receipt.transaction_hash);
        receipt
    }
}

/// Where the dev deployment sends slashed stake.
pub const DEV_TREASURY: alloy::primitives::Address = alloy::primitives::Address::repeat_byte(0x7e);

/// Deploys Cairn on `rpc` with dev key 0 as deployer, owner, slasher and
/// settlement signer, a fresh `DevToken` as the stake and settlement asset,
/// [`DEV_TREASURY`] as treasury and up to 8 endpoints per provider.
pub async fn deploy_dev(
    rpc: &str,
    min_stake: u128,
    unbonding_period: u64,
    withdrawal_delay: u64,
) -> (alloy::providers::DynProvider, cairn_bindings::Deployment) {
    let provider = wallet(rpc, DEV_KEY_0);
    let deployer = address_of(DEV_KEY_0);
    let params = cairn_bindings::DeployParams {
        stake_token: None,
        min_stake,
        unbonding_period,
        max_services_per_provider: 8,
        owner: None,
        slasher: deployer,
        treasury: Some(DEV_TREASURY),
        settlement_signer: deployer,
        withdrawal_delay,
        extra_assets: vec![],
    };
    let deployment =
        cairn_bindings::deploy(&provider, deployer, &params).await.expect("Cairn deploys");
    (provider, deployment)
}

/// A provider on `rpc` that signs with `key`.
pub fn wallet(rpc: &str, key: &str) -> alloy::providers::DynProvider {
    use alloy::providers::{Provider, ProviderBuilder};
    let signer: alloy::signers::local::PrivateKeySigner = key.parse().expect("a private key");
    ProviderBuilder::new().wallet(signer).connect_http(rpc.parse().expect("an RPC URL")).erased()
}

/// The address of a private key.
/// Mints `stake` of the stake token to `key`'s account, registers it as a
/// provider with `stake` and the operator `operator_key`, and has that
/// operator list each `(chain, url)` as an `rpc` endpoint.
pub async fn register_provider(
    rpc: &str,
    deployment: &cairn_bindings::Deployment,
    key: &str,
    operator_key: &str,
    stake: alloy::primitives::U256,
    endpoints: &[(&str, &str)],
) {
    fund_dev_token(rpc, key, deployment.stake_token, stake, &[deployment.registry]).await;
    let provider = address_of(key);
    cairn_bindings::Registry::new(deployment.registry, wallet(rpc, key))
        .register(address_of(operator_key), stake)
        .mined()
        .await;
    let operator = cairn_bindings::Registry::new(deployment.registry, wallet(rpc, operator_key));
    for (chain, url) in endpoints {
        operator
            .addService(
                provider,
                (*chain).to_owned(),
                "rpc".to_owned(),
                (*url).to_owned(),
                alloy::primitives::B256::ZERO,
            )
            .mined()
            .await;
    }
}

/// How many transactions `key`'s account has sent: a command that must
/// refuse before paying for anything leaves it unchanged.
pub async fn transactions_sent(rpc: &str, key: &str) -> u64 {
    use alloy::providers::Provider;
    let provider = alloy::providers::ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    provider.get_transaction_count(address_of(key)).await.unwrap()
}

pub fn address_of(key: &str) -> alloy::primitives::Address {
    key.parse::<alloy::signers::local::PrivateKeySigner>().expect("a private key").address()
}

/// Mints `amount` of a `DevToken` to `key`'s account and lets each of
/// `spenders` (the Cairn contracts) take any amount of it.
pub async fn fund_dev_token(
    rpc: &str,
    key: &str,
    token: alloy::primitives::Address,
    amount: alloy::primitives::U256,
    spenders: &[alloy::primitives::Address],
) {
    let provider = wallet(rpc, key);
    let token = cairn_bindings::DevToken::new(token, &provider);
    let mined = |receipt: alloy::rpc::types::TransactionReceipt| {
        assert!(receipt.status(), "funding reverted")
    };
    mined(
        token
            .mint(address_of(key), amount)
            .send()
            .await
            .expect("mint sent")
            .get_receipt()
            .await
            .expect("mined"),
    );
    for spender in spenders {
        let approval = token
            .approve(*spender, alloy::primitives::U256::MAX)
            .send()
            .await
            .expect("approve sent");
        mined(approval.get_receipt().await.expect("mined"));
    }
}

/// The repository root, found from this crate's manifest.
/// The metric names a Prometheus text (`# HELP name …` lines) declares
/// that `docs/operations.md` does not list in backticks.
pub fn undocumented_metrics(text: &str) -> Vec<String> {
    let docs = std::fs::read_to_string(repo_root().join("docs/operations.md"))
        .expect("docs/operations.md");
    let declared: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# HELP "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    assert!(!declared.is_empty(), "no `# HELP` line in:\n{text}");
    declared.into_iter().filter(|name| !docs.contains(&format!("`{name}`"))).collect()
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The anvil binary: `CAIRN_ANVIL` if set, else the one `scripts/bootstrap`
/// installed under `node_modules`.
pub fn anvil_path() -> PathBuf {
    if let Some(path) = std::env::var_os("CAIRN_ANVIL") {
        return PathBuf::from(path);
    }
    let path = repo_root().join("node_modules/.bin/anvil");
    assert!(
        path.exists(),
        "anvil not found at {}; run scripts/bootstrap (or set CAIRN_ANVIL)",
        path.display()
    );
    path
}

/// A fresh anvil on a free loopback port, stopped when the value drops.
pub fn anvil() -> AnvilInstance {
    Anvil::new().path(anvil_path()).args(["--host", "127.0.0.1"]).spawn()
}

/// An anvil that keeps its chain in a state file, so it can be stopped and
/// started again on the same port with its blocks (not its pending
/// transactions) intact, as a node restart does.
#[derive(Debug)]
pub struct RestartableAnvil {
    child: Option<std::process::Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RestartableAnvil {
    pub fn start() -> Self {
        let mut anvil =
            Self { child: None, port: free_port(), dir: tempfile::tempdir().expect("temp dir") };
        // A free port can be taken between asking and binding: try another.
        for _ in 0..5 {
            if anvil.spawn() {
                return anvil;
            }
            anvil.port = free_port();
        }
        panic!("anvil exited at start five times");
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts anvil on `self.port`; false if it exited before answering.
    fn spawn(&mut self) -> bool {
        let state = self.dir.path().join("state.json");
        let mut child = std::process::Command::new(anvil_path())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string(), "--state"])
            .arg(&state)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("anvil starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !rpc_answers(self.port) {
            if child.try_wait().ok().flatten().is_some() {
                return false;
            }
            assert!(std::time::Instant::now() < deadline, "anvil did not answer within 30 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        self.child = Some(child);
        true
    }

    /// Stops anvil as a service manager would (SIGTERM: it writes its state
    /// and exits; its transaction pool is lost) and starts it again.
    pub fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        assert!(self.spawn(), "anvil exited on restart");
    }
}

impl Drop for RestartableAnvil {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn rpc_answers(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut response = String::new();
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_to_string(&mut response).is_ok()
        && response.starts_with("HTTP/1.1 200")
}

/// A fresh store on each backend: a SQLite file in a temporary directory and
/// a new database on the PostgreSQL server at 127.0.0.1:5432 (or
/// `CAIRN_TEST_POSTGRES`). Call [`TestStores::cleanup`] at the end to drop the
/// database.
#[derive(Debug)]
pub struct TestStores {
    pub sqlite: cairn_store::Store,
    pub postgres: cairn_store::Store,
    dir: tempfile::TempDir,
    server: String,
    database: String,
}

/// The test SQLite file in `dir`.
fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("test.db").display())
}

pub async fn stores() -> TestStores {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite = cairn_store::Store::open(&format!("{}?mode=rwc", sqlite_url(&dir)))
        .await
        .expect("SQLite store");
    let server = std::env::var("CAIRN_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let database = format!("cairn_test_{}_{}", std::process::id(), nanos % 1_000_000_000_000);
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL at 127.0.0.1:5432 (set CAIRN_TEST_POSTGRES for another server)");
    sqlx::query(&format!("CREATE DATABASE {database}"))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    let postgres =
        cairn_store::Store::open(&format!("{server}/{database}")).await.expect("PostgreSQL store");
    TestStores { sqlite, postgres, dir, server, database }
}

impl TestStores {
    /// Where the SQLite store is, for tests that open the file themselves.
    pub fn sqlite_url(&self) -> String {
        sqlite_url(&self.dir)
    }

    pub fn both(&self) -> [&cairn_store::Store; 2] {
        [&self.sqlite, &self.postgres]
    }

    /// The URL of the PostgreSQL database, for a process of its own.
    pub fn postgres_url(&self) -> String {
        format!("{}/{}", self.server, self.database)
    }

    /// Drops the PostgreSQL database.
    pub async fn cleanup(self) {
        self.postgres.close().await;
        self.sqlite.close().await;
        let admin =
            sqlx::AnyPool::connect(&format!("{}/postgres", self.server)).await.expect("PostgreSQL");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.database))
            .execute(&admin)
            .await
            .expect("drop");
        admin.close().await;
    }
}

/// Indexes `event` alone in a new block after the store's cursor on
/// `chain`, as the indexer would; returns the block's number.
pub async fn index_event(
    store: &cairn_store::Store,
    chain: &str,
    event: cairn_store::ChainEvent,
) -> u64 {
    use alloy::primitives::{B256, keccak256};
    let cursor = store.cursor(chain).await.expect("cursor");
    let (number, parent) = cursor.map_or((1, B256::ZERO), |c| (c.block_number + 1, c.block_hash));
    let body = serde_json::to_vec(&event).expect("events serialize");
    let block = cairn_store::BlockRecord {
        number,
        hash: keccak256([parent.as_slice(), &body].concat()),
        parent_hash: parent,
        time: number * 12,
    };
    let record = cairn_store::EventRecord {
        block_number: number,
        log_index: 0,
        block_hash: block.hash,
        tx_hash: format!("{:#x}", keccak256(block.hash)),
        contract: format!("{:#x}", alloy::primitives::Address::repeat_byte(0xee)),
        event,
    };
    let batch = cairn_store::BlockBatch {
        first_block: number,
        last: block,
        headers: vec![block],
        events: vec![record],
        finalized_block: 0,
    };
    store.apply(chain, &batch).await.expect("event indexed");
    number
}

/// Indexes a `Deposited` event (balance = `amount`) for `account`, as
/// [`index_event`] does.
pub async fn index_deposit(
    store: &cairn_store::Store,
    chain: &str,
    account: alloy::primitives::Address,
    asset: alloy::primitives::Address,
    amount: alloy::primitives::U256,
) {
    let event = cairn_store::ChainEvent::Deposited {
        account: format!("{account:#x}"),
        asset: format!("{asset:#x}"),
        amount,
        balance: amount,
    };
    index_event(store, chain, event).await;
}

/// A local Arweave gateway (npm `arlocal`, installed by `scripts/bootstrap`)
/// on a free loopback port, stopped when the value drops. Its data lives in
/// its own directory and survives [`Arlocal::restart`].
#[derive(Debug)]
pub struct Arlocal {
    child: Option<std::process::Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl Arlocal {
    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Gives `address` a balance (winston) to pay for transactions.
    pub fn mint(&self, address: &str, winston: u64) {
        http_get(self.port, &format!("/mint/{address}/{winston}")).expect("arlocal mints");
    }

    /// Mines a block: posted transactions (and their bundles) become readable.
    pub fn mine(&self) {
        http_get(self.port, "/mine").expect("arlocal mines");
    }

    /// Mines every `every` on a thread until the returned value drops
    /// (attempts while the gateway is stopped are skipped).
    pub fn keep_mining(&self, every: std::time::Duration) -> Miner {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let port = self.port;
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = http_get(port, "/mine");
                std::thread::sleep(every);
            }
        });
        Miner { stop, thread: Some(thread) }
    }

    /// Kills the gateway (the port stops answering).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, with what it stored.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = spawn_arlocal(self.port, self.dir.path());
        assert!(wait_for_arlocal(self.port, &mut child), "arlocal exited on restart");
        self.child = Some(child);
    }
}

impl Drop for Arlocal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Mines an arlocal on a thread; stops when dropped.
#[derive(Debug)]
pub struct Miner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.starts_with("HTTP/1.1 200").then_some(response)
}

fn spawn_arlocal(port: u16, dir: &std::path::Path) -> std::process::Child {
    let binary = repo_root().join("node_modules/.bin/arlocal");
    assert!(binary.exists(), "arlocal not found at {}; run scripts/bootstrap", binary.display());
    // arlocal writes a `logs` file into its working directory, and keeps
    // its database in one per-user directory unless told otherwise, which
    // each new instance deletes: concurrent instances would break each
    // other (`SQLITE_READONLY`).
    std::process::Command::new(binary)
        .arg(port.to_string())
        .args(["--dbpath", "db", "--persist", "--hidelogs"])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("arlocal starts")
}

/// Waits until arlocal answers `/info`; false if it exited first (its port
/// was taken in the meantime).
fn wait_for_arlocal(port: u16, child: &mut std::process::Child) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while http_get(port, "/info").is_none() {
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        assert!(std::time::Instant::now() < deadline, "arlocal did not answer within 30 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    true
}

/// Starts arlocal and waits until it answers `/info`. A free port can be
/// taken by another test between asking and binding; then it tries another.
pub fn arlocal() -> Arlocal {
    let dir = tempfile::tempdir().expect("temp dir");
    for _ in 0..5 {
        let port = free_port();
        let mut child = spawn_arlocal(port, dir.path());
        if wait_for_arlocal(port, &mut child) {
            return Arlocal { child: Some(child), port, dir };
        }
    }
    panic!("arlocal exited at start five times");
}

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind loopback")
        .local_addr()
        .expect("addr")
        .port()
}

/// Mints `amount` of the deployment's `DevToken` to `key`'s account and
/// deposits it into the settlement vault.
pub async fn deposit_dev(
    rpc: &str,
    deployment: &cairn_bindings::Deployment,
    key: &str,
    amount: alloy::primitives::U256,
) {
    fund_dev_token(rpc, key, deployment.stake_token, amount, &[deployment.settlement]).await;
    cairn_bindings::Settlement::new(deployment.settlement, wallet(rpc, key))
        .deposit(deployment.stake_token, amount)
        .mined()
        .await;
}
