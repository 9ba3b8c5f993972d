//! The status page in a real browser: a whole local network (anvil,
//! arlocal, the indexer, `cairn serve` with batcher, prober, gateway and a
//! 2-of-3 threshold group as slasher and settlement signer, an honest provider behind `cairn provider
//! serve`, a liar), then headless Chromium renders `/`. Its tables must
//! say what the JSON API says, the liar's slash must appear once caught,
//! every link must resolve, a killed signer party must show as down and
//! come back up, and a screenshot is left as a test artefact.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use alloy::primitives::U256;
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_3, DEV_KEY_4, address_of, free_port};
use serde_json::{Value, json};

use crate::{
    Running,
    slashing_crashes::{liar, register_liar, slash_of},
    spawn_cairn,
    stack::{Stack, TOKEN, signed_intents},
    support::write_key_file,
};

/// Debian's `chromium`, or a failure that says how to get it: a browser
/// test that skips when there is no browser proves nothing.
fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "chromium is not installed: run scripts/bootstrap (it installs Debian's chromium \
             and chromium-driver), or `apt-get install -y chromium chromium-driver`"
        )
    })
}

/// Runs headless Chromium on `url` in a `width` × 2000 window with
/// `args`; its stdout.
fn headless(profile: &Path, url: &str, width: u32, args: &[&str]) -> String {
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--timeout=20000")
        .arg(format!("--window-size={width},2000"))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium runs");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The DOM Chromium built from the page.
fn rendered(profile: &Path, url: &str) -> String {
    let dom = headless(profile, url, 1280, &["--dump-dom"]);
    assert!(dom.contains("Cairn status"), "not the status page: {dom}");
    dom
}

fn decode(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

/// Text of `html` without its tags.
fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode(out.trim())
}

/// The body rows of the table with `id`, each a list of cell texts.
fn table(dom: &str, id: &str) -> Vec<Vec<String>> {
    let start = dom
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table {id} on the page:\n{dom}"));
    let rest = &dom[start..];
    let body = &rest[..rest.find("</table>").expect("a closed table")];
    let body = &body[body.find("<tbody>").expect("a table body")..];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let cell = &cell[cell.find('>').map_or(0, |i| i + 1)..];
                    text(&cell[..cell.find("</td>").unwrap_or(cell.len())])
                })
                .collect()
        })
        .collect()
}

/// The row of table `id` whose `column` reads `key`.
fn row(dom: &str, id: &str, column: usize, key: &str) -> Vec<String> {
    let rows = table(dom, id);
    rows.iter()
        .find(|r| r.get(column).is_some_and(|c| c == key))
        .cloned()
        .unwrap_or_else(|| panic!("no row `{key}` in {id}: {rows:?}"))
}

/// Every `href` on the page.
fn links(dom: &str) -> Vec<String> {
    dom.split("href=\"").skip(1).filter_map(|s| s.split('"').next()).map(decode).collect()
}

fn get_json(stack: &Stack, path: &str) -> Value {
    stack
        .http
        .get(format!("{}{path}", stack.base))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

fn dash(value: &Value) -> String {
    value.as_str().map_or_else(|| "–".to_owned(), str::to_owned)
}

/// Where the screenshot goes: `$CARGO_TARGET_DIR/artifacts`, or the target
/// directory the `cairn` binary was built into.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_cairn"));
        bin.parent().and_then(Path::parent).map(Path::to_owned).expect("a target dir")
    });
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A screenshot of `url` `width` pixels wide, checked to be a PNG.
fn screenshot(profile: &Path, url: &str, width: u32, png: &Path) {
    let _ = std::fs::remove_file(png);
    headless(profile, url, width, &[&format!("--screenshot={}", png.display())]);
    let bytes = std::fs::read(png).expect("chromium wrote the screenshot");
    assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", png.display());
    eprintln!("status page screenshot: {}", png.display());
}

