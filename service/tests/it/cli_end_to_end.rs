//! The whole path as a provider and a client live it, through the binary:
//! `cairn deploy`, `cairn index` and `cairn serve` running against anvil on
//! loopback; a provider registers and adds an endpoint with the CLI; the
//! indexer picks it up; `cairn discover` and the client crate return it; the
//! operator signs in with `cairn login` and sets its metadata; the
//! service's prober measures an endpoint on the node itself; with the
//! service gone, discovery falls back to the registry on chain.

use std::process::Command;

use alloy::primitives::U256;
use cairn_service::exit;
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, address_of, anvil, free_port, fund_dev_token,
};

use crate::{cairn_with_dir, spawn_cairn, stderr, stdout, wait_for};

const TOKEN: u128 = 1_000_000_000_000_000_000;

#[test]
fn a_provider_registers_with_the_cli_and_clients_discover_it() {
    let anvil = anvil();
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let data_dir = dir.display().to_string();
    let rpc_urls = format!("[\"{}\"]", anvil.endpoint());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/");
    let listen = format!("\"127.0.0.1:{port}\"");
    let services = format!("[\"{base}\"]");
    let domains = format!("[{{ domain = \"127.0.0.1:{port}\", uris = [\"{base}\"] }}]");
    let metrics = format!("\"127.0.0.1:{}\"", free_port());
    let env = [
        ("CAIRN_DATA_DIR", data_dir.as_str()),
        ("CAIRN_EVM__RPC_URLS", rpc_urls.as_str()),
        ("CAIRN_EVM__FINALITY_DEPTH", "2"),
        ("CAIRN_INDEXER__POLL_INTERVAL_MS", "100"),
        ("CAIRN_INDEXER__METRICS_LISTEN", metrics.as_str()),
        ("CAIRN_SERVICE__LISTEN", listen.as_str()),
        ("CAIRN_SERVICE__DISCOVERY_CACHE_MS", "0"),
        ("CAIRN_CLIENT__SERVICES", services.as_str()),
        ("CAIRN_CLIENT__CACHE_TTL_MS", "0"),
        ("CAIRN_AUTH__DOMAINS", domains.as_str()),
        ("CAIRN_PROBER__INTERVAL_MS", "200"),
        ("CAIRN_PROBER__JITTER_MS", "0"),
        ("CAIRN_PROBER__TIMEOUT_MS", "1000"),
    ];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        env.iter().copied().chain(extra.iter().copied()).collect()
    };
    let provider_key = [("CAIRN_PROVIDER_KEY", DEV_KEY_1)];

    let deployed = cairn_with_dir(
        dir,
        &["deploy", "evm", "--dev-token"],
        &with(&[("CAIRN_DEPLOYER_KEY", DEV_KEY_0)]),
    );
    assert!(deployed.status.success(), "{}", stderr(&deployed));
    let deployment =
        cairn_bindings::Deployment::read(&dir.join("deployment.json")).expect("deployment file");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for key in [DEV_KEY_1, DEV_KEY_2] {
        // Minted only: `register` must approve the registry itself.
        runtime.block_on(fund_dev_token(
            &anvil.endpoint(),
            key,
            deployment.stake_token,
            U256::from(1_000 * TOKEN),
            &[],
        ));
    }

    // Refusals a provider can act on.
    let too_little =
        cairn_with_dir(dir, &["provider", "register", "--stake", "1000"], &with(&provider_key));
    assert_eq!(too_little.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&too_little).contains("insufficient stake"), "{}", stderr(&too_little));
    let wrong_chain = cairn_with_dir(
        dir,
        &["provider", "register", "--stake", "200000000000000000000"],
        &with(&[("CAIRN_PROVIDER_KEY", DEV_KEY_1), ("CAIRN_EVM__CHAIN_ID", "5")]),
    );
    assert_eq!(wrong_chain.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&wrong_chain).contains("chain"), "{}", stderr(&wrong_chain));
    let unreachable = cairn_with_dir(
        dir,
        &[
            "provider",
            "register",
            "--stake",
            "200000000000000000000",
            "--rpc",
            "http://127.0.0.1:9",
        ],
        &with(&provider_key),
    );
    assert_eq!(unreachable.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&unreachable).contains("cannot reach"), "{}", stderr(&unreachable));
    let no_key = cairn_with_dir(dir, &["provider", "withdraw"], &env);
    assert_eq!(no_key.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&no_key).contains("CAIRN_PROVIDER_KEY"), "{}", stderr(&no_key));

    let _indexer = spawn_cairn(dir, &["index"], &env);
    let mut serve = spawn_cairn(dir, &["serve"], &env);
    wait_for("the service", || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    let registered = cairn_with_dir(
        dir,
        &["provider", "register", "--stake", "200000000000000000000"],
        &with(&provider_key),
    );
    assert!(registered.status.success(), "{}", stderr(&registered));
    assert!(stdout(&registered).contains("registered provider"), "{}", stdout(&registered));
    let sent_before =
        runtime.block_on(cairn_test_utils::transactions_sent(&anvil.endpoint(), DEV_KEY_1));
    let again = cairn_with_dir(
        dir,
        &["provider", "register", "--stake", "200000000000000000000"],
        &with(&provider_key),
    );
    assert!(!again.status.success());
    assert!(stderr(&again).contains("already registered"), "{}", stderr(&again));
    assert_eq!(
        runtime.block_on(cairn_test_utils::transactions_sent(&anvil.endpoint(), DEV_KEY_1)),
        sent_before,
        "a refused second register sent a transaction (an approve)"
    );

    let added = cairn_with_dir(
        dir,
        &["provider", "add-endpoint", "--chain", "eip155:1", "--url", "https://node.example/rpc"],
        &with(&provider_key),
    );
    assert!(added.status.success(), "{}", stderr(&added));
    let service_id = stdout(&added).split_whitespace().nth(2).unwrap().to_owned();
    let bad_url = cairn_with_dir(
        dir,
        &["provider", "add-endpoint", "--chain", "eip155:1", "--url", "ftp://node.example"],
        &with(&provider_key),
    );
    assert!(stderr(&bad_url).contains("invalid endpoint"), "{}", stderr(&bad_url));
    let not_operator = cairn_with_dir(
        dir,
        &[
            "provider",
            "add-endpoint",
            "--chain",
            "eip155:1",
            "--url",
            "https://x.example",
            "--provider",
            &address_of(DEV_KEY_1).to_string(),
        ],
        &with(&[("CAIRN_PROVIDER_KEY", DEV_KEY_2)]),
    );
    assert!(
        stderr(&not_operator).contains("not registered")
            || stderr(&not_operator).contains("operator"),
        "{}",
        stderr(&not_operator)
    );

    // The node itself, registered as an endpoint of its own chain: the
    // service's prober finds it healthy and discovery says so.
    let node = anvil.endpoint();
    let local = cairn_with_dir(
        dir,
        &["provider", "add-endpoint", "--chain", "eip155:31337", "--url", &node],
        &with(&provider_key),
    );
    assert!(local.status.success(), "{}", stderr(&local));
    let mut probed = String::new();
    wait_for("the prober to measure the node", || {
        let out = cairn_with_dir(dir, &["discover", "eip155:31337"], &env);
        probed = stdout(&out);
        probed.contains(&node) && probed.contains("healthy: ")
    });
    assert!(probed.contains("answers unsigned"), "anvil signs nothing: {probed}");

    // The service's JSON-RPC gateway routes to that endpoint: `cast`
    // through it answers what it answers straight from the node.
    let cast = |args: &[&str]| {
        let out = Command::new(cairn_test_utils::repo_root().join("node_modules/.bin/cast"))
            .args(args)
            .output()
            .expect("cast runs");
        assert!(out.status.success(), "cast {args:?}: {}", stderr(&out));
        stdout(&out).trim().to_owned()
    };
    let gateway = format!("{base}v1/rpc/eip155:31337");
    let holder = format!("{:#x}", address_of(DEV_KEY_1));
    for args in [["block-number"].as_slice(), &["balance", &holder]] {
        let through = cast(&[args, &["--rpc-url", &gateway]].concat());
        let straight = cast(&[args, &["--rpc-url", &node]].concat());
        assert_eq!(through, straight, "cast {args:?}");
    }

    // The indexer picks it up; discovery through the service returns it.
    let mut discovered = String::new();
    wait_for("the endpoint to be discoverable", || {
        let out = cairn_with_dir(dir, &["discover", "eip155:1", "--json"], &env);
        discovered = stdout(&out);
        out.status.success() && discovered.contains("https://node.example/rpc")
    });
    let listed: serde_json::Value = serde_json::from_str(&discovered).unwrap();
    assert_eq!(
        listed[0]["provider"],
        format!("eip155:31337:{}", address_of(DEV_KEY_1).to_checksum(None))
    );
    // A chain nothing serves: a clear message and a failing exit status.
    let nothing = cairn_with_dir(dir, &["discover", "eip155:999"], &env);
    assert_eq!(nothing.status.code(), Some(1), "{}", stderr(&nothing));
    assert!(stderr(&nothing).contains("no endpoints of kind `rpc`"), "{}", stderr(&nothing));
    let table = cairn_with_dir(dir, &["discover", "eip155:1"], &env);
    assert!(stderr(&table).contains("from Cairn service"), "{}", stderr(&table));
    assert!(stdout(&table).contains("https://node.example/rpc"), "{}", stdout(&table));

    let client = cairn_client::Client::builder().service(base.parse().unwrap()).build();
    let endpoints = runtime.block_on(client.resolve("eip155:1", "rpc")).unwrap();
    assert_eq!(endpoints.len(), 1);
    assert_eq!(endpoints[0].url, "https://node.example/rpc");

    // The operator signs in and describes itself.
    let login = cairn_with_dir(dir, &["login"], &with(&[("CAIRN_LOGIN_KEY", DEV_KEY_1)]));
    assert!(login.status.success(), "{}", stderr(&login));
    let token = stdout(&login).trim().to_owned();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    let provider_id = format!("eip155:31337:{}", address_of(DEV_KEY_1).to_checksum(None));
    let http = reqwest::Client::new();
    let updated = runtime.block_on(async {
        let response = http
            .put(format!("{base}v1/providers/{provider_id}/metadata"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "region": "eu-central", "contact": "ops@node.example" }))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<serde_json::Value>().await.unwrap())
    });
    assert_eq!(updated.0, reqwest::StatusCode::OK, "{}", updated.1);
    let read = runtime.block_on(async {
        http.get(format!("{base}v1/providers/{provider_id}"))
            .send()
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    });
    assert_eq!(read["metadata"]["region"], "eu-central");
    let wrong_domain = cairn_with_dir(
        dir,
        &["login", "--domain", "evil.example"],
        &with(&[("CAIRN_LOGIN_KEY", DEV_KEY_1)]),
    );
    assert_eq!(wrong_domain.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&wrong_domain).contains("domain_not_allowed"), "{}", stderr(&wrong_domain));

    // SIGTERM: the service finishes and says so.
    let pid = serve.child.id();
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
    let log = serve.log();
    assert!(log.contains("service stopped"), "{log}");

    // No service: the registry on chain answers.
    let fallback = cairn_with_dir(dir, &["discover", "eip155:1"], &env);
    assert!(fallback.status.success(), "{}", stderr(&fallback));
    assert!(stderr(&fallback).contains("read registry"), "{}", stderr(&fallback));
    assert!(stdout(&fallback).contains("https://node.example/rpc"), "{}", stdout(&fallback));

    let removed = cairn_with_dir(
        dir,
        &["provider", "remove-endpoint", "--service-id", &service_id],
        &with(&provider_key),
    );
    assert!(removed.status.success(), "{}", stderr(&removed));
    let after = cairn_with_dir(dir, &["discover", "eip155:1", "--json"], &env);
    assert_eq!(stdout(&after).trim(), "[]", "{}", stderr(&after));

    let below = cairn_with_dir(
        dir,
        &["provider", "unbond", "--amount", "150000000000000000000"],
        &with(&provider_key),
    );
    assert!(stderr(&below).contains("insufficient stake"), "{}", stderr(&below));
    let all = cairn_with_dir(
        dir,
        &["provider", "unbond", "--amount", "200000000000000000000"],
        &with(&provider_key),
    );
    assert!(all.status.success(), "{}", stderr(&all));
    let early = cairn_with_dir(dir, &["provider", "withdraw"], &with(&provider_key));
    assert!(stderr(&early).contains("still unbonding"), "{}", stderr(&early));
}
