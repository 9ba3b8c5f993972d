//! The follower pages through the event log the in-process canister writes,
//! returns typed events with the next cursor, and resumes from a cursor.

use std::sync::Arc;

use cairn_icp::types::ServiceRecord;
use cairn_icp::{EventFollower, RegistryCanister, fetch_page, types::Event};

use crate::support::install;

fn record(url: &str) -> ServiceRecord {
    ServiceRecord {
        chain: "eip155:1".into(),
        kind: "json-rpc".into(),
        url: url.into(),
        provider: "eip155:1:0x2222222222222222222222222222222222222222".into(),
    }
}

async fn claim(canister: &dyn RegistryCanister, names: std::ops::Range<u32>) {
    for i in names {
        canister
            .claim_name(format!("name-{i}.cairn"), vec![record(&format!("https://rpc{i}.example"))])
            .await
            .unwrap();
    }
}

fn claimed(event: &Event) -> &str {
    match event {
        Event::NameClaimed { name, .. } => name,
        other => panic!("expected NameClaimed, got {other:?}"),
    }
}

#[tokio::test]
async fn the_follower_pages_through_the_log_and_resumes_from_its_cursor() {
    let (_canister, as_service) = install();
    claim(as_service.as_ref(), 0..7).await;

    let mut follower = EventFollower::new(Arc::clone(&as_service), 0).with_page_size(3);
    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    loop {
        let page = follower.next_page().await.unwrap();
        assert_eq!(page.next, follower.cursor());
        if page.events.is_empty() {
            break;
        }
        sizes.push(page.events.len());
        seen.extend(page.events);
    }
    // Each claim logs NameClaimed then RecordsSet: 14 events in pages of 3.
    assert_eq!(sizes, [3, 3, 3, 3, 2]);
    assert_eq!(seen.iter().map(|e| e.id).collect::<Vec<_>>(), (0..14).collect::<Vec<_>>());
    let names: Vec<_> = seen.iter().step_by(2).map(|e| claimed(&e.event).to_owned()).collect();
    assert_eq!(names, (0..7).map(|i| format!("name-{i}.cairn")).collect::<Vec<_>>());
    assert!(seen.iter().skip(1).step_by(2).all(|e| matches!(e.event, Event::RecordsSet { .. })));
    assert_eq!(follower.cursor(), 14);

    // New events: the same follower goes on from its cursor and sees only those.
    claim(as_service.as_ref(), 7..9).await;
    as_service.register_provider(None).await.unwrap();
    let page = follower.catch_up().await.unwrap();
    assert_eq!(page.events.iter().map(|e| e.id).collect::<Vec<_>>(), [14, 15, 16, 17, 18]);
    assert_eq!(claimed(&page.events[2].event), "name-8.cairn");
    assert!(matches!(page.events[4].event, Event::ProviderRegistered { .. }));
    assert_eq!(page.next, 19);

    // A new follower resumed from a stored cursor sees exactly the tail.
    let mut resumed = EventFollower::new(Arc::clone(&as_service), 5);
    let tail = resumed.catch_up().await.unwrap();
    assert_eq!(
        tail.events,
        seen[5..].iter().cloned().chain(page.events.clone()).collect::<Vec<_>>()
    );
    assert_eq!(resumed.cursor(), 19);
    // At the head: an empty page, the cursor unchanged.
    let head = fetch_page(as_service.as_ref(), 19, 50).await.unwrap();
    assert!(head.events.is_empty());
    assert_eq!(head.next, 19);
}

#[tokio::test]
async fn signed_slashes_and_batches_appear_in_the_log() {
    use cairn_icp::IcpSigner;
    use cairn_signer::RequestSigner;

    use crate::support::{PROVIDER, REGISTRY, TOKEN, slash};

    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(Arc::clone(&as_service)).await.unwrap();
    let request = slash(4, TOKEN, PROVIDER, 31337, REGISTRY);
    signer.sign_request(&request).await.unwrap();
    let page = EventFollower::new(as_service, 0).catch_up().await.unwrap();
    match &page.events[..] {
        [entry] => match &entry.event {
            Event::SlashSigned { chain_id, provider, amount, nonce, digest } => {
                assert_eq!(*chain_id, 31337);
                assert_eq!(provider.as_slice(), PROVIDER.as_slice());
                assert_eq!((*amount, *nonce), (TOKEN, 4));
                assert_eq!(digest.as_slice(), request.digest().as_slice());
            }
            other => panic!("expected SlashSigned, got {other:?}"),
        },
        other => panic!("expected one event, got {other:?}"),
    }
}

/// Answers `get_events` with a log that skips id 1.
struct GappedLog;

impl cairn_icp::CandidTransport for GappedLog {
    fn query<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> cairn_icp::CallFuture<'a, Vec<u8>> {
        Box::pin(async move {
            assert_eq!(method, "get_events");
            let (from, _limit): (u64, u64) = candid::decode_args(&arg).unwrap();
            let entry = |id| cairn_icp::types::EventEntry {
                id,
                time: 1,
                event: Event::NameRenewed { name: "a.cairn".into(), expires_at: 2 },
            };
            let events: Vec<_> = [0, 2].into_iter().filter(|id| *id >= from).map(entry).collect();
            Ok(candid::encode_one(events).unwrap())
        })
    }

    fn update<'a>(&'a self, method: &'a str, _arg: Vec<u8>) -> cairn_icp::CallFuture<'a, Vec<u8>> {
        Box::pin(async move { panic!("the follower makes no update call ({method})") })
    }
}

#[tokio::test]
async fn a_log_with_a_gap_stops_the_follower_where_it_was() {
    let client = cairn_icp::AgentCanister::with_transport(
        Arc::new(GappedLog),
        crate::support::canister_id(),
        crate::support::service(),
    );
    let mut follower = EventFollower::new(Arc::new(client), 0);
    match follower.next_page().await {
        Err(cairn_icp::IcpError::EventGap { expected: 1, got: 2 }) => {}
        other => panic!("expected a gap after event 0, got {other:?}"),
    }
    // Nothing of the bad page was taken: the cursor did not move.
    assert_eq!(follower.cursor(), 0);
}
