//! An alloy provider built on Cairn's transport answers as the node does,
//! sends transactions, and fails over from a registered endpoint that is
//! down to the next one in rank order; a chain nobody serves is a clear error.

use std::sync::Arc;

use alloy::{
    network::{EthereumWallet, TransactionBuilder},
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use cairn_client::{CairnTransport, Client, Route};
use cairn_test_utils::{
    DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, address_of, anvil, deploy_dev, free_port, register_provider,
};

const TOKEN: u128 = 1_000_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_over_cairn_fails_over_and_answers_as_the_node() {
    let anvil = anvil();
    let rpc = anvil.endpoint();
    let (_, deployment) = deploy_dev(&rpc, 100, 3600, 3600).await;
    // The larger stake ranks first, and its endpoint is down.
    let dead = format!("http://127.0.0.1:{}/", free_port());
    for (key, stake, url) in [(DEV_KEY_1, 500, dead.as_str()), (DEV_KEY_2, 200, rpc.as_str())] {
        let stake = U256::from(stake * TOKEN);
        register_provider(&rpc, &deployment, key, key, stake, &[("eip155:31337", url)]).await;
    }
    // The registry is read through a bootstrap node; the application's
    // requests go to whatever the registry lists.
    let client = Arc::new(
        Client::builder()
            .registry_fallback(rpc.parse().unwrap(), deployment.registry, deployment.start_block)
            .build(),
    );
    let ranked = client.resolve("eip155:31337", "rpc").await.unwrap();
    assert_eq!(ranked[0].url, dead, "the dead endpoint ranks first: {ranked:?}");

    let direct = ProviderBuilder::new().connect_http(rpc.parse().unwrap());
    let provider = client.evm_provider("eip155:31337");
    assert_eq!(provider.get_chain_id().await.unwrap(), 31337);
    assert_eq!(
        provider.get_block_number().await.unwrap(),
        direct.get_block_number().await.unwrap()
    );
    let holder = address_of(DEV_KEY_1);
    assert_eq!(
        provider.get_balance(holder).await.unwrap(),
        direct.get_balance(holder).await.unwrap()
    );

    // Transactions through it, signed locally.
    let signer: PrivateKeySigner = DEV_KEY_3.parse().unwrap();
    let sending = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_client(
        CairnTransport::new(client.clone(), "eip155:31337", Route::Direct { kind: "rpc".into() })
            .rpc_client(),
    );
    let payee = Address::repeat_byte(0x77);
    let tx = TransactionRequest::default().with_to(payee).with_value(U256::from(12_345));
    let receipt = sending.send_transaction(tx).await.unwrap().get_receipt().await.unwrap();
    assert!(receipt.status());
    assert_eq!(direct.get_balance(payee).await.unwrap(), U256::from(12_345));

    // A chain no provider serves.
    let nobody = client.evm_provider("eip155:999");
    let error = nobody.get_block_number().await.unwrap_err().to_string();
    assert!(error.contains("no http(s) endpoint for eip155:999"), "{error}");

    // Every endpoint down: the error names each.
    let (_, lonely) = deploy_dev(&rpc, 100, 3600, 3600).await;
    let stake = U256::from(500 * TOKEN);
    register_provider(&rpc, &lonely, DEV_KEY_1, DEV_KEY_1, stake, &[("eip155:31337", &dead)]).await;
    let only_dead = Arc::new(
        Client::builder()
            .registry_fallback(rpc.parse().unwrap(), lonely.registry, lonely.start_block)
            .build(),
    );
    let error = only_dead.evm_provider("eip155:31337").get_block_number().await.unwrap_err();
    assert!(error.to_string().contains(&dead), "{error}");
}
