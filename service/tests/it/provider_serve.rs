//! `cairn provider serve` as its own process in front of real anvil, driven
//! by a JSON-RPC client nobody here wrote (`cast`), over HTTP and WebSocket.

use std::{path::Path, process::Command};

use cairn_core::answer::{ANSWER_HEADER, AnswerHeader};
use cairn_service::exit;
use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, address_of, anvil, free_port, repo_root};
use serde_json::{Value, json};

use crate::{cairn, spawn_cairn, stderr, support::write_key_file, wait_for};

fn write_key(dir: &Path, key: &str) -> String {
    write_key_file(&dir.join("operator.key"), key).display().to_string()
}

/// `cast <args> --rpc-url <url>`: its trimmed stdout.
fn cast(args: &[&str], url: &str) -> String {
    let out = Command::new(repo_root().join("node_modules/.bin/cast"))
        .args(args)
        .args(["--rpc-url", url])
        .output()
        .expect("cast runs (scripts/bootstrap installs it)");
    assert!(out.status.success(), "cast {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn cast_through_the_sidecar_gets_what_anvil_answers_and_every_answer_is_signed() {
    let anvil = anvil();
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), DEV_KEY_1);
    let listen = format!("127.0.0.1:{}", free_port());
    let sidecar = spawn_cairn(
        dir.path(),
        &[
            "provider",
            "serve",
            "--upstream",
            &anvil.endpoint(),
            "--upstream-ws",
            &anvil.ws_endpoint(),
            "--listen",
            &listen,
            "--chain",
            "eip155:31337",
            "--key-file",
            &key,
            "--tip-poll-ms",
            "100",
        ],
        &[],
    );
    let url = format!("http://{listen}");
    let http = reqwest::blocking::Client::new();
    wait_for("the sidecar to be healthy", || {
        http.get(format!("{url}/cairn/health")).send().is_ok_and(|r| r.status() == 200)
    });
    assert!(sidecar.log().contains(&address_of(DEV_KEY_1).to_string()), "{}", sidecar.log());

    cast(&["rpc", "anvil_mine", "5"], &anvil.endpoint());
    let direct = cast(&["block-number"], &anvil.endpoint());
    wait_for("the sidecar's tip to catch up", || {
        let tip: Value = http.get(format!("{url}/cairn/tip")).send().unwrap().json().unwrap();
        tip["number"].as_u64().map(|n| n.to_string()).as_deref() == Some(direct.as_str())
    });
    assert_eq!(cast(&["block-number"], &url), direct);
    // cast over a WebSocket too, passed through to anvil's.
    assert_eq!(cast(&["block-number"], &format!("ws://{listen}")), direct);
    assert_eq!(cast(&["chain-id"], &url), cast(&["chain-id"], &anvil.endpoint()));
    let account = address_of(DEV_KEY_0).to_string();
    assert_eq!(cast(&["balance", &account], &url), cast(&["balance", &account], &anvil.endpoint()));

    // What cast received was signed by the operator over that very answer.
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []});
    let response = http.post(&url).json(&request).send().unwrap();
    assert_eq!(response.status(), 200);
    let header = response.headers()[ANSWER_HEADER].to_str().unwrap().to_owned();
    let body: Value = response.json().unwrap();
    assert_eq!(
        u64::from_str_radix(body["result"].as_str().unwrap().trim_start_matches("0x"), 16)
            .unwrap()
            .to_string(),
        direct
    );
    let header = AnswerHeader::parse(&header).unwrap();
    let signer = header.signer(&"eip155:31337".parse().unwrap(), &request, &body).unwrap();
    assert_eq!(signer, address_of(DEV_KEY_1));
    assert_eq!(header.block_number.to_string(), direct);

    // A process manager's SIGTERM stops it cleanly.
    let mut sidecar = sidecar;
    let pid = sidecar.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = sidecar.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert!(status.success(), "exit {status:?}: {}", sidecar.log());
}

#[test]
fn provider_serve_refuses_a_node_on_another_chain() {
    let anvil = anvil();
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), DEV_KEY_1);
    let listen = format!("127.0.0.1:{}", free_port());
    let args = [
        "provider",
        "serve",
        "--upstream",
        &anvil.endpoint(),
        "--listen",
        &listen,
        "--chain",
        "eip155:1",
        "--key-file",
        &key,
    ];
    let out = cairn(&args, &[]);
    assert_eq!(out.status.code(), Some(i32::from(exit::FAILURE)), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("eip155:31337") && err.contains("eip155:1"), "{err}");
    assert!(std::net::TcpStream::connect(&listen).is_err(), "nothing may listen");
}

#[test]
fn provider_serve_needs_an_operator_key_and_a_valid_chain() {
    let anvil = anvil();
    let base = ["provider", "serve", "--upstream", &anvil.endpoint(), "--chain", "eip155:31337"];
    let out = cairn(&base, &[]);
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&out));
    assert!(stderr(&out).contains("CAIRN_PROVIDER_KEY"), "{}", stderr(&out));

    let out = cairn(
        &["provider", "serve", "--upstream", &anvil.endpoint(), "--chain", "not a chain"],
        &[("CAIRN_PROVIDER_KEY", DEV_KEY_1)],
    );
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&out));
    assert!(stderr(&out).contains("CAIP-2"), "{}", stderr(&out));

    // A key file others can read is refused, as for every key.
    let dir = tempfile::tempdir().unwrap();
    let key = write_key(dir.path(), DEV_KEY_1);
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = cairn(
        &[
            "provider",
            "serve",
            "--upstream",
            &anvil.endpoint(),
            "--chain",
            "eip155:31337",
            "--key-file",
            &key,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&out));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));

    let ws = anvil.endpoint().replace("http://", "ws://");
    let out = cairn(
        &["provider", "serve", "--upstream", &ws, "--chain", "eip155:31337"],
        &[("CAIRN_PROVIDER_KEY", DEV_KEY_1)],
    );
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&out));
    assert!(stderr(&out).contains("http"), "{}", stderr(&out));
}
