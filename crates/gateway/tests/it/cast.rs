//! `cast`, a JSON-RPC client nobody here wrote, through the gateway.

use std::process::Command;

use cairn_test_utils::{DEV_KEY_0, DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, address_of, anvil, repo_root};

use crate::support::{config, endpoint, gateway, rpc_url, signing_proxy, status};

fn cast(args: &[&str]) -> String {
    let output = Command::new(repo_root().join("node_modules/.bin/cast"))
        .args(args)
        .output()
        .expect("cast runs (scripts/bootstrap installs it)");
    assert!(
        output.status.success(),
        "cast {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn cast_gets_the_same_answers_through_the_gateway_as_from_anvil() {
    let node = anvil();
    let mut proxies = Vec::new();
    for key in [DEV_KEY_1, DEV_KEY_2, DEV_KEY_3] {
        proxies.push((signing_proxy(node.endpoint(), key).await, address_of(key)));
    }
    let endpoints = proxies.iter().map(|(p, operator)| endpoint(p.url(), *operator)).collect();
    let (gateway, evidence) = gateway(config(), endpoints).await;
    let via = rpc_url(&gateway);
    let direct = node.endpoint();
    let recipient = format!("{:#x}", address_of(DEV_KEY_3));
    let identity = "0x0000000000000000000000000000000000000004";

    let run = |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            cast(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let pair = |args: &[&str]| {
        let mut through: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let mut straight = through.clone();
        through.extend(["--rpc-url".into(), via.clone()]);
        straight.extend(["--rpc-url".into(), direct.clone()]);
        (run(through), run(straight))
    };

    let (a, b) = pair(&["block-number"]);
    assert_eq!(a.await.unwrap(), b.await.unwrap());
    let (a, b) = pair(&["balance", &recipient]);
    let before = a.await.unwrap();
    assert_eq!(before, b.await.unwrap());
    let (a, b) = pair(&["call", identity, "0xdeadbeef"]);
    assert_eq!(a.await.unwrap(), b.await.unwrap());

    let sent = run(vec![
        "send".into(),
        "--private-key".into(),
        DEV_KEY_0.into(),
        "--rpc-url".into(),
        via.clone(),
        recipient.clone(),
        "--value".into(),
        "1000".into(),
    ])
    .await
    .unwrap();
    assert!(sent.contains("status") && sent.contains("1 (success)"), "{sent}");

    let (a, b) = pair(&["balance", &recipient]);
    let after = a.await.unwrap();
    assert_eq!(after, b.await.unwrap());
    let (before, after): (u128, u128) = (before.parse().unwrap(), after.parse().unwrap());
    assert_eq!(after - before, 1000);
    let (a, b) = pair(&["block-number"]);
    assert_eq!(a.await.unwrap(), b.await.unwrap());
    assert!(evidence.records().is_empty(), "honest providers, no evidence");
    assert!(status(&gateway).await["counters"]["quorum_calls"].as_u64().unwrap() >= 2);
}
