//! `StickyTransport` sends every request to one node: a transaction's
//! nonce, send and receipt all come from the node in use, the other sees
//! nothing; when that node fails it moves to the next and stays there, even
//! after the first comes back.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    rpc::{client::RpcClient, types::TransactionRequest},
    signers::local::PrivateKeySigner,
};
use cairn_client::StickyTransport;
use cairn_test_utils::{DEV_KEY_3, Fault, FaultyRpc, anvil};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_at_a_time_until_it_fails() {
    let anvil = anvil();
    let down = Arc::new(AtomicBool::new(false));
    let first = {
        let down = down.clone();
        FaultyRpc::start(anvil.endpoint(), move |_, _| {
            if down.load(Ordering::Relaxed) { Fault::Status(503) } else { Fault::Pass }
        })
        .await
    };
    let second = FaultyRpc::start(anvil.endpoint(), |_, _| Fault::Pass).await;
    let urls = vec![first.url().parse().unwrap(), second.url().parse().unwrap()];
    let sticky = StickyTransport::new(urls);

    let signer: PrivateKeySigner = DEV_KEY_3.parse().unwrap();
    let sending = ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer))
        .connect_client(RpcClient::new(sticky.clone(), false));
    let tx =
        TransactionRequest::default().with_to(Address::repeat_byte(0x42)).with_value(U256::from(1));
    let receipt = sending.send_transaction(tx.clone()).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    assert!(first.requests() >= 3, "nonce, send and receipt went to the first node");
    assert_eq!(second.requests(), 0, "the second node saw none of the submission");

    down.store(true, Ordering::Relaxed);
    let before = (first.requests(), second.requests());
    let receipt = sending.send_transaction(tx.clone()).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    // Requests already in flight to the first node when it failed (alloy's
    // fillers ask concurrently) fail over one by one; none after the move.
    assert!(first.requests() > before.0, "the first node was tried");
    let moved_at = first.requests();
    assert_eq!(sticky.current(), Some(&second.url().parse().unwrap()));

    let after_move = ProviderBuilder::new().connect_client(RpcClient::new(sticky.clone(), false));
    after_move.get_block_number().await.unwrap();
    assert_eq!(first.requests(), moved_at, "asked the failed node again");

    // Back up, the first is not asked again: the submission in flight keeps
    // the view it started with.
    down.store(false, Ordering::Relaxed);
    let before = (first.requests(), second.requests());
    let provider = ProviderBuilder::new().connect_client(RpcClient::new(sticky.clone(), false));
    for _ in 0..5 {
        provider.get_block_number().await.unwrap();
    }
    assert_eq!(first.requests(), before.0);
    assert_eq!(second.requests() - before.1, 5);
}
