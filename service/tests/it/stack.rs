//! A whole local Cairn for end-to-end tests: anvil (restartable), arlocal
//! (mined continuously), the contracts deployed with deposits for three
//! payers, `cairn index`, and `cairn serve` with the batcher, started and
//! SIGKILLed at will.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256},
    sol_types::SolStruct,
};
use cairn_bindings::Deployment;
use cairn_core::eip712::{PaymentIntent, settlement_domain};
use cairn_test_utils::{
    Arlocal, DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, RestartableAnvil, address_of, arlocal,
    deposit_dev, free_port, wallet,
};
use serde_json::Value;

use crate::{
    Running, cairn_with_dir, spawn_cairn, stderr,
    support::{signed_intent, write_key_file},
};

pub(crate) const TOKEN: u128 = 1_000_000_000_000_000_000;
/// The keys that deposit into the vault and sign intents.
pub(crate) const PAYERS: [&str; 3] = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
const ARWEAVE_WALLET: &str = include_str!("../../../crates/arweave/fixtures/test-wallet.json");

/// Everything `cairn serve` runs against, and the service itself.
pub(crate) struct Stack {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) anvil: RestartableAnvil,
    pub(crate) node: Arlocal,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) deployment: Deployment,
    pub(crate) base: String,
    pub(crate) http: reqwest::blocking::Client,
    pub(crate) serve: Option<Running>,
    pub(crate) indexer: Option<Running>,
    _miner: cairn_test_utils::Miner,
}

impl Stack {
    pub(crate) fn start(store_url: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let anvil = RestartableAnvil::start();
        let node = arlocal();
        std::fs::write(dir.path().join("arweave-wallet.json"), ARWEAVE_WALLET).unwrap();
        let key_file = write_key_file(&dir.path().join("settlement.key"), DEV_KEY_0);
        let port = free_port();
        let mut env = chain_env(dir.path(), &anvil.endpoint(), port);
        env.extend(
            [
                ("CAIRN_SETTLEMENT__ENABLED", "true".to_owned()),
                ("CAIRN_SETTLEMENT__TICK_MS", "100".into()),
                ("CAIRN_SETTLEMENT__SIGNER_KEY_FILE", format!("\"{}\"", key_file.display())),
                ("CAIRN_ARWEAVE__GATEWAYS", format!("[\"{}\"]", node.url())),
                ("CAIRN_ARWEAVE__MAX_BACKOFF_SECS", "1".into()),
                // arlocal sometimes mines a large bundle's transaction before it
                // has unbundled it, and then never serves its items: post again
                // soon rather than after the default 30 read-backs.
                ("CAIRN_ARWEAVE__CONFIRM_ATTEMPTS", "5".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v)),
        );
        if let Some(url) = &store_url {
            env.push(("CAIRN_STORE__URL".into(), format!("\"{url}\"")));
        }
        let borrowed: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let deployment = deploy(dir.path(), &borrowed);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        for key in PAYERS {
            runtime.block_on(deposit_dev(
                &anvil.endpoint(),
                &deployment,
                key,
                U256::from(100 * TOKEN),
            ));
        }
        let indexer = spawn_cairn(dir.path(), &["index"], &borrowed);
        let miner = node.keep_mining(Duration::from_millis(200));
        let stack = Self {
            dir,
            anvil,
            node,
            env,
            deployment,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            serve: None,
            indexer: Some(indexer),
            _miner: miner,
        };
        stack.fund_arweave_wallet();
        stack.wait_for_deposits(store_url.as_deref());
        stack
    }

