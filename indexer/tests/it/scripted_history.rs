//! A scripted history on anvil — registrations, endpoint changes, stake,
//! an unbond and exit, a slash, deposits and a settled batch — indexed in
//! ranges and at the tip, must leave the store equal to the `cairn-core`
//! reference model replayed over the same actions, on both backends.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    providers::Provider,
    rpc::types::TransactionReceipt,
};
use cairn_bindings::{Registry, Settlement};
use cairn_core::{
    ChainId,
    eip712::{PaymentIntent, Slash, registry_domain, settlement_domain, signing_hash},
    netting::{BatchPolicy, Ledger},
    registry::{Registry as Model, RegistryParams, SlashOrder},
};
use cairn_signer::{LocalSigner, Signer, sign_typed};
use cairn_store::parse_amount;
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, stores};

use crate::{CHAIN, MIN_STAKE, UNBONDING, address_of, chain, wallet};

#[tokio::test]
async fn indexed_state_equals_the_reference_model() {
    let chain = chain().await;
    let chain_id = chain.anvil.chain_id();
    let d = &chain.deployment;
    let params = RegistryParams {
        min_stake: MIN_STAKE,
        unbonding_period: UNBONDING,
        max_services_per_provider: 8,
    };
    let slasher = address_of(DEV_KEY_0);
    let mut model =
        Model::new(params, address_of(DEV_KEY_0), slasher, Address::repeat_byte(0x7e)).unwrap();
    let time_of = |receipt: &TransactionReceipt| {
        let provider = chain.deployer.clone();
        let number = receipt.block_number.unwrap();
        async move {
            provider.get_block_by_number(number.into()).await.unwrap().unwrap().header.timestamp
        }
    };

    let providers = [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3];
    for (i, key) in providers.iter().enumerate() {
        chain.fund(key, 10_000).await;
        let stake = 200 + 100 * i as u128;
        let registry = Registry::new(d.registry, wallet(&chain.anvil, key));
        registry.register(address_of(key), U256::from(stake)).mined().await;
        model.register(&address_of(key), address_of(key), stake).unwrap();
    }
    let urls = ["https://a.example", "https://b.example", "wss://c.example/ws"];
    for (key, url) in [(DEV_KEY_1, urls[0]), (DEV_KEY_1, urls[1]), (DEV_KEY_2, urls[2])] {
        let provider = address_of(key);
        let registry = Registry::new(d.registry, wallet(&chain.anvil, key));
        registry
            .addService(provider, "eip155:1".into(), "rpc".into(), url.into(), B256::ZERO)
            .mined()
            .await;
        model
            .add_service(&provider, &provider, ChainId::eip155(1), "rpc", url, B256::ZERO)
            .unwrap();
    }
    let p2 = address_of(DEV_KEY_2);
    let removed =
        cairn_core::ServiceId::compute(p2.as_slice(), &ChainId::eip155(1), "rpc", urls[2]);
    Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_2))
        .removeService(p2, removed.0)
        .mined()
        .await;
    model.remove_service(&p2, &p2, removed).unwrap();

    let p3 = address_of(DEV_KEY_3);
    let receipt = Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_3))
        .unbond(U256::from(400))
        .mined()
        .await;
    model.unbond(&p3, 400, time_of(&receipt).await).unwrap();

    let p1 = address_of(DEV_KEY_1);
    let slash = Slash {
        provider: p1,
        amount: U256::from(30),
        reason: 3,
        evidenceHash: keccak256("evidence"),
        receiptId: keccak256("receipt"),
        nonce: U256::from(9),
        deadline: u64::MAX,
    };
    let signer = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    let signature =
        sign_typed(&signer, &slash, &registry_domain(chain_id, d.registry)).await.unwrap();
    let order = Registry::Slash::from(&slash);
    let receipt = Registry::new(d.registry, &chain.deployer)
        .slash(order, signature.to_bytes().to_vec().into())
        .mined()
        .await;
    model
        .slash(
            &SlashOrder {
                provider: p1,
                amount: 30,
                reason: 3,
                evidence_hash: slash.evidenceHash,
                receipt_id: slash.receiptId,
                nonce: slash.nonce,
                deadline: slash.deadline,
                signer: signer.address(),
            },
            time_of(&receipt).await,
        )
        .unwrap();

    chain
        .deployer
        .raw_request::<_, serde_json::Value>("evm_increaseTime".into(), (UNBONDING + 1,))
        .await
        .unwrap();
    let receipt =
        Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_3)).withdraw().mined().await;
    model.withdraw(&p3, time_of(&receipt).await).unwrap();
    Registry::new(d.registry, wallet(&chain.anvil, DEV_KEY_1))
        .addStake(U256::from(10))
        .mined()
        .await;
    model.add_stake(&p1, 10).unwrap();

    // Settlement: two payers deposit, a batch netted by cairn-core settles.
    let settlement_domain = settlement_domain(chain_id, d.settlement);
    let mut ledger = Ledger::new(
        BatchPolicy { min_intents: 1, max_intents: 100, window_seconds: 1, max_deltas: 1_000 },
        vec![d.stake_token],
        1,
        0,
    );
    for key in [DEV_KEY_1, DEV_KEY_2] {
        Settlement::new(d.settlement, wallet(&chain.anvil, key))
            .deposit(d.stake_token, U256::from(500))
            .mined()
            .await;
        ledger.deposit(address_of(key), d.stake_token, 500).unwrap();
    }
    for n in 0..6u64 {
        let key = if n % 2 == 0 { DEV_KEY_1 } else { DEV_KEY_2 };
        let intent = PaymentIntent {
            payer: address_of(key),
            payee: Address::repeat_byte(0x50 + n as u8 % 3),
            asset: d.stake_token,
            amount: U256::from(10 + n),
            nonce: U256::from(n),
            validUntil: u64::MAX,
        };
        ledger.accept(&intent, signing_hash(&intent, &settlement_domain), 0).unwrap();
    }
    let batch = ledger.close_batch(B256::ZERO, 1).unwrap().clone();
    let commitment = batch.body.commit(keccak256("receipt-1"));
    let batch_signature = sign_typed(&signer, &commitment, &settlement_domain).await.unwrap();
    Settlement::new(d.settlement, &chain.deployer)
        .settleBatch(
            Settlement::BatchCommitment::from(&commitment),
            batch.deltas.iter().map(Settlement::Delta::from).collect(),
            batch_signature.to_bytes().to_vec().into(),
        )
        .mined()
        .await;
    ledger.settle(1).unwrap();

    let stores = stores().await;
    for store in stores.both() {
        // Small ranges and a finality depth of 3: most blocks are backfilled
        // in several ranges, the last ones indexed at the tip.
        let mut indexer = chain.indexer(store, 3, 4);
        let head = indexer.catch_up().await.unwrap();
        assert_eq!(head, chain.head().await);
        assert_eq!(store.cursor(CHAIN).await.unwrap().unwrap().block_number, head);

        let indexed = store.providers(CHAIN).await.unwrap();
        let expected: Vec<_> = model.providers().collect();
        assert_eq!(indexed.len(), expected.len(), "provider 3 exited");
        for (row, (address, provider)) in indexed.iter().zip(expected) {
            assert_eq!(row.provider, format!("{address:#x}"));
            assert_eq!(row.operator, format!("{:#x}", provider.operator));
            assert_eq!(row.stake, U256::from(provider.stake), "stake of {address}");
            assert_eq!(row.unbonding, U256::from(provider.unbonding.map_or(0, |u| u.amount)));
            assert_eq!(row.release_at, provider.unbonding.map_or(0, |u| u.release_at));
        }
        let services = store.services(CHAIN).await.unwrap();
        let mut expected: Vec<_> = model.services().map(|(id, s)| (id.0, s.url.clone())).collect();
        expected.sort();
        assert_eq!(
            services.iter().map(|s| (s.service_id, s.url.clone())).collect::<Vec<_>>(),
            expected
        );

        for account in [
            address_of(DEV_KEY_1),
            address_of(DEV_KEY_2),
            Address::repeat_byte(0x50),
            Address::repeat_byte(0x52),
        ] {
            let stored = store
                .balance(CHAIN, &format!("{account:#x}"), &format!("{:#x}", d.stake_token))
                .await
                .unwrap();
            assert_eq!(
                stored,
                U256::from(ledger.balance(&account, &d.stake_token).deposit),
                "balance of {account}"
            );
        }
        assert_eq!(store.last_batch_id(CHAIN).await.unwrap(), 1);
        let dump = store.dump(CHAIN).await.unwrap();
        assert_eq!(dump["slashes"].len(), 1);
        assert_eq!(
            parse_amount(dump["slashes"][0]["amount"].as_str().unwrap()).unwrap(),
            U256::from(30)
        );
        let text = indexer.metrics().render(CHAIN);
        assert!(text.contains("cairn_indexer_events_total"));
        let undocumented = cairn_test_utils::undocumented_metrics(&text);
        assert!(undocumented.is_empty(), "not in docs/operations.md: {undocumented:?}");
    }
    assert_eq!(
        stores.sqlite.dump(CHAIN).await.unwrap(),
        stores.postgres.dump(CHAIN).await.unwrap()
    );
    stores.cleanup().await;
}
