//! The settlement steps against real stores (a SQLite file and a fresh
//! PostgreSQL database).

mod bundler;
mod outbox;
mod pipeline;
mod receipt;
mod restarts;
mod submitter;
mod upload;
mod verify;

/// Indexes `deployment` on `anvil` up to the head into `store`, every block
/// final at once.
pub(crate) async fn index(
    store: &cairn_store::Store,
    anvil: &alloy::node_bindings::AnvilInstance,
    deployment: &cairn_bindings::Deployment,
) {
    let settings = cairn_indexer::IndexerSettings {
        chain: "eip155:31337".into(),
        contracts: cairn_indexer::Contracts {
            registry: deployment.registry,
            settlement: deployment.settlement,
        },
        start_block: deployment.start_block,
        finality_depth: 0,
        tuning: cairn_config::IndexerConfig::default(),
    };
    cairn_indexer::Indexer::new(
        store.clone(),
        &[anvil.endpoint_url()],
        settings,
        std::sync::Arc::new(cairn_indexer::Metrics::default()),
    )
    .catch_up()
    .await
    .expect("indexed");
}

/// The throwaway JWK wallet the upload tests pay arlocal with.
pub(crate) const ARWEAVE_WALLET: &str = include_str!("../../../arweave/fixtures/test-wallet.json");

/// An uploader to `node` paying with the test wallet (minted a balance).
pub(crate) fn uploader(
    store: &cairn_store::Store,
    node: &cairn_test_utils::Arlocal,
) -> cairn_settlement::Uploader {
    let wallet = cairn_arweave::transaction::Wallet::from_jwk(ARWEAVE_WALLET).expect("test wallet");
    node.mint(&wallet.address(), 1_000_000_000_000_000);
    cairn_settlement::Uploader {
        store: store.clone(),
        bundlers: Vec::new(),
        gateways: vec![cairn_settlement::Gateway::new(node.url().parse().expect("arlocal URL"))],
        wallet,
        initial_backoff_secs: 1,
        max_backoff_secs: 1,
        confirm_attempts: 5,
    }
}

/// Posts every due receipt to `node`, mines, and reads them back: the
/// batches they belong to become `uploaded`.
pub(crate) async fn store_receipts(store: &cairn_store::Store, node: &cairn_test_utils::Arlocal) {
    let uploader = uploader(store, node);
    let far = i64::MAX / 2;
    let posted = uploader.drain_once(far).await.expect("drain");
    assert!(posted.posted > 0, "nothing to post: {posted:?}");
    node.mine();
    let confirmed = uploader.drain_once(far).await.expect("drain");
    assert_eq!(confirmed.confirmed, posted.posted, "{confirmed:?}");
}

/// A submitter sending from dev key 0 (the dev deployment's settlement
/// signer) through `anvil`.
pub(crate) fn submitter(
    anvil: &alloy::node_bindings::AnvilInstance,
    deployment: &cairn_bindings::Deployment,
) -> cairn_settlement::Submitter {
    cairn_settlement::Submitter::connect(
        anvil.endpoint_url(),
        cairn_test_utils::DEV_KEY_0.parse().expect("dev key"),
        31337,
        deployment.settlement,
        cairn_settlement::FeePolicy::default(),
    )
}

/// `intent` as the store keeps it, with `signature` (tests that do not go
/// through the API may leave it zeroed).
pub(crate) fn stored_intent(
    intent: &cairn_core::eip712::PaymentIntent,
    domain: &alloy_sol_types::Eip712Domain,
    signature: [u8; 65],
) -> cairn_store::NewIntent {
    let hash = alloy_sol_types::SolStruct::eip712_signing_hash(intent, domain);
    cairn_store::NewIntent::new(hash, intent, signature)
}

/// Dev key 0 as a settlement signer that keeps every request it signs.
#[derive(Debug)]
pub(crate) struct RecordingSigner {
    key: cairn_signer::LocalSigner,
    requests: std::sync::Mutex<Vec<cairn_signer::SigningRequest>>,
}

impl RecordingSigner {
    pub(crate) fn dev() -> Self {
        Self {
            key: cairn_signer::LocalSigner::from_hex(cairn_test_utils::DEV_KEY_0).expect("dev key"),
            requests: std::sync::Mutex::default(),
        }
    }

    pub(crate) fn requests(&self) -> Vec<cairn_signer::SigningRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl cairn_signer::RequestSigner for RecordingSigner {
    fn address(&self) -> alloy_primitives::Address {
        cairn_signer::RequestSigner::address(&self.key)
    }

    fn sign_request<'a>(
        &'a self,
        request: &'a cairn_signer::SigningRequest,
    ) -> cairn_signer::SignFuture<'a> {
        self.requests.lock().unwrap().push(request.clone());
        self.key.sign_request(request)
    }
}

/// The pipeline for the dev deployment on `anvil` (dev key 0 signs receipts
/// and commitments and sends the transactions), closing under `policy`.
pub(crate) fn pipeline(
    store: &cairn_store::Store,
    anvil: &alloy::node_bindings::AnvilInstance,
    deployment: &cairn_bindings::Deployment,
    policy: cairn_core::netting::BatchPolicy,
) -> cairn_settlement::Pipeline {
    let key: std::sync::Arc<cairn_signer::LocalSigner> = std::sync::Arc::new(
        cairn_signer::LocalSigner::from_hex(cairn_test_utils::DEV_KEY_0).expect("dev key"),
    );
    cairn_settlement::Pipeline {
        store: store.clone(),
        chain: "eip155:31337".into(),
        domain: cairn_core::eip712::settlement_domain(31337, deployment.settlement),
        policy,
        receipt_signer: key.clone(),
        settlement_signer: key,
        max_receipt_bytes: cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
        submitter: Some(submitter(anvil, deployment)),
    }
}

/// A fresh anvil with the dev deployment, each of `payers` having deposited
/// `deposit` of its token, indexed into `store`.
pub(crate) struct Funded {
    pub(crate) anvil: alloy::node_bindings::AnvilInstance,
    pub(crate) deployer: alloy::providers::DynProvider,
    pub(crate) deployment: cairn_bindings::Deployment,
}

pub(crate) async fn funded(store: &cairn_store::Store, payers: &[&str], deposit: u128) -> Funded {
    let anvil = cairn_test_utils::anvil();
    let rpc = anvil.endpoint();
    let (deployer, deployment) =
        cairn_test_utils::deploy_dev(&rpc, 100 * 10u128.pow(18), 3600, 3600).await;
    for key in payers {
        cairn_test_utils::deposit_dev(
            &rpc,
            &deployment,
            key,
            alloy_primitives::U256::from(deposit),
        )
        .await;
    }
    index(store, &anvil, &deployment).await;
    Funded { anvil, deployer, deployment }
}
