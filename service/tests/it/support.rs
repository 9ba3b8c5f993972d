//! What the HTTP tests share: a chain with providers on it, indexed into a
//! store, the service state over that store, and request helpers.

use std::sync::Arc;

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, B256, U256, keccak256},
};
use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use cairn_auth::{JwtKey, SiweMessage, Timestamp};
use cairn_bindings::{Deployment, Registry};
use cairn_config::{AuthConfig, AuthDomain, IndexerConfig, ServiceConfig};
use cairn_core::eip712::{Slash, registry_domain};
use cairn_indexer::{Contracts, Indexer, IndexerSettings, Metrics};
use cairn_service::http::{AppState, EvmChain, app};
use cairn_signer::{LocalSigner, Signer, sign_typed};
use cairn_store::Store;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, anvil, deploy_dev,
    fund_dev_token, wallet,
};
use serde_json::Value;
use tower::ServiceExt;

pub(crate) const TOKEN: u128 = 1_000_000_000_000_000_000;
pub(crate) const MIN_STAKE: u128 = 100 * TOKEN;
pub(crate) const DOMAIN: &str = "cairn.test";
pub(crate) const OTHER_DOMAIN: &str = "other.test";
pub(crate) const SESSION_SECRET: [u8; 32] = [0x5e; 32];

/// An anvil with Cairn deployed and two providers:
/// - P1 (dev key 1, its own operator): 300 staked, then slashed 150; three
///   endpoints (two `rpc` on eip155:1, one on eip155:10).
/// - P2 (dev key 2, operated by dev key 3): 100 staked; an `rpc` and an
///   `archive` endpoint on eip155:1.
pub(crate) struct Chain {
    pub anvil: AnvilInstance,
    pub deployment: Deployment,
}

pub(crate) fn p1() -> Address {
    address_of(DEV_KEY_1)
}

pub(crate) fn p2() -> Address {
    address_of(DEV_KEY_2)
}

impl Chain {
    pub(crate) async fn with_providers() -> Self {
        let anvil = anvil();
        let rpc = anvil.endpoint();
        let (_, deployment) = deploy_dev(&rpc, MIN_STAKE, 3600, 3600).await;
        for key in [DEV_KEY_1, DEV_KEY_2] {
            fund_dev_token(
                &rpc,
                key,
                deployment.stake_token,
                U256::from(1_000 * TOKEN),
                &[deployment.registry],
            )
            .await;
        }
        let as_p1 = Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_1));
        as_p1.register(p1(), U256::from(300 * TOKEN)).mined().await;
        for (chain, url) in [
            ("eip155:1", "https://p1-a.example/rpc"),
            ("eip155:1", "wss://p1-b.example"),
            ("eip155:10", "https://p1-op.example"),
        ] {
            as_p1
                .addService(p1(), chain.into(), "rpc".into(), url.into(), B256::ZERO)
                .mined()
                .await;
        }
        let as_p2 = Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_2));
        as_p2.register(address_of(DEV_KEY_3), U256::from(100 * TOKEN)).mined().await;
        let as_p2_operator = Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_3));
        for (kind, url) in
            [("rpc", "https://p2.example/"), ("archive", "https://p2-archive.example")]
        {
            as_p2_operator
                .addService(p2(), "eip155:1".into(), kind.into(), url.into(), B256::ZERO)
                .mined()
                .await;
        }
        let slasher = LocalSigner::from_hex(DEV_KEY_0).unwrap();
        let slash = Slash {
            provider: p1(),
            amount: U256::from(150 * TOKEN),
            reason: 1,
            evidenceHash: keccak256("wrong answers"),
            receiptId: keccak256("receipt"),
            nonce: U256::from(1),
            deadline: u64::MAX,
        };
        let signature = sign_typed(&slasher, &slash, &registry_domain(31337, deployment.registry))
            .await
            .unwrap();
        Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_0))
            .slash(Registry::Slash::from(&slash), signature.to_bytes().to_vec().into())
            .mined()
            .await;
        Self { anvil, deployment }
    }

    pub(crate) fn rpc(&self) -> String {
        self.anvil.endpoint()
    }

    /// Indexes everything up to the head into `store`.
    pub(crate) async fn index_into(&self, store: &Store) {
        let settings = IndexerSettings {
            chain: "eip155:31337".into(),
            contracts: Contracts {
                registry: self.deployment.registry,
                settlement: self.deployment.settlement,
            },
            start_block: self.deployment.start_block,
            finality_depth: 2,
            tuning: IndexerConfig::default(),
        };
        let mut indexer = Indexer::new(
            store.clone(),
            &[self.anvil.endpoint_url()],
            settings,
            Arc::new(Metrics::default()),
        );
        indexer.catch_up().await.expect("indexes");
    }

    pub(crate) fn evm_chain(&self) -> EvmChain {
        EvmChain {
            chain_id: 31337,
            registry: self.deployment.registry,
            settlement: self.deployment.settlement,
            min_stake: U256::from(MIN_STAKE),
            rpc: wallet(&self.rpc(), DEV_KEY_0),
            max_batch_deltas: cairn_core::netting::DEFAULT_MAX_DELTAS,
        }
    }

    /// Service state over `store` with the test sign-in domains and no rate
    /// limits (tests that check limits set their own).
    pub(crate) fn state(&self, store: &Store, service: ServiceConfig) -> AppState {
        AppState::new(store.clone(), jwt_key(), auth_config(), service, vec![self.evm_chain()])
    }
}

