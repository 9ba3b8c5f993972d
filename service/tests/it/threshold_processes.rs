//! The threshold signer as separate OS processes: `cairn signer party` per
//! share, `cairn signer keygen` between them, `cairn signer sign` for typed
//! requests, with parties killed along the way.

use std::{os::unix::fs::PermissionsExt, path::Path};

use alloy::{
    primitives::{Address, B256, Signature, U256},
    signers::local::PrivateKeySigner,
};
use cairn_core::eip712::Slash;
use cairn_test_utils::evidence::{agreeing_answers, conflicting_answers};
use cairn_threshold::SigningRequest;

use crate::{Running, cairn_with_dir, listening, spawn_cairn, stderr, stdout, wait_for};

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn operator() -> PrivateKeySigner {
    PrivateKeySigner::from_slice(&[0x42; 32]).unwrap()
}

fn slash_request(nonce: u64, good_evidence: bool) -> SigningRequest {
    let evidence = if good_evidence {
        conflicting_answers(&operator())
    } else {
        agreeing_answers(&operator())
    };
    SigningRequest::Slash {
        chain_id: 31337,
        registry: Address::repeat_byte(0x11),
        order: Slash {
            // One provider per order: each party allows one slash per provider a day.
            provider: Address::repeat_byte(nonce as u8),
            amount: U256::from(1_000u64),
            reason: 1,
            evidenceHash: evidence.hash(),
            receiptId: B256::repeat_byte(0xab),
            nonce: U256::from(nonce),
            deadline: now() + 600,
        },
        operator: operator().address(),
        evidence,
    }
}

pub(crate) fn party(dir: &Path, index: u16) -> Running {
    spawn_cairn(dir, &["signer", "party", &format!("party-{index}.toml")], &[("RUST_LOG", "info")])
}

/// Runs `cairn signer sign` on `request`; returns the output.
fn sign(dir: &Path, name: &str, request: &SigningRequest) -> std::process::Output {
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(request).unwrap()).unwrap();
    cairn_with_dir(
        dir,
        &[
            "signer",
            "sign",
            "--group",
            "group.toml",
            "--group-key",
            "group-key.json",
            "--request",
            path.to_str().unwrap(),
        ],
        &[],
    )
}

/// A 2-of-3 group in `dir` (identities, configs, pregenerated primes), its
/// three `cairn signer party` processes, and the key `cairn signer keygen`
/// made between them (`group-key.json`). Returns the first party's port.
pub(crate) fn start_group(dir: &Path) -> (u16, Vec<Option<Running>>, cairn_threshold::GroupKey) {
    let base = cairn_test_utils::free_port();
    let primes = cairn_test_utils::repo_root().join("crates/threshold/tests/fixtures");
    let init = cairn_with_dir(
        dir,
        &[
            "signer",
            "init",
            "--dir",
            ".",
            "--parties",
            "3",
            "--threshold",
            "2",
            "--base-port",
            &base.to_string(),
            "--primes-dir",
            primes.to_str().unwrap(),
        ],
        &[],
    );
    assert!(init.status.success(), "{}", stderr(&init));
    let parties: Vec<Option<Running>> = (0..3).map(|i| Some(party(dir, i))).collect();
    for (i, running) in (0..3).zip(&parties) {
        let log = || running.as_ref().map(Running::log).unwrap_or_default();
        let what = format!("party {i} to listen on port {}", base + i);
        if std::panic::catch_unwind(|| wait_for(&what, || listening(base + i))).is_err() {
            panic!("party {i} did not listen on port {}; its log:\n{}", base + i, log());
        }
    }
    let keygen = cairn_with_dir(
        dir,
        &["signer", "keygen", "--group", "group.toml", "--out", "group-key.json"],
        &[],
    );
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    let key: cairn_threshold::GroupKey =
        serde_json::from_slice(&std::fs::read(dir.join("group-key.json")).unwrap()).unwrap();
    assert!(stdout(&keygen).contains(&format!("address {}", key.address)), "{}", stdout(&keygen));
    (base, parties, key)
}

#[test]
fn keygen_and_signing_between_party_processes_with_parties_killed() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let (base, mut parties, key) = start_group(dir);
    for i in 0..3 {
        let mode =
            std::fs::metadata(dir.join(format!("share-{i}.json"))).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "share {i}");
    }

    let recovered = |output: &std::process::Output, request: &SigningRequest| {
        let text = stdout(output);
        let bytes = alloy::primitives::hex::decode(text.trim()).unwrap();
        let signature = Signature::from_raw(&bytes).unwrap();
        signature.recover_address_from_prehash(&request.digest()).unwrap()
    };

    // All up, then one party killed: 2 of 3 still sign.
    let request = slash_request(1, true);
    let signed = sign(dir, "slash-1", &request);
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert_eq!(recovered(&signed, &request), key.address);
    let mut killed = parties[0].take().unwrap();
    killed.child.kill().unwrap();
    killed.child.wait().unwrap();
    let request = slash_request(2, true);
    let signed = sign(dir, "slash-2", &request);
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert_eq!(recovered(&signed, &request), key.address);

    // Two down: unavailable, exit 75 (retry later).
    drop(parties[1].take());
    let unavailable = sign(dir, "slash-3", &slash_request(3, true));
    assert_eq!(unavailable.status.code(), Some(75), "{}", stderr(&unavailable));
    assert!(stderr(&unavailable).contains("unavailable"), "{}", stderr(&unavailable));

    // Back up, bad evidence is refused by the parties and nothing is printed.
    parties[1] = Some(party(dir, 1));
    wait_for("party 1 to listen again", || listening(base + 1));
    let refused = sign(dir, "bad", &slash_request(4, false));
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("evidence does not verify"), "{}", stderr(&refused));
    assert!(stdout(&refused).is_empty());
    // The surviving processes are still serving.
    let request = slash_request(5, true);
    let signed = sign(dir, "slash-5", &request);
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert_eq!(recovered(&signed, &request), key.address);

    // A frozen party (SIGSTOP: its socket still accepts, it never answers)
    // makes the session give up as unavailable; the others carry on, and so
    // does it once it runs again.
    let frozen = parties[1].as_ref().unwrap().child.id().to_string();
    assert!(
        std::process::Command::new("kill").args(["-STOP", &frozen]).status().unwrap().success()
    );
    let stalled = sign(dir, "slash-6", &slash_request(6, true));
    let _ = std::process::Command::new("kill").args(["-CONT", &frozen]).status();
    assert_eq!(stalled.status.code(), Some(75), "{}", stderr(&stalled));
    assert!(stderr(&stalled).contains("party 1 did not answer"), "{}", stderr(&stalled));
    let request = slash_request(7, true);
    let signed = sign(dir, "slash-7", &request);
    assert!(signed.status.success(), "{}", stderr(&signed));
    assert_eq!(recovered(&signed, &request), key.address);
}
