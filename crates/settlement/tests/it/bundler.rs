//! The bundler path: receipts go first to a service with the
//! Turbo-compatible upload API (`POST /v1/tx`, raw data item), and only what
//! no bundler takes goes to the gateway in an L1 transaction; either way the
//! item is confirmed by reading it back from the gateway.
//!
//! No Turbo-compatible bundler runs on this machine, so the test runs a
//! small one: it checks each item it is given (structure and signature),
//! answers with the item's id as Turbo does, and bundles it into arlocal
//! with its own wallet — the real gateway does the rest.

use std::net::SocketAddr;

use axum::{Json, Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use cairn_arweave::{DataItem, transaction::Wallet};
use cairn_core::eip712::settlement_domain;
use cairn_settlement::{Bundler, DrainReport, Gateway, Uploader, write_receipt};
use cairn_signer::LocalSigner;
use cairn_store::Store;
use cairn_test_utils::{DEV_KEY_0, arlocal, free_port, stores};

use crate::{ARWEAVE_WALLET, receipt::closed_batch};

const CHAIN: &str = "eip155:31337";

/// How the test bundler treats what it is given.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Checks, bundles into the gateway, answers with the id.
    Honest,
    /// Refuses, as Turbo does for an account without credit.
    PaymentRequired,
    /// Answers 200 with another item's id.
    WrongId,
}

#[derive(Clone)]
struct BundlerState {
    behaviour: Behaviour,
    gateway: Gateway,
}

async fn upload(
    State(state): State<BundlerState>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, (StatusCode, String)> {
    let item = DataItem::decode(&body).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    item.verify().map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))?;
    match state.behaviour {
        Behaviour::PaymentRequired => {
            Err((StatusCode::PAYMENT_REQUIRED, "insufficient balance".into()))
        }
        Behaviour::WrongId => Ok(Json(serde_json::json!({ "id": "x".repeat(43) }))),
        Behaviour::Honest => {
            let wallet = Wallet::from_jwk(ARWEAVE_WALLET).unwrap();
            state
                .gateway
                .post_bundle(&wallet, std::slice::from_ref(&item))
                .await
                .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))?;
            Ok(Json(serde_json::json!({ "id": item.id_base64url(), "owner": "test" })))
        }
    }
}

async fn start_bundler(behaviour: Behaviour, gateway: Gateway) -> Bundler {
    let app =
        Router::new().route("/v1/tx", post(upload)).with_state(BundlerState { behaviour, gateway });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Bundler::new(format!("http://{address}/").parse().unwrap())
}

async fn receipt_for(store: &Store, settlement: u8) -> DataItem {
    let key = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    let domain = settlement_domain(31337, alloy_primitives::Address::repeat_byte(settlement));
    closed_batch(store).await;
    write_receipt(
        store,
        CHAIN,
        &domain,
        1,
        &key,
        &key,
        cairn_settlement::receipt::DEFAULT_MAX_RECEIPT_BYTES,
    )
    .await
    .unwrap()
    .unwrap()
    .item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_go_through_a_bundler_first_and_fall_back_to_the_gateway() {
    let node = arlocal();
    let _miner = node.keep_mining(std::time::Duration::from_millis(100));
    let gateway = Gateway::new(node.url().parse().unwrap());
    let dead = Bundler::new(format!("http://127.0.0.1:{}/", free_port()).parse().unwrap());
    let honest = start_bundler(Behaviour::Honest, gateway.clone()).await;
    let refusing = start_bundler(Behaviour::PaymentRequired, gateway.clone()).await;
    let lying = start_bundler(Behaviour::WrongId, gateway.clone()).await;
    let stores = stores().await;
    let wallet = Wallet::from_jwk(ARWEAVE_WALLET).unwrap();
    node.mint(&wallet.address(), 1_000_000_000_000_000);
    let uploader = |store: &Store, bundlers: Vec<Bundler>| Uploader {
        store: store.clone(),
        bundlers,
        gateways: vec![gateway.clone()],
        wallet: Wallet::from_jwk(ARWEAVE_WALLET).unwrap(),
        initial_backoff_secs: 0,
        max_backoff_secs: 0,
        confirm_attempts: 50,
    };
    let far = i64::MAX / 2;
    // A dead bundler is skipped; the next one takes the item, and the
    // gateway confirms it.
    let item = receipt_for(&stores.sqlite, 0x61).await;
    let id = item.id_base64url();
    let through_bundler = uploader(&stores.sqlite, vec![dead.clone(), honest.clone()]);
    assert_eq!(
        through_bundler.drain_once(far).await.unwrap(),
        DrainReport { posted: 1, ..Default::default() }
    );
    let entry = stores.sqlite.outbox_entry(&id).await.unwrap().unwrap();
    assert_eq!(entry.gateway.as_deref(), Some(honest.base().as_str()));
    assert_eq!(entry.tx_id, None, "a bundler, not our own L1 transaction, carries it");
    confirm(&through_bundler, &id).await;
    let entry = stores.sqlite.outbox_entry(&id).await.unwrap().unwrap();
    assert_eq!(entry.gateway.as_deref(), Some(gateway.base().as_str()));
    let (_, stage) = stores.sqlite.closed_batch(CHAIN, 1).await.unwrap().unwrap();
    assert_eq!(stage, "uploaded");

    // Bundlers that refuse, or answer for another item, do not count: the
    // item goes up in our own L1 transaction, and says why.
    let item = receipt_for(&stores.postgres, 0x62).await;
    let id = item.id_base64url();
    let fallback = uploader(&stores.postgres, vec![refusing, lying]);
    assert_eq!(
        fallback.drain_once(far).await.unwrap(),
        DrainReport { posted: 1, ..Default::default() }
    );
    let entry = stores.postgres.outbox_entry(&id).await.unwrap().unwrap();
    assert_eq!(entry.gateway.as_deref(), Some(gateway.base().as_str()));
    assert!(entry.tx_id.is_some(), "posted in our own L1 transaction");
    confirm(&fallback, &id).await;

    // Nothing takes it: it stays pending, with every reason.
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display()))
        .await
        .unwrap();
    receipt_for(&store, 0x63).await;
    let nowhere = Uploader {
        gateways: vec![Gateway::new(format!("http://127.0.0.1:{}/", free_port()).parse().unwrap())],
        ..uploader(&store, vec![dead])
    };
    let report = nowhere.drain_once(far).await.unwrap();
    assert_eq!(report, DrainReport { retrying: 1, ..Default::default() });
    let pending = store.due_outbox(far, 10).await.unwrap();
    let error = pending[0].last_error.clone().unwrap();
    assert!(error.contains("v1/tx") && error.contains("tx_anchor"), "{error}");
    assert_eq!(pending[0].state, "pending");
    stores.cleanup().await;
}

/// Drains until `id` is confirmed (the gateway is mined continuously).
async fn confirm(uploader: &Uploader, id: &str) {
    for _ in 0..100 {
        uploader.drain_once(i64::MAX / 2).await.unwrap();
        if uploader.store.outbox_entry(id).await.unwrap().unwrap().state == "confirmed" {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{id} never confirmed");
}
