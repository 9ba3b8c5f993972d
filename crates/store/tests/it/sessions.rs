use cairn_store::{ConsumeOutcome, NonceRecord, ProviderMetadata, SessionRecord, Store};
use cairn_test_utils::stores as backends;

fn nonce(n: &str, expires_at: i64) -> NonceRecord {
    NonceRecord {
        nonce: n.into(),
        domain: "cairn.test".into(),
        issued_at: 100,
        expires_at,
        consumed_at: None,
        siws_input: Some(r#"{"domain":"cairn.test"}"#.into()),
    }
}

fn session(id: &str) -> SessionRecord {
    SessionRecord {
        session_id: id.into(),
        account: "eip155:1:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2".into(),
        created_at: 150,
        expires_at: 1_000,
        revoked_at: None,
    }
}

async fn nonces_are_single_use_and_expire(store: &Store) {
    store.insert_nonce(&nonce("n1", 200)).await.unwrap();
    assert_eq!(store.nonce("n1").await.unwrap(), Some(nonce("n1", 200)));
    assert_eq!(store.nonce("missing").await.unwrap(), None);
    assert!(store.insert_nonce(&nonce("n1", 300)).await.is_err(), "nonces are unique");

    assert_eq!(
        store.consume_nonce_and_open_session("n1", 150, &session("s1")).await.unwrap(),
        ConsumeOutcome::Consumed
    );
    assert_eq!(store.nonce("n1").await.unwrap().unwrap().consumed_at, Some(150));
    assert_eq!(store.session("s1").await.unwrap(), Some(session("s1")));
    // A second use opens nothing.
    assert_eq!(
        store.consume_nonce_and_open_session("n1", 151, &session("s2")).await.unwrap(),
        ConsumeOutcome::AlreadyUsed
    );
    assert_eq!(store.session("s2").await.unwrap(), None);

    store.insert_nonce(&nonce("n2", 200)).await.unwrap();
    assert_eq!(
        store.consume_nonce_and_open_session("n2", 200, &session("s3")).await.unwrap(),
        ConsumeOutcome::AlreadyUsed,
        "expired at 200"
    );
    assert_eq!(
        store.consume_nonce_and_open_session("unknown", 1, &session("s4")).await.unwrap(),
        ConsumeOutcome::AlreadyUsed
    );
    assert_eq!(store.prune_nonces(200).await.unwrap(), 2);
    assert_eq!(store.nonce("n2").await.unwrap(), None);
}

async fn sessions_are_revoked_once(store: &Store) {
    store.insert_nonce(&nonce("r1", 500)).await.unwrap();
    store.consume_nonce_and_open_session("r1", 150, &session("r-s")).await.unwrap();
    assert!(store.revoke_session("r-s", 170).await.unwrap());
    assert!(!store.revoke_session("r-s", 171).await.unwrap());
    assert!(!store.revoke_session("nobody", 171).await.unwrap());
    assert_eq!(store.session("r-s").await.unwrap().unwrap().revoked_at, Some(170));
}

async fn one_of_many_concurrent_consumers_wins(store: &Store) {
    for round in 0..5 {
        let n = format!("race{round}");
        store.insert_nonce(&nonce(&n, 10_000)).await.unwrap();
        let attempts = (0..8).map(|i| {
            let (store, n) = (store.clone(), n.clone());
            tokio::spawn(async move {
                store
                    .consume_nonce_and_open_session(&n, 150, &session(&format!("{n}-{i}")))
                    .await
                    .unwrap()
            })
        });
        let outcomes = futures_join(attempts).await;
        let winners = outcomes.iter().filter(|o| **o == ConsumeOutcome::Consumed).count();
        assert_eq!(winners, 1, "round {round}: {outcomes:?}");
        let mut sessions = 0;
        for i in 0..8 {
            sessions += usize::from(store.session(&format!("{n}-{i}")).await.unwrap().is_some());
        }
        assert_eq!(sessions, 1, "exactly one session opened");
    }
}

async fn futures_join<T>(handles: impl Iterator<Item = tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        out.push(handle.await.unwrap());
    }
    out
}

async fn metadata_is_upserted(store: &Store) {
    let first = ProviderMetadata {
        region: Some("eu-west".into()),
        description: Some("archive node".into()),
        contact: None,
        updated_by: "eip155:1:0x01".into(),
        updated_at: 10,
    };
    store.set_provider_metadata("eip155:1", "0xaa", &first).await.unwrap();
    let second = ProviderMetadata { region: None, updated_at: 11, ..first.clone() };
    store.set_provider_metadata("eip155:1", "0xaa", &second).await.unwrap();
    store.set_provider_metadata("eip155:2", "0xaa", &first).await.unwrap();
    assert_eq!(
        store.provider_metadata("eip155:1").await.unwrap(),
        vec![("0xaa".to_owned(), second)]
    );
    store.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_sessions_and_metadata_on_both_backends() {
    let stores = backends().await;
    for store in stores.both() {
        nonces_are_single_use_and_expire(store).await;
        sessions_are_revoked_once(store).await;
        one_of_many_concurrent_consumers_wins(store).await;
        metadata_is_upserted(store).await;
    }
    stores.cleanup().await;
}