pub(crate) fn jwt_key() -> JwtKey {
    JwtKey::new(&SESSION_SECRET, "cairn").unwrap()
}

pub(crate) fn auth_config() -> AuthConfig {
    AuthConfig {
        domains: vec![
            AuthDomain { domain: DOMAIN.into(), uris: vec![format!("https://{DOMAIN}/")] },
            AuthDomain {
                domain: OTHER_DOMAIN.into(),
                uris: vec![format!("https://{OTHER_DOMAIN}/")],
            },
        ],
        ..AuthConfig::default()
    }
}

/// Service settings with rate limits off and a cache that never serves a
/// stale answer, so each test sees what it just wrote.
pub(crate) fn service_config() -> ServiceConfig {
    let mut config = ServiceConfig { discovery_cache_ms: 0, ..ServiceConfig::default() };
    config.rate_limit.anonymous_per_second = 0;
    config.rate_limit.wallet_per_second = 0;
    config
}

pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The problem code of an error answer.
    pub(crate) fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("<no code>")
    }
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

pub(crate) async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(
            headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "errors are problem documents: {status} {body}"
        );
        assert!(body["code"].is_string() && body["status"] == status.as_u16(), "{body}");
    }
    Answer { status, headers, body }
}

pub(crate) async fn get(app: &Router, uri: &str) -> Answer {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub(crate) async fn get_with_token(app: &Router, uri: &str, token: &str) -> Answer {
    let request = Request::get(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    send(app, request).await
}

pub(crate) fn json_request(
    method: &str,
    uri: &str,
    body: &Value,
    token: Option<&str>,
) -> Request<Body> {
    let mut builder =
        Request::builder().method(method).uri(uri).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    builder.body(Body::from(body.to_string())).unwrap()
}

pub(crate) async fn post(app: &Router, uri: &str, body: Value) -> Answer {
    send(app, json_request("POST", uri, &body, None)).await
}

/// A fresh nonce for `domain`.
pub(crate) async fn nonce(app: &Router, domain: &str) -> String {
    let answer = post(app, "/v1/auth/nonce", serde_json::json!({ "domain": domain })).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["nonce"].as_str().unwrap().to_owned()
}

/// A SIWE message for `address` on the test domain, valid now.
pub(crate) fn siwe_message(address: Address, nonce: &str) -> SiweMessage {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
        as i64;
    SiweMessage {
        scheme: Some("https".into()),
        domain: DOMAIN.into(),
        address,
        statement: Some("Sign in to Cairn.".into()),
        uri: format!("https://{DOMAIN}/login"),
        version: "1".into(),
        chain_id: 31337,
        nonce: nonce.into(),
        issued_at: Timestamp::from_unix(now - 5),
        expiration_time: Some(Timestamp::from_unix(now + 600)),
        not_before: None,
        request_id: None,
        resources: vec![],
    }
}

pub(crate) async fn sign_message(key: &str, message: &SiweMessage) -> String {
    let signer = LocalSigner::from_hex(key).unwrap();
    let signature = signer.sign_digest(message.eip191_hash()).await.unwrap();
    format!("0x{}", alloy::hex::encode(signature.to_bytes()))
}

/// Signs `key`'s account in with SIWE; returns the session token.
pub(crate) async fn sign_in(app: &Router, key: &str) -> String {
    let nonce = nonce(app, DOMAIN).await;
    let message = siwe_message(address_of(key), &nonce);
    let signature = sign_message(key, &message).await;
    let answer = post(
        app,
        "/v1/auth/siwe",
        serde_json::json!({ "message": message.to_string(), "signature": signature }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    answer.body["token"].as_str().unwrap().to_owned()
}

/// Both backends with the chain indexed into each, and an app per backend.
pub(crate) async fn apps(chain: &Chain) -> (cairn_test_utils::TestStores, Vec<(String, Router)>) {
    let stores = cairn_test_utils::stores().await;
    let mut apps = Vec::new();
    for store in stores.both() {
        chain.index_into(store).await;
        apps.push((format!("{:?}", store.backend()), app(chain.state(store, service_config()))));
    }
    (stores, apps)
}

/// Deploys a `DevWalletFactory` (counterfactual ERC-1271 wallets).
pub(crate) async fn wallet_factory(chain: &Chain) -> Address {
    let deployed = cairn_bindings::DevWalletFactory::deploy(wallet(&chain.rpc(), DEV_KEY_0))
        .await
        .expect("factory deploys");
    *deployed.address()
}

/// A raw 65-byte ECDSA signature of `digest` by `key`, hex.
pub(crate) async fn sign_digest_hex(key: &str, digest: B256) -> Vec<u8> {
    let signer = LocalSigner::from_hex(key).unwrap();
    signer.sign_digest(digest).await.unwrap().to_bytes().to_vec()
}

/// Writes the hex key `key` to `path` with mode 600, as `cairn` demands of
/// key files; returns `path`.
pub(crate) fn write_key_file(path: &std::path::Path, key: &str) -> std::path::PathBuf {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).unwrap();
    file.write_all(key.as_bytes()).unwrap();
    path.to_owned()
}

pub(crate) fn hex0x(bytes: &[u8]) -> String {
    format!("0x{}", alloy::hex::encode(bytes))
}

/// An ERC-6492 signature: `abi.encode(factory, calldata, signature) ‖ magic`.
pub(crate) fn erc6492(factory: Address, calldata: Vec<u8>, signature: Vec<u8>) -> Vec<u8> {
    use alloy::sol_types::SolValue;
    let mut wrapped = (
        factory,
        alloy::primitives::Bytes::from(calldata),
        alloy::primitives::Bytes::from(signature),
    )
        .abi_encode_params();
    wrapped.extend_from_slice(&cairn_auth::siwe::ERC6492_SUFFIX);
    wrapped
}

/// A Solana sign-in of `key` against the input issued with a nonce.
pub(crate) fn siws_body(
    key: &ed25519_dalek::SigningKey,
    nonce: &str,
    input: &cairn_auth::SignInInput,
) -> Value {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use ed25519_dalek::Signer as _;
    let address = bs58::encode(key.verifying_key().as_bytes()).into_string();
    let message = input.message(&address);
    serde_json::json!({
        "nonce": nonce,
        "address": address,
        "public_key": address,
        "signed_message": STANDARD.encode(message.as_bytes()),
        "signature": STANDARD.encode(key.sign(message.as_bytes()).to_bytes()),
    })
}

/// A nonce and its Sign In With Solana input.
pub(crate) async fn siws_nonce(app: &Router, request: Value) -> (String, cairn_auth::SignInInput) {
    let answer = post(app, "/v1/auth/nonce", request).await;
    assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
    let input = serde_json::from_value(answer.body["siws_input"].clone()).unwrap();
    (answer.body["nonce"].as_str().unwrap().to_owned(), input)
}

impl Chain {
    /// Mints `amount` of the dev token to `key`'s account and deposits it
    /// into the settlement vault.
    pub(crate) async fn deposit(&self, key: &str, amount: u128) {
        cairn_test_utils::deposit_dev(&self.rpc(), &self.deployment, key, U256::from(amount)).await;
    }
}

/// A payment intent signed by `key` under `domain`.
pub(crate) async fn signed_intent(
    key: &str,
    intent: &cairn_core::eip712::PaymentIntent,
    domain: &alloy::sol_types::Eip712Domain,
) -> String {
    let signer = LocalSigner::from_hex(key).unwrap();
    hex0x(&sign_typed(&signer, intent, domain).await.unwrap().to_bytes())
}
