//! No replica runs on these machines: `AgentCanister` is exercised here only
//! against a closed loopback port and a server that never answers, and must
//! give `Unavailable` (through `IcpSigner`) within its timeout.

use std::{
    net::TcpListener,
    sync::Arc,
    time::{Duration, Instant},
};

use cairn_icp::{
    AgentCanister, IcpError, IcpSigner, RegistryCanister, identity::AnonymousIdentity,
};
use cairn_signer::{RequestSigner, SignerError};

use crate::support::{PROVIDER, REGISTRY, TOKEN, canister_id, slash};

fn closed_port() -> u16 {
    // Bound, then released: nothing listens there afterwards.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn agent(url: &str, timeout: Duration) -> Arc<dyn RegistryCanister> {
    Arc::new(AgentCanister::new(url, canister_id(), Arc::new(AnonymousIdentity), timeout).unwrap())
}

#[tokio::test]
async fn a_closed_port_is_unavailable_quickly() {
    let canister = agent(&format!("http://127.0.0.1:{}", closed_port()), Duration::from_secs(30));
    let started = Instant::now();
    match IcpSigner::connect(Arc::clone(&canister)).await {
        Err(e @ IcpError::Transport(_)) => {
            assert!(matches!(SignerError::from(e), SignerError::Unavailable(_)))
        }
        other => panic!("expected a transport failure, got {other:?}"),
    }
    match canister.get_events(0, 10).await {
        Err(IcpError::Transport(_)) => {}
        other => panic!("expected a transport failure, got {other:?}"),
    }
    // A refused connection is not waited out: well under the 30 s timeout.
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    // A signer built from a known key while the replica is down signs
    // nothing and says the backend is unavailable.
    let signer = IcpSigner::with_public_key(canister, [4; 65]);
    let started = Instant::now();
    match signer.sign_request(&slash(1, TOKEN, PROVIDER, 1, REGISTRY)).await {
        Err(SignerError::Unavailable(reason)) => assert!(!reason.is_empty()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_replica_that_never_answers_times_out_as_unavailable() {
    // Accepts connections and reads nothing back: a hung replica.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let signer = IcpSigner::with_public_key(agent(&url, Duration::from_secs(1)), [4; 65]);
    let started = Instant::now();
    match signer.sign_request(&slash(1, TOKEN, PROVIDER, 1, REGISTRY)).await {
        Err(SignerError::Unavailable(reason)) => assert!(reason.contains("no answer"), "{reason}"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(5), "took {took:?}");
    holder.abort();
}

#[test]
fn a_bad_url_is_a_configuration_error() {
    match AgentCanister::new(
        "not a url",
        canister_id(),
        Arc::new(AnonymousIdentity),
        Duration::from_secs(1),
    ) {
        Err(IcpError::Config(_)) => {}
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
