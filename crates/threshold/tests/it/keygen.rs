//! Distributed keygen between parties: each writes its own share, owner-only,
//! and all agree on the group key.

use std::{os::unix::fs::PermissionsExt, time::Instant};

use cairn_threshold::{Party, Policy, ThresholdError, harness::LocalGroup, keygen, read_share};

use crate::support::{copy_private, fixtures};

#[tokio::test(flavor = "multi_thread")]
async fn two_of_three_keygen_writes_private_shares_and_agrees_on_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3 {
        copy_private(
            &fixtures().join(format!("primes-{i}.json")),
            &dir.path().join(format!("primes-{i}.json")),
        );
    }
    let group = LocalGroup::start(dir.path(), 2, 3, Policy::default(), 3_000).await.unwrap();
    let started = Instant::now();
    let outcome = keygen(&group.group).await.unwrap();
    eprintln!("2-of-3 keygen with pregenerated primes: {:.1} s", started.elapsed().as_secs_f64());
    let key = outcome.group_key;
    assert_eq!((key.threshold, key.parties), (2, 3));
    for i in 0..3u16 {
        let path = dir.path().join(format!("share-{i}.json"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "share {i}");
        assert_eq!(read_share(&path).unwrap(), key);
        assert_eq!(group.party(i).unwrap().group_key().unwrap(), key);
    }

    // A second keygen never overwrites a share.
    match keygen(&group.group).await {
        Err(ThresholdError::Refused { reason, .. }) => {
            assert!(reason.contains("already exists"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // A share others can read is refused.
    let path = dir.path().join("share-0.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(read_share(&path), Err(ThresholdError::Permissions { mode: 0o644, .. })));
    assert!(matches!(
        Party::open(group.configs[0].clone()),
        Err(ThresholdError::Permissions { .. })
    ));
}