    /// Waits until the indexer holds every payer's deposit: intents are
    /// reserved against indexed deposits, so intents posted before then
    /// would race the indexer and some be refused.
    fn wait_for_deposits(&self, store_url: Option<&str>) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = runtime
            .block_on(cairn_store::Store::open_configured(store_url, self.dir.path()))
            .unwrap();
        let asset = format!("{:#x}", self.deployment.stake_token);
        self.wait("the payers' deposits to be indexed", || {
            PAYERS.iter().all(|key| {
                let payer = format!("{:#x}", address_of(key));
                runtime
                    .block_on(store.balance("eip155:31337", &payer, &asset))
                    .is_ok_and(|balance| balance == U256::from(100 * TOKEN))
            })
        });
        runtime.block_on(store.close());
    }

    /// The stack's settings as `cairn` takes them.
    pub(crate) fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// Runs a one-shot `cairn` command against the stack.
    pub(crate) fn cairn(&self, args: &[&str]) -> std::process::Output {
        cairn_with_dir(self.dir.path(), args, &self.env())
    }

    pub(crate) fn start_indexer(&mut self) {
        self.indexer = Some(spawn_cairn(self.dir.path(), &["index"], &self.env()));
    }

    pub(crate) fn fund_arweave_wallet(&self) {
        let wallet = cairn_arweave::transaction::Wallet::from_jwk(ARWEAVE_WALLET).unwrap();
        self.node.mint(&wallet.address(), 1_000_000_000_000_000);
    }

    /// (Re)starts `cairn serve` with `extra` settings on top of the stack's.
    pub(crate) fn serve(&mut self, extra: &[(&str, &str)]) {
        self.kill();
        let mut env = self.env();
        env.extend_from_slice(extra);
        let serve = spawn_cairn(self.dir.path(), &["serve"], &env);
        self.serve = Some(serve);
        self.wait("the service to answer", || {
            self.http.get(format!("{}/healthz", self.base)).send().is_ok()
        });
    }

    /// Starts the service set to stop at `boundary`, waits until it is
    /// there (doing `meanwhile` first), and SIGKILLs it.
    pub(crate) fn crash_at(
        &mut self,
        boundary: &str,
        window_seconds: &str,
        meanwhile: impl FnOnce(&mut Self),
    ) {
        self.serve(&[
            ("CAIRN_FAILPOINT", boundary),
            ("CAIRN_SETTLEMENT__WINDOW_SECONDS", window_seconds),
        ]);
        meanwhile(self);
        let reached = format!("failpoint {boundary} reached");
        self.wait(&reached, || self.serve.as_ref().is_some_and(|s| s.log().contains(&reached)));
        self.kill();
    }

    /// SIGKILL (`Child::kill`), as the OOM killer or a power cut would.
    pub(crate) fn kill(&mut self) {
        self.serve = None;
    }

    /// Polls `done` for up to a minute.
    pub(crate) fn wait(&self, what: &str, done: impl FnMut() -> bool) {
        self.wait_up_to(Duration::from_secs(60), what, done);
    }

    pub(crate) fn wait_up_to(&self, limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + limit;
        while !done() {
            if Instant::now() > deadline {
                let log = self.serve.as_ref().map(Running::log).unwrap_or_default();
                panic!("timed out waiting for {what}; service log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn post_intents(&self, body: &Value) -> Option<Value> {
        let response = self.http.post(format!("{}/v1/intents", self.base)).json(body).send();
        response.ok()?.json().ok()
    }

    pub(crate) fn batch(&self, id: u64) -> Value {
        self.http
            .get(format!("{}/v1/batches/{id}", self.base))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_default()
    }

    pub(crate) fn rpc(&self) -> alloy::providers::DynProvider {
        wallet(&self.anvil.endpoint(), DEV_KEY_0)
    }

    /// A 2-of-3 group of `cairn signer party` processes in `signer/` of the
    /// stack's directory, made the registry's slasher (`slasher`) and the
    /// contract's settlement signer (`settles`) by the owner.
    pub(crate) fn threshold_group(&self, slasher: bool, settles: bool) -> Group {
        let dir = self.dir.path().join("signer");
        std::fs::create_dir(&dir).unwrap();
        let (base, parties, key) = crate::threshold_processes::start_group(&dir);
        let owner = self.rpc();
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            if slasher {
                let registry = cairn_bindings::Registry::new(self.deployment.registry, &owner);
                registry.setSlasher(key.address).send().await.unwrap().get_receipt().await.unwrap();
                assert_eq!(registry.slasher().call().await.unwrap(), key.address);
            }
            if settles {
                let vault = cairn_bindings::Settlement::new(self.deployment.settlement, &owner);
                let sent = vault.setSettlementSigner(key.address).send().await.unwrap();
                sent.get_receipt().await.unwrap();
                assert_eq!(vault.settlementSigner().call().await.unwrap(), key.address);
            }
        });
        let quoted = |name: &str| format!("\"{}\"", dir.join(name).display());
        let env = vec![
            ("CAIRN_THRESHOLD__GROUP_FILE".to_owned(), quoted("group.toml")),
            ("CAIRN_THRESHOLD__GROUP_KEY_FILE".to_owned(), quoted("group-key.json")),
        ];
        Group { dir, base, parties, key, env }
    }
}

