//! Authenticated channels: messages from unknown identities are dropped and
//! counted, replays refused, and a party that sends garbage or stops
//! mid-protocol aborts the session without bringing down the others.

use std::time::Duration;

use alloy_primitives::Address;
use cairn_threshold::{
    Envelope, Frame, Identity, PartyStatus, Policy, Reply, ThresholdError, request_reply,
    send_frame,
};
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
};

use crate::support::{REGISTRY, group, group_with_timeout, recover, slash};

async fn status(addr: std::net::SocketAddr) -> PartyStatus {
    match request_reply(addr, &Frame::Status).await.unwrap() {
        Reply::Status(status) => status,
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_from_unknown_identities_are_dropped_and_replays_refused() {
    let (_dir, parties, _signer) = group(2, 3, Policy::default()).await;
    let target = parties.addr(0);

    // Claims to be party 1, signed by a key the group does not know.
    let stranger = Identity::generate();
    let forged = Envelope::signed(&stranger, "s1/sign".into(), 1, None, 0, "{}".into());
    send_frame(target, &Frame::Msg(forged)).await.unwrap();
    // Party 1's real key, but the signature is over other bytes.
    let mut tampered =
        Envelope::signed(&parties.identities[1], "s1/sign".into(), 1, None, 0, "{}".into());
    tampered.payload = "{\"x\":1}".into();
    send_frame(target, &Frame::Msg(tampered)).await.unwrap();
    // Party 2's key claiming to be party 1.
    let impostor =
        Envelope::signed(&parties.identities[2], "s1/sign".into(), 1, None, 0, "{}".into());
    send_frame(target, &Frame::Msg(impostor)).await.unwrap();

    let genuine =
        Envelope::signed(&parties.identities[1], "s2/sign".into(), 1, None, 0, "{}".into());
    send_frame(target, &Frame::Msg(genuine.clone())).await.unwrap();
    send_frame(target, &Frame::Msg(genuine)).await.unwrap();
    // Not even JSON.
    let mut raw = tokio::net::TcpStream::connect(target).await.unwrap();
    raw.write_all(b"\x00garbage\n").await.unwrap();
    drop(raw);

    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = status(target).await;
    assert_eq!(status.dropped_unauthenticated, 3, "{status:?}");
    assert_eq!(status.refused_replays, 1, "{status:?}");
    assert_eq!(status.dropped_malformed, 1, "{status:?}");
}

/// Takes party `index`'s place: joins any session, then runs `behaviour`.
async fn impostor_party(
    listener: TcpListener,
    identity: Identity,
    index: u16,
    peers: Vec<std::net::SocketAddr>,
    send_garbage: bool,
) {
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read).lines();
        let Some(line) = lines.next_line().await.unwrap() else { continue };
        let frame: Frame = serde_json::from_str(&line).unwrap();
        let Frame::Start { session, .. } = frame else { continue };
        write.write_all(b"{\"reply\":\"joined\"}\n").await.unwrap();
        if send_garbage {
            for peer in &peers {
                let envelope = Envelope::signed(
                    &identity,
                    format!("{session}/sign"),
                    index,
                    None,
                    0,
                    "\"not a protocol message\"".into(),
                );
                send_frame(*peer, &Frame::Msg(envelope)).await.unwrap();
            }
        }
        // Keeps the coordinator's connection open, says nothing more.
        tokio::spawn(async move {
            let _keep = write;
            let _ = lines.next_line().await;
        });
    }
}

async fn session_aborts_and_the_others_carry_on(send_garbage: bool) {
    let (_dir, mut parties, signer) = group_with_timeout(
        2,
        3,
        Policy { max_slashes_per_provider: 10, ..Policy::default() },
        8_000,
    )
    .await;
    // Party 2 is down, so the session is parties 0 and 1; 1 is an impostor
    // holding party 1's identity key but running no protocol.
    parties.stop(2);
    parties.stop(1);
    let listener = loop {
        match TcpListener::bind(parties.addr(1)).await {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let fake = tokio::spawn(impostor_party(
        listener,
        parties.identities[1].clone(),
        1,
        vec![parties.addr(0)],
        send_garbage,
    ));

    let err =
        signer.sign_request(&slash(1, Address::repeat_byte(1), 31337, REGISTRY)).await.unwrap_err();
    match &err {
        ThresholdError::Aborted { party, reason } => {
            if send_garbage {
                assert_eq!(*party, Some(1), "{reason}");
                assert!(reason.contains("does not parse"), "{reason}");
            } else {
                assert!(reason.contains("no result within"), "{reason}");
            }
        }
        other => panic!("expected an abort, got {other:?}"),
    }
    // Party 0 is still serving and counts the abort.
    let s = status(parties.addr(0)).await;
    assert_eq!(s.sessions_aborted, 1, "{s:?}");

    // With the impostor gone and party 2 back, the group signs again.
    fake.abort();
    let _ = fake.await;
    parties.restart(2).await.unwrap();
    let request = slash(2, Address::repeat_byte(1), 31337, REGISTRY);
    let signature = signer.sign_request(&request).await.unwrap();
    assert_eq!(recover(&signature, request.digest()), signer.group_key().address);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_party_sending_garbage_aborts_the_session_and_is_named() {
    session_aborts_and_the_others_carry_on(true).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_party_stopping_mid_protocol_aborts_the_session() {
    session_aborts_and_the_others_carry_on(false).await;
}
