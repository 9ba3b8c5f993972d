//! `cairn index` against a real anvil: deploy, then index into the embedded
//! SQLite store.

use cairn_service::exit;
use cairn_test_utils::{DEV_KEY_0, anvil};

use crate::{cairn, stderr, stdout};

#[test]
fn index_once_catches_up_and_a_second_run_resumes_from_the_cursor() {
    let anvil = anvil();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let endpoint = anvil.endpoint();
    let rpc_urls = format!("[\"{endpoint}\"]");
    let env = [
        ("CAIRN_DATA_DIR", data_dir.as_str()),
        ("CAIRN_EVM__RPC_URLS", rpc_urls.as_str()),
        ("CAIRN_EVM__FINALITY_DEPTH", "2"),
    ];

    let missing = cairn(&["index", "--once"], &env);
    assert_eq!(missing.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&missing).contains("cairn deploy evm"), "{}", stderr(&missing));

    let mut deploy_env = env.to_vec();
    deploy_env.push(("CAIRN_DEPLOYER_KEY", DEV_KEY_0));
    let deployed = cairn(&["deploy", "evm", "--dev-token"], &deploy_env);
    assert!(deployed.status.success(), "{}", stderr(&deployed));

    let first = cairn(&["index", "--once"], &env);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stdout(&first).contains("indexed eip155:31337 to block"), "{}", stdout(&first));
    assert!(data.path().join("cairn.db").exists(), "the embedded store is a file in the data dir");

    let second = cairn(&["index", "--once"], &env);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains("(0 events)"), "resumed from the cursor: {}", stdout(&second));

    let wrong_chain: Vec<_> = env.iter().copied().chain([("CAIRN_EVM__CHAIN_ID", "5")]).collect();
    let refused = cairn(&["index", "--once"], &wrong_chain);
    assert_eq!(refused.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&refused).contains("expects chain 5"), "{}", stderr(&refused));
}
