//! The numbered event log the indexer follows: ids from 0 without gaps,
//! paged by (from, limit), with a capped page size.

use cairn_registry_canister::{
    sign_slash,
    state::MAX_EVENTS_PER_PAGE,
    types::{Event, NameOwner},
};

use crate::{LocalKey, NOW, TestEnv, canister, principal, service, slash_request};

#[tokio::test]
async fn every_change_is_logged_in_order_and_pages_by_cursor() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let alice = principal(3);
    state.borrow_mut().claim_name(env.as_caller(alice), "a.cairn".into(), vec![]).unwrap();
    env.now.set(NOW + 5);
    state.borrow_mut().register_provider(&env, None).unwrap();
    let provider = alloy_primitives::Address::repeat_byte(0xaa);
    sign_slash(&state, env.as_caller(service()), &LocalKey::new(), slash_request(provider, 9, 4))
        .await
        .unwrap();

    let events = state.borrow().get_events(0, 100);
    let ids: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3]);
    assert!(matches!(
        &events[0].event,
        Event::NameClaimed { name, owner: NameOwner::Principal(p), .. } if name == "a.cairn" && *p == alice
    ));
    assert!(matches!(&events[1].event, Event::RecordsSet { .. }));
    assert!(
        matches!(&events[2].event, Event::ProviderRegistered { provider, .. } if *provider == alice)
    );
    assert!(matches!(&events[3].event, Event::SlashSigned { amount: 9, nonce: 4, .. }));
    assert_eq!((events[0].time, events[2].time), (NOW, NOW + 5));

    // Paging: a cursor resumes exactly where the last page ended.
    assert_eq!(state.borrow().get_events(1, 2), events[1..3].to_vec());
    assert_eq!(state.borrow().get_events(3, 10), events[3..].to_vec());
    assert!(state.borrow().get_events(4, 10).is_empty());
    assert!(state.borrow().get_events(u64::MAX, u64::MAX).is_empty());
    assert!(state.borrow().get_events(0, 0).is_empty());
}

#[test]
fn pages_are_capped() {
    let (state, _) = canister();
    let env = TestEnv::new();
    for n in 0..MAX_EVENTS_PER_PAGE {
        state
            .borrow_mut()
            .claim_name(env.as_caller(principal(3)), format!("n{n}.cairn"), vec![])
            .unwrap();
    }
    assert_eq!(state.borrow().event_count(), 2 * MAX_EVENTS_PER_PAGE);
    let page = state.borrow().get_events(10, u64::MAX);
    assert_eq!(page.len() as u64, MAX_EVENTS_PER_PAGE);
    assert_eq!(page[0].id, 10);
}
