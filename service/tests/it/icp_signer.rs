//! `settlement.signer = "icp"`: the service reaches the registry canister
//! through `[icp]` before anything runs. Without its settings it names the
//! missing key; with a replica that does not answer it says which, and a
//! readable identity file is refused. (No replica runs here: signing itself
//! is tested in `cairn-icp` against the canister's own logic.)

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use base64::Engine;
use cairn_service::exit;

use crate::{spawn_cairn, stack::Stack, wait_for};

/// A SEC1 `EC PRIVATE KEY` PEM of a fixed secp256k1 key (the optional
/// public key left out, as RFC 5915 allows).
fn identity_pem() -> String {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x01, 0x04, 0x20];
    der.extend_from_slice(&[0x5a; 32]);
    der.extend_from_slice(&[0xa0, 0x07, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a]);
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN EC PRIVATE KEY-----\n{body}\n-----END EC PRIVATE KEY-----\n")
}

fn write_identity(dir: &std::path::Path, mode: u32) -> std::path::PathBuf {
    let path = dir.join(format!("identity-{mode:o}.pem"));
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&path).unwrap();
    file.write_all(identity_pem().as_bytes()).unwrap();
    path
}

/// `cairn serve` with `extra` on top of the stack's settings, run until it
/// exits; its exit code and log.
fn serve_exits(stack: &Stack, extra: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut env = stack.env();
    env.extend_from_slice(extra);
    let mut serve = spawn_cairn(stack.dir.path(), &["serve"], &env);
    let mut code = None;
    wait_for("cairn serve to refuse to start", || match serve.child.try_wait() {
        Ok(Some(status)) => {
            code = status.code();
            true
        }
        _ => false,
    });
    (code, serve.log())
}

#[test]
fn an_icp_settlement_signer_is_reached_before_the_service_starts() {
    let stack = Stack::start(None);
    let icp = [("CAIRN_SETTLEMENT__SIGNER", "\"icp\"")];
    let (code, log) = serve_exits(&stack, &icp);
    assert_eq!(code, Some(i32::from(exit::USAGE)), "{log}");
    assert!(log.contains("icp.replica_url"), "{log}");

    let closed = cairn_test_utils::free_port();
    let url = format!("\"http://127.0.0.1:{closed}\"");
    let private = format!("\"{}\"", write_identity(stack.dir.path(), 0o600).display());
    let readable = format!("\"{}\"", write_identity(stack.dir.path(), 0o644).display());
    let with = |identity: &str| {
        vec![
            ("CAIRN_SETTLEMENT__SIGNER", "\"icp\"".to_owned()),
            ("CAIRN_ICP__REPLICA_URL", url.clone()),
            ("CAIRN_ICP__CANISTER_ID", "\"rrkah-fqaaa-aaaaa-aaaaq-cai\"".to_owned()),
            ("CAIRN_ICP__IDENTITY_FILE", identity.to_owned()),
            ("CAIRN_ICP__TIMEOUT_MS", "2000".to_owned()),
        ]
    };
    let env = with(&readable);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, log) = serve_exits(&stack, &env);
    assert_eq!(code, Some(i32::from(exit::USAGE)), "{log}");
    assert!(log.contains("readable by other users"), "{log}");

    let env = with(&private);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (code, log) = serve_exits(&stack, &env);
    assert_eq!(code, Some(i32::from(exit::FAILURE)), "{log}");
    assert!(log.contains(&format!("cannot reach http://127.0.0.1:{closed}")), "{log}");
}
