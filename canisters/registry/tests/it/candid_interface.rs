//! `registry.did` is the interface clients build against; it must be the one
//! the endpoints export.

use std::path::Path;

use candid_parser::utils::{CandidSource, service_equal};

fn exported() -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cairn-registry-canister"))
        .output()
        .expect("the native canister binary runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn committed_did_matches_the_exported_interface() {
    let did = Path::new(env!("CARGO_MANIFEST_DIR")).join("registry.did");
    let exported = exported();
    service_equal(CandidSource::Text(&exported), CandidSource::File(&did)).unwrap_or_else(|e| {
        panic!(
            "registry.did drifted from the code ({e}); regenerate it with \
             `cargo run -p cairn-registry-canister > canisters/registry/registry.did`"
        )
    });
}

#[test]
fn a_drifted_interface_is_detected() {
    // The check itself must be able to fail: drop one method and change one
    // argument type, and equality must be refused both times.
    let exported = exported();
    let without: String = exported
        .lines()
        .filter(|line| !line.trim_start().starts_with("renew_name :"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(without, exported, "the method line is where the test expects it");
    assert!(service_equal(CandidSource::Text(&without), CandidSource::Text(&exported)).is_err());
    let changed = exported.replace("get_events : (nat64, nat64)", "get_events : (nat32, nat64)");
    assert_ne!(changed, exported);
    assert!(service_equal(CandidSource::Text(&changed), CandidSource::Text(&exported)).is_err());
}
