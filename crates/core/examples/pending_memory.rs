//! Peak memory of a ledger holding 1,000,000 accepted, pending intents over
//! 10,000 accounts and 4 assets, against the process before the ledger was
//! built (the intents to accept are generated and dropped first).
//!
//!   cargo run --release -p cairn-core --example pending_memory

use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_core::{
    eip712::PaymentIntent,
    netting::{BatchPolicy, Ledger},
};

const INTENTS: u64 = 1_000_000;
const ACCOUNTS: u64 = 10_000;

fn address(n: u64) -> Address {
    Address::from_slice(&keccak256(n.to_be_bytes())[12..])
}

/// Resident set size in KiB, from /proc.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("field in /proc/self/status");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number of KiB")
}

fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

fn main() {
    let assets: Vec<Address> = (0..4).map(|a| address(1_000_000 + a)).collect();
    let before = rss_kib();
    let policy = BatchPolicy {
        min_intents: 1,
        max_intents: INTENTS as usize,
        window_seconds: 60,
        max_deltas: 1_000,
    };
    let mut ledger = Ledger::new(policy, assets.clone(), 1, 0);
    for account in 0..ACCOUNTS {
        for asset in &assets {
            ledger.deposit(address(account), *asset, 1 << 100).unwrap();
        }
    }
    for i in 0..INTENTS {
        let intent = PaymentIntent {
            payer: address(i % ACCOUNTS),
            payee: address((i * 7 + 1) % ACCOUNTS),
            asset: assets[(i % 4) as usize],
            amount: U256::from(1 + i % 1000),
            nonce: U256::from(i),
            validUntil: 3_600,
        };
        let digest = B256::from(keccak256(i.to_be_bytes()));
        ledger.accept(&intent, digest, 0).expect("funded");
    }
    let after = rss_kib();
    let used = (after - before) as f64 / 1024.0;
    println!("pending intents: {}", ledger.pending_len());
    println!("rss before ledger: {:.1} MiB", before as f64 / 1024.0);
    println!("rss with ledger:   {:.1} MiB", after as f64 / 1024.0);
    println!("peak rss (VmHWM):  {:.1} MiB", status_kib("VmHWM:") as f64 / 1024.0);
    println!(
        "ledger holding {INTENTS} pending intents: {used:.1} MiB ({:.0} bytes per intent)",
        used * 1024.0 * 1024.0 / INTENTS as f64
    );
}