/// `cairn provider serve` in front of anvil, signing with `DEV_KEY_1`.
fn sidecar(stack: &Stack) -> (Running, String) {
    let key = write_key_file(&stack.dir.path().join("operator.key"), DEV_KEY_1);
    let listen = format!("127.0.0.1:{}", free_port());
    let running = spawn_cairn(
        stack.dir.path(),
        &[
            "provider",
            "serve",
            "--upstream",
            &stack.anvil.endpoint(),
            "--listen",
            &listen,
            "--chain",
            "eip155:31337",
            "--key-file",
            key.to_str().unwrap(),
            "--tip-poll-ms",
            "100",
        ],
        &[],
    );
    let port: u16 = listen.rsplit(':').next().unwrap().parse().unwrap();
    stack.wait("the sidecar to listen", || crate::listening(port));
    (running, format!("http://{listen}"))
}

#[test]
fn the_status_page_shows_what_the_api_says_in_a_real_browser() {
    chromium();
    let mut stack = Stack::start(None);
    let profile = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // The slasher and settlement signer roles go to a 2-of-3 threshold
    // group, as in `scripts/dev`.
    let mut group = stack.threshold_group(true, true);

    // An honest provider (DEV_KEY_3, operator DEV_KEY_1) behind its
    // sidecar, and the liar with no endpoint.
    let (sidecar, sidecar_url) = sidecar(&stack);
    runtime.block_on(cairn_test_utils::register_provider(
        &stack.anvil.endpoint(),
        &stack.deployment,
        DEV_KEY_3,
        DEV_KEY_1,
        U256::from(300 * TOKEN),
        &[("eip155:31337", sidecar_url.as_str())],
    ));
    let store =
        runtime.block_on(cairn_store::Store::open_configured(None, stack.dir.path())).unwrap();
    register_liar(&stack, &store);

    let mut env = vec![
        ("CAIRN_SLASHING__ENABLED", "true"),
        ("CAIRN_SLASHING__TICK_MS", "100"),
        ("CAIRN_SLASHING__RETRY_SECS", "1"),
        ("CAIRN_SLASHING__SIGNER", "\"threshold\""),
        ("CAIRN_SETTLEMENT__SIGNER", "\"threshold\""),
        ("CAIRN_SETTLEMENT__WINDOW_SECONDS", "1"),
        ("CAIRN_PROBER__INTERVAL_MS", "300"),
        ("CAIRN_PROBER__JITTER_MS", "0"),
        ("CAIRN_PROBER__TIMEOUT_MS", "1000"),
    ];
    env.extend(group.env());
    stack.serve(&env);
    let page = format!("{}/", stack.base);

    // Before the liar is caught, the page has no slash.
    let before = rendered(profile.path(), &page);
    assert!(before.contains("no slash order yet"), "{before}");

    // Probed, routed through the gateway, paid for and settled.
    stack.wait("the endpoint to be probed", || {
        let services = get_json(&stack, "/v1/services?chain=eip155:31337");
        services["items"][0]["why"]["probes"].as_u64().is_some_and(|n| n > 0)
    });
    for id in 0..5 {
        let answer: Value = stack
            .http
            .post(format!("{}/v1/rpc/eip155:31337", stack.base))
            .json(&json!({"jsonrpc": "2.0", "id": id, "method": "eth_blockNumber", "params": []}))
            .send()
            .and_then(|r| r.json())
            .unwrap();
        assert!(answer["result"].is_string(), "{answer}");
    }
    let signed = signed_intents(&stack.deployment, 0..6, |_| U256::from(TOKEN / 100));
    let body = json!({ "intents": signed.bodies });
    stack.wait("the intents to be accepted", || {
        stack.post_intents(&body).is_some_and(|a| a["accepted"].as_u64() == Some(6))
    });
    stack.wait_up_to(Duration::from_secs(180), "the batch to settle", || {
        stack.batch(1)["stage"] == "settled" && stack.batch(1)["upload"]["url"].is_string()
    });

    // The liar is caught: its conflicting answers become a slash.
    let evidence = cairn_test_utils::evidence::conflicting_answers(&liar());
    assert!(runtime.block_on(store.put_evidence(&evidence, 1)).unwrap());
    stack.wait_up_to(Duration::from_secs(120), "the slash to be indexed", || {
        slash_of(&stack, &evidence)["stage"] == "slashed"
            && slash_of(&stack, &evidence)["receipt_url"].is_string()
    });
    // Discovery's snapshot is cached briefly; let it see the slash.
    stack.wait("discovery to count the slash", || {
        get_json(&stack, "/v1/providers")["items"]
            .as_array()
            .is_some_and(|items| items.iter().any(|p| p["slashes"] == 1))
    });

    let dom = rendered(profile.path(), &page);
    let providers = get_json(&stack, "/v1/providers");
    let services = get_json(&stack, "/v1/services?chain=eip155:31337");
    let gateway = get_json(&stack, "/v1/gateway/stats");
    let batches = get_json(&stack, "/v1/batches");
    let slashes = get_json(&stack, "/v1/slashes");
    let signer = get_json(&stack, "/v1/signer");

    // Providers: stake, status and slashes as `/v1/providers` says.
    let listed = providers["items"].as_array().unwrap();
    assert_eq!(table(&dom, "providers-table").len(), listed.len());
    for provider in listed {
        let cells = row(&dom, "providers-table", 1, provider["address"].as_str().unwrap());
        assert_eq!(cells[3], provider["stake"].as_str().unwrap(), "{cells:?}");
        assert_eq!(cells[5], provider["status"].as_str().unwrap(), "{cells:?}");
        assert_eq!(cells[6], provider["slashes"].to_string(), "{cells:?}");
    }
    let liar_address = format!("{:#x}", address_of(DEV_KEY_4));
    let liar_listed = listed
        .iter()
        .find(|p| p["address"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(&liar_address)))
        .expect("the liar is listed");
    assert_eq!(liar_listed["slashes"], 1, "{liar_listed}");
    let liar_row = row(&dom, "providers-table", 1, liar_listed["address"].as_str().unwrap());
    assert!(liar_row[9].contains("slashed"), "the liar's evidence is linked: {liar_row:?}");

    // Registries as `/v1/chains` lists them; the indexed block moves on
    // between the two reads, so it is only checked to be there.
    let chains = get_json(&stack, "/v1/chains");
    let registry = &chains["registries"][0];
    let cells = row(&dom, "registries-table", 1, registry["registry"].as_str().unwrap());
    assert_eq!(cells[0], registry["chain"].as_str().unwrap());
    assert!(cells[2].parse::<u64>().is_ok_and(|b| b > 0), "{cells:?}");

    // Endpoints: as discovery ranks them.
    let ranked = services["items"].as_array().unwrap();
    assert_eq!(ranked.len(), 1, "{services}");
    let cells = row(&dom, "endpoints-0", 2, &sidecar_url);
    assert_eq!(cells[3], ranked[0]["provider"].as_str().unwrap());
    assert_eq!(cells[4], ranked[0]["why"]["stake"].as_str().unwrap());
    assert_eq!(cells[11], ranked[0]["why"]["slashes"].to_string());

    // Gateway: requests and errors per endpoint, and the counters.
    let endpoint = &gateway["chains"][0]["endpoints"][0];
    let cells = row(&dom, "gateway-endpoints", 1, &sidecar_url);
    assert_eq!(cells[3], endpoint["attempts"].to_string(), "{cells:?}");
    assert!(endpoint["attempts"].as_u64().unwrap() >= 5, "{gateway}");
    assert_eq!(cells[4], endpoint["failures"].to_string());
    assert_eq!(cells[6], endpoint["breaker"].as_str().unwrap());
    let calls = row(&dom, "gateway-counters", 0, "calls");
    assert_eq!(calls[1], gateway["counters"]["calls"].to_string());

    // Batches: stage, receipt on Arweave, settlement transaction.
    let batch = &batches["items"][0];
    let cells = row(&dom, "batches-table", 0, &batch["batch_id"].to_string());
    assert_eq!(cells[1], "settled");
    assert_eq!(cells[1], batch["stage"].as_str().unwrap());
    assert_eq!(cells[2], batch["intent_count"].to_string());
    assert_eq!(cells[5], batch["receipt_id"].as_str().unwrap());
    assert_eq!(cells[6], dash(&batch["settled_tx"]));
    assert!(links(&dom).contains(&batch["upload"]["url"].as_str().unwrap().to_owned()));

    // Slashes: the liar's, with its evidence, receipt and transaction.
    let slash = &slashes["items"][0];
    let cells = row(&dom, "slashes-table", 5, slash["evidence_hash"].as_str().unwrap());
    assert_eq!(cells[0], "slashed");
    assert_eq!(cells[1], slash["provider"].as_str().unwrap());
    assert_eq!(cells[4], slash["amount"].as_str().unwrap());
    assert_eq!(cells[6], slash["receipt_id"].as_str().unwrap());
    assert_eq!(cells[7], slash["tx_hash"].as_str().unwrap());
    let hrefs = links(&dom);
    assert!(hrefs.contains(&slash["evidence_url"].as_str().unwrap().to_owned()), "{hrefs:?}");
    assert!(hrefs.contains(&slash["receipt_url"].as_str().unwrap().to_owned()), "{hrefs:?}");

    // Signer: every party up, with the sessions it reports.
    assert_eq!(signer["signer"], "threshold");
    assert_eq!(signer["settlement_signer"], "threshold");
    assert_eq!(signer["settlement_address"], format!("{:#x}", group.key.address));
    assert!(dom.contains("batch commitments: <b>threshold</b>"), "{dom}");
    for party in signer["parties"].as_array().unwrap() {
        let cells = row(&dom, "signer-parties", 0, &party["index"].to_string());
        assert_eq!(cells[2], "up", "{cells:?}");
        assert_eq!(cells[3], party["sessions_completed"].to_string());
    }
    let signed_once = signer["parties"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| {
            p["last_session"]["kind"] == "sign" && p["last_session"]["outcome"] == "completed"
        })
        .count();
    assert!(signed_once >= 2, "two parties signed the slash: {signer}");
    let sessions: u64 = signer["parties"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["sessions_completed"].as_u64())
        .sum();
    assert!(sessions >= 4, "two parties signed the batch and two the slash: {signer}");

    // Every link resolves.
    let mut checked = BTreeMap::new();
    for href in links(&dom) {
        if href.starts_with('#') || checked.contains_key(&href) {
            continue;
        }
        let url =
            if href.starts_with('/') { format!("{}{href}", stack.base) } else { href.clone() };
        let status = stack.http.get(&url).send().map(|r| r.status().as_u16()).unwrap_or(0);
        checked.insert(href, status);
    }
    assert!(checked.len() >= 8, "{checked:?}");
    assert!(checked.values().all(|s| *s == 200), "every link answers 200: {checked:?}");

    // The screenshot, for people (and CI artefacts).
    screenshot(profile.path(), &page, 1280, &artifacts().join("status-page.png"));

    // A killed party is down on the page, and up again once restarted.
    group.stop(2);
    let dom = rendered(profile.path(), &page);
    assert_eq!(row(&dom, "signer-parties", 0, "2")[2], "down");
    assert_eq!(row(&dom, "signer-parties", 0, "0")[2], "up");
    group.start(2);
    let dom = rendered(profile.path(), &page);
    assert_eq!(row(&dom, "signer-parties", 0, "2")[2], "up");

    // A killed provider: the gateway's connect errors show on the page.
    drop(sidecar);
    let answer: Value = stack
        .http
        .post(format!("{}/v1/rpc/eip155:31337", stack.base))
        .json(&json!({"jsonrpc": "2.0", "id": 9, "method": "eth_blockNumber", "params": []}))
        .send()
        .and_then(|r| r.json())
        .unwrap();
    assert!(answer["error"].is_object(), "no endpoint is left: {answer}");
    let dom = rendered(profile.path(), &page);
    let gateway = get_json(&stack, "/v1/gateway/stats");
    let endpoint = &gateway["chains"][0]["endpoints"][0];
    let connect = endpoint["failures_by_kind"]["connect"].as_u64().unwrap_or(0);
    assert!(connect > 0, "{gateway}");
    let cells = row(&dom, "gateway-endpoints", 1, &sidecar_url);
    assert_eq!(cells[4], endpoint["failures"].to_string(), "{cells:?}");
    assert!(cells[5].contains(&format!("connect: {connect}")), "{cells:?}");

    // And as a phone shows it.
    screenshot(profile.path(), &page, 390, &artifacts().join("status-page-phone.png"));
    runtime.block_on(store.close());
}
