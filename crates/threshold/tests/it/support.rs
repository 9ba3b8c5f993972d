use std::{os::unix::fs::PermissionsExt, path::PathBuf};

use alloy_primitives::Address;
use cairn_threshold::{
    Policy, SigningRequest, ThresholdSigner, harness::LocalGroup, read_group_key,
};

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Copies a fixture to `to`, owner-only as a party requires.
pub(crate) fn copy_private(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from, to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A running `t`-of-`n` group with the shares of the fixture keygen.
pub(crate) async fn group(
    t: u16,
    n: u16,
    policy: Policy,
) -> (tempfile::TempDir, LocalGroup, ThresholdSigner) {
    group_with_timeout(t, n, policy, 30_000).await
}

/// [`group`] with its own session timeout: how long parties wait for a
/// silent peer before they abort.
pub(crate) async fn group_with_timeout(
    t: u16,
    n: u16,
    policy: Policy,
    session_timeout_ms: u64,
) -> (tempfile::TempDir, LocalGroup, ThresholdSigner) {
    let dir = tempfile::tempdir().unwrap();
    let shares = fixtures().join(format!("{t}-of-{n}"));
    for i in 0..n {
        copy_private(
            &shares.join(format!("share-{i}.json")),
            &dir.path().join(format!("share-{i}.json")),
        );
    }
    let group = LocalGroup::start(dir.path(), t, n, policy, session_timeout_ms).await.unwrap();
    let key = read_group_key(&shares.join("group-key.json")).unwrap();
    let signer = ThresholdSigner::new(group.group.clone(), key).unwrap();
    (dir, group, signer)
}

pub(crate) fn operator() -> alloy::signers::local::PrivateKeySigner {
    cairn_test_utils::conformance::evidence_operator()
}

pub(crate) use cairn_test_utils::conformance::now;

/// A slash of 1 token of `provider`, backed by conflicting answers of `operator()`.
pub(crate) fn slash(
    nonce: u64,
    provider: Address,
    chain_id: u64,
    registry: Address,
) -> SigningRequest {
    cairn_test_utils::conformance::slash_request(
        nonce,
        10u128.pow(18),
        provider,
        chain_id,
        registry,
    )
}

pub(crate) const REGISTRY: Address = Address::repeat_byte(0x11);

/// Recovers the signer of `signature` over `digest`.
pub(crate) fn recover(
    signature: &cairn_signer::Signature,
    digest: alloy_primitives::B256,
) -> Address {
    let sig = alloy_primitives::Signature::from_raw(&signature.to_bytes()).unwrap();
    sig.recover_address_from_prehash(&digest).unwrap()
}
