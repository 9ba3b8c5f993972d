use alloy_primitives::{Address, U256};
use cairn_store::{NewIntent, Store, UsageRow};
use cairn_test_utils::stores as backends;

use crate::intents::{CHAIN, deposit, intent};

const WALLET: &str = "eip155:31337:0x0101010101010101010101010101010101010101";

fn row(wallet: &str, provider: &str, class: &str, calls: u64, first: i64, last: i64) -> UsageRow {
    UsageRow {
        wallet: wallet.into(),
        chain: CHAIN.into(),
        provider: provider.into(),
        class: class.into(),
        calls,
        first_seen: first,
        last_seen: last,
    }
}

async fn usage_adds_up_per_key(store: &Store) {
    assert!(store.usage(WALLET).await.unwrap().is_empty());
    store.add_usage(&[]).await.unwrap();
    store
        .add_usage(&[
            row(WALLET, "eip155:31337:0xbb", "read", 5, 100, 150),
            row(WALLET, "eip155:31337:0xaa", "heavy", 2, 120, 130),
            row(WALLET, "eip155:31337:0xaa", "read", 1, 110, 110),
            row("eip155:31337:0x02", "eip155:31337:0xaa", "read", 9, 100, 100),
        ])
        .await
        .unwrap();
    // A later batch (another replica's, say) adds to the same rows; its
    // earlier first call moves first_seen back.
    store
        .add_usage(&[
            row(WALLET, "eip155:31337:0xbb", "read", 3, 90, 200),
            row(WALLET, "eip155:31337:0xaa", "write", 1, 300, 300),
        ])
        .await
        .unwrap();
    let rows = store.usage(WALLET).await.unwrap();
    let seen: Vec<(&str, &str, u64, i64, i64)> = rows
        .iter()
        .map(|r| (r.provider.as_str(), r.class.as_str(), r.calls, r.first_seen, r.last_seen))
        .collect();
    assert_eq!(
        seen,
        [
            ("eip155:31337:0xaa", "heavy", 2, 120, 130),
            ("eip155:31337:0xaa", "read", 1, 110, 110),
            ("eip155:31337:0xaa", "write", 1, 300, 300),
            ("eip155:31337:0xbb", "read", 8, 90, 200),
        ]
    );
    assert!(rows.iter().all(|r| r.wallet == WALLET && r.chain == CHAIN));
    let other = store.usage("eip155:31337:0x02").await.unwrap();
    assert_eq!(other.len(), 1, "another wallet's usage is its own");
    assert_eq!(other[0].calls, 9);

    // More keys than one statement holds.
    let many: Vec<UsageRow> = (0..600)
        .map(|i| row("eip155:31337:0x03", &format!("eip155:31337:0x{i:04x}"), "read", 1, 1, 1))
        .collect();
    store.add_usage(&many).await.unwrap();
    store.add_usage(&many).await.unwrap();
    let many = store.usage("eip155:31337:0x03").await.unwrap();
    assert_eq!(many.len(), 600);
    assert!(many.iter().all(|r| r.calls == 2));
}

async fn paid_sums_accepted_intents_per_payee(store: &Store) {
    deposit(store, &[(1, 1_000)]).await;
    let payer = Address::repeat_byte(1);
    let asset = Address::repeat_byte(0xa0);
    assert!(store.paid_by(CHAIN, &payer, &asset).await.unwrap().is_empty());
    let to = |payee: u8, nonce: u64, amount: u64| NewIntent {
        payee: Address::repeat_byte(payee),
        ..intent(1, nonce, amount)
    };
    store
        .accept_intents(CHAIN, &[to(0x50, 1, 30), to(0x50, 2, 12), to(0x51, 3, 7)], 1_000)
        .await
        .unwrap();
    // Refused for the balance: not paid.
    store.accept_intents(CHAIN, &[to(0x51, 4, 5_000)], 1_001).await.unwrap();
    let paid = store.paid_by(CHAIN, &payer, &asset).await.unwrap();
    assert_eq!(paid.get(&Address::repeat_byte(0x50)), Some(&U256::from(42)));
    assert_eq!(paid.get(&Address::repeat_byte(0x51)), Some(&U256::from(7)));
    assert_eq!(paid.len(), 2);
    let other_asset = store.paid_by(CHAIN, &payer, &Address::repeat_byte(0xa1)).await.unwrap();
    assert!(other_asset.is_empty(), "another asset's intents are not counted");
    let other_chain = store.paid_by("eip155:1", &payer, &asset).await.unwrap();
    assert!(other_chain.is_empty());
}

#[tokio::test]
async fn usage_and_payments_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        usage_adds_up_per_key(store).await;
        paid_sums_accepted_intents_per_payee(store).await;
    }
    stores.cleanup().await;
}
