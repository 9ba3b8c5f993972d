//! `cairn deploy evm` against a real anvil.

use std::os::unix::fs::PermissionsExt;

use cairn_service::exit;
use cairn_test_utils::{DEV_KEY_0, anvil};

use crate::{cairn, stderr, stdout};

#[test]
fn deploys_both_contracts_and_writes_the_deployment_file() {
    let anvil = anvil();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("deployment.json");
    let endpoint = anvil.endpoint();
    let out_text = out.display().to_string();
    let result = cairn(
        &["deploy", "evm", "--dev-token", "--rpc", &endpoint, "--out", &out_text],
        &[("CAIRN_DEPLOYER_KEY", DEV_KEY_0)],
    );
    assert!(result.status.success(), "{}", stderr(&result));
    let text = std::fs::read_to_string(&out).expect("deployment file written");
    let deployment: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(deployment["chain_id"], 31337);
    assert_eq!(deployment["dev_token"], true);
    for key in ["registry", "settlement", "stake_token"] {
        let address = deployment[key].as_str().unwrap();
        assert!(
            stdout(&result).to_lowercase().contains(&address.to_lowercase()),
            "{key} {address} not reported"
        );
    }
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let anvil = anvil();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("deployer.key");
    std::fs::write(&key, DEV_KEY_0).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let key_text = key.display().to_string();
    let result = cairn(
        &["deploy", "evm", "--dev-token", "--rpc", &anvil.endpoint(), "--key-file", &key_text],
        &[],
    );
    assert_eq!(result.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&result).contains("chmod 600"), "{}", stderr(&result));
}

#[test]
fn clear_errors_for_missing_key_token_wrong_chain_and_dead_rpc() {
    let anvil = anvil();
    let endpoint = anvil.endpoint();

    let no_key = cairn(&["deploy", "evm", "--dev-token", "--rpc", &endpoint], &[]);
    assert_eq!(no_key.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&no_key).contains("CAIRN_DEPLOYER_KEY"), "{}", stderr(&no_key));

    let no_token =
        cairn(&["deploy", "evm", "--rpc", &endpoint], &[("CAIRN_DEPLOYER_KEY", DEV_KEY_0)]);
    assert_eq!(no_token.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&no_token).contains("--dev-token"), "{}", stderr(&no_token));

    let wrong_chain = cairn(
        &["deploy", "evm", "--dev-token", "--rpc", &endpoint],
        &[("CAIRN_DEPLOYER_KEY", DEV_KEY_0), ("CAIRN_EVM__CHAIN_ID", "1")],
    );
    assert_eq!(wrong_chain.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&wrong_chain).contains("serves chain 31337"), "{}", stderr(&wrong_chain));

    let dead = cairn(
        &["deploy", "evm", "--dev-token", "--rpc", "http://127.0.0.1:9"],
        &[("CAIRN_DEPLOYER_KEY", DEV_KEY_0)],
    );
    assert_eq!(dead.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&dead).contains("cannot reach http://127.0.0.1:9"), "{}", stderr(&dead));

    let bad_address = cairn(
        &["deploy", "evm", "--stake-token", "0x12", "--rpc", &endpoint],
        &[("CAIRN_DEPLOYER_KEY", DEV_KEY_0)],
    );
    assert_eq!(bad_address.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&bad_address).contains("--stake-token"), "{}", stderr(&bad_address));
}
