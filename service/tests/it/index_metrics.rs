//! `cairn index` following the chain serves Prometheus metrics.

use std::{
    io::{Read, Write},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use cairn_test_utils::{DEV_KEY_0, anvil};

use crate::{cairn_with_dir, stderr};

fn get_metrics(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn following_indexer_serves_prometheus_metrics() {
    let anvil = anvil();
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().display().to_string();
    let rpc_urls = format!("[\"{}\"]", anvil.endpoint());
    let port = cairn_test_utils::free_port();
    let listen = format!("\"127.0.0.1:{port}\"");
    let env = [
        ("CAIRN_DATA_DIR", data_dir.as_str()),
        ("CAIRN_EVM__RPC_URLS", rpc_urls.as_str()),
        ("CAIRN_INDEXER__METRICS_LISTEN", listen.as_str()),
        ("CAIRN_INDEXER__POLL_INTERVAL_MS", "50"),
    ];
    let mut deploy_env = env.to_vec();
    deploy_env.push(("CAIRN_DEPLOYER_KEY", DEV_KEY_0));
    let deployed = cairn_with_dir(data.path(), &["deploy", "evm", "--dev-token"], &deploy_env);
    assert!(deployed.status.success(), "{}", stderr(&deployed));

    let mut child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .arg("index")
        .env_clear()
        .envs(env)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut body = None;
    while Instant::now() < deadline {
        if let Some(response) = get_metrics(port)
            && response.contains("cairn_indexer_blocks_total")
            && !response.contains("cairn_indexer_blocks_total{chain=\"eip155:31337\"} 0")
        {
            body = Some(response);
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let body = body.expect("metrics were served and counted indexed blocks within 20 s");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    for name in [
        "cairn_indexer_events_total",
        "cairn_indexer_reorgs_total",
        "cairn_indexer_head_lag_blocks",
        "cairn_indexer_rpc_errors_total",
    ] {
        assert!(body.contains(name), "{name} missing:\n{body}");
    }
}