/// A threshold group's party processes, killed and restarted at will.
pub(crate) struct Group {
    pub(crate) dir: std::path::PathBuf,
    /// Party `i` listens on `base + i`.
    pub(crate) base: u16,
    pub(crate) parties: Vec<Option<Running>>,
    pub(crate) key: cairn_threshold::GroupKey,
    env: Vec<(String, String)>,
}

impl Group {
    /// The `[threshold]` settings naming this group.
    pub(crate) fn env(&self) -> Vec<(&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// SIGKILLs party `index`.
    pub(crate) fn stop(&mut self, index: usize) {
        drop(self.parties[index].take());
    }

    /// Starts party `index` again and waits until it listens.
    pub(crate) fn start(&mut self, index: usize) {
        self.parties[index] = Some(crate::threshold_processes::party(&self.dir, index as u16));
        let port = self.base + index as u16;
        crate::wait_for("a party to listen again", || crate::listening(port));
    }
}

/// What `cairn index` and `cairn serve` need to run against the chain at
/// `rpc` with their data in `dir`: the service on `port` without rate
/// limits, the indexer polling every 100 ms with its metrics on a free port.
pub(crate) fn chain_env(dir: &Path, rpc: &str, port: u16) -> Vec<(String, String)> {
    [
        ("CAIRN_DATA_DIR", dir.display().to_string()),
        ("CAIRN_EVM__RPC_URLS", format!("[\"{rpc}\"]")),
        ("CAIRN_EVM__FINALITY_DEPTH", "2".into()),
        ("CAIRN_INDEXER__POLL_INTERVAL_MS", "100".into()),
        ("CAIRN_INDEXER__METRICS_LISTEN", format!("\"127.0.0.1:{}\"", free_port())),
        ("CAIRN_SERVICE__LISTEN", format!("\"127.0.0.1:{port}\"")),
        ("CAIRN_SERVICE__RATE_LIMIT__ANONYMOUS_PER_SECOND", "0".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Deploys Cairn with a dev token as an operator does (`cairn deploy evm`,
/// deployer dev key 0) with `env`; the deployment it wrote into `dir`.
pub(crate) fn deploy(dir: &Path, env: &[(&str, &str)]) -> Deployment {
    let mut deploy_env = env.to_vec();
    deploy_env.push(("CAIRN_DEPLOYER_KEY", DEV_KEY_0));
    let deployed = cairn_with_dir(dir, &["deploy", "evm", "--dev-token"], &deploy_env);
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    Deployment::read(&dir.join("deployment.json")).unwrap()
}

/// Signed intents as `POST /v1/intents` takes them, their digests, and what
/// each payee is owed by them.
pub(crate) struct SignedIntents {
    pub(crate) bodies: Vec<Value>,
    pub(crate) hashes: Vec<B256>,
    pub(crate) owed: Vec<(Address, U256)>,
}

/// The payees intents go to: intent `n` pays `PAYEES[n % 5]`.
pub(crate) fn payees() -> [Address; 5] {
    std::array::from_fn(|i| Address::repeat_byte(0x50 + i as u8))
}

/// Intent `n` for each `n` in `nonces`: payer `PAYERS[n % 3]`, payee
/// `payees()[n % 5]`, `amount(n)` of the deployment's token, nonce `n`.
pub(crate) fn signed_intents(
    deployment: &Deployment,
    nonces: std::ops::Range<u64>,
    amount: impl Fn(u64) -> U256,
) -> SignedIntents {
    let domain = settlement_domain(31337, deployment.settlement);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut signed = SignedIntents { bodies: Vec::new(), hashes: Vec::new(), owed: Vec::new() };
    for n in nonces {
        let key = PAYERS[(n % 3) as usize];
        let intent = PaymentIntent {
            payer: address_of(key),
            payee: payees()[(n % 5) as usize],
            asset: deployment.stake_token,
            amount: amount(n),
            nonce: U256::from(n),
            validUntil: u64::MAX,
        };
        let signature = runtime.block_on(signed_intent(key, &intent, &domain));
        signed.hashes.push(intent.eip712_signing_hash(&domain));
        signed.owed.push((intent.payee, intent.amount));
        signed.bodies.push(serde_json::json!({ "intent": intent, "signature": signature }));
    }
    signed
}
