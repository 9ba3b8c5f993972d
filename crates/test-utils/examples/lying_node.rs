//! A node that lies on a schedule, for the local network `scripts/dev`
//! runs: a JSON-RPC proxy in front of a real node that alters the result
//! of every `--every`th `eth_getBalance` (and passes everything else), so
//! the provider whose sidecar signs its answers is caught by the gateway's
//! k-of-n check and slashed. Prints its URL on the first line of stdout and
//! runs until killed.
//!
//! `cargo run -p cairn-test-utils --example lying_node -- UPSTREAM_URL [EVERY]`

use cairn_test_utils::{Fault, FaultyRpc};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let Some(upstream) = args.next() else {
        eprintln!("usage: lying_node UPSTREAM_URL [EVERY]");
        std::process::exit(64);
    };
    let every: u64 = match args.next().map(|e| e.parse()) {
        None => 3,
        Some(Ok(every)) if every > 0 => every,
        Some(_) => {
            eprintln!("EVERY must be a whole number above 0");
            std::process::exit(64);
        }
    };
    let node = FaultyRpc::start(upstream, move |method, n| {
        if method == "eth_getBalance" && n % every == every - 1 {
            Fault::AlterResult
        } else {
            Fault::Pass
        }
    })
    .await;
    println!("{}", node.url());
    eprintln!("lying node at {}: every {every}th eth_getBalance answer is altered", node.url());
    std::future::pending::<()>().await;
}
