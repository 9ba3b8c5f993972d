//! Signing latency on loopback: 2-of-3 and 3-of-5 threshold signing against
//! the local key, in one run. Parties are in this process but talk only
//! over TCP with signed messages, as separate processes do.
//!
//! `cargo run -p cairn-threshold --example bench -- [ROUNDS]`

use std::{os::unix::fs::PermissionsExt, path::PathBuf, time::Instant};

use alloy_primitives::{Address, B256, U256};
use cairn_core::eip712::BatchCommitment;
use cairn_core::netting::{BatchIntent, ClosedBatch};
use cairn_signer::LocalSigner;
use cairn_threshold::{
    Policy, RequestSigner, SigningRequest, ThresholdSigner, harness::LocalGroup, read_group_key,
};

fn batch_request(id: u64, prev: B256) -> SigningRequest {
    let asset = Address::repeat_byte(0xa0);
    let intents = vec![BatchIntent {
        digest: B256::from(U256::from(id)),
        payer: Address::repeat_byte(1),
        payee: Address::repeat_byte(2),
        asset,
        amount: 500,
    }];
    let batch = ClosedBatch::assemble(id, prev, id * 10, id * 10 + 5, intents).expect("assembles");
    let commitment: BatchCommitment = batch.body.commit(B256::repeat_byte(0xcc));
    SigningRequest::BatchCommitment {
        chain_id: 31337,
        settlement: Address::repeat_byte(0x33),
        commitment,
        batch,
        previous: None,
    }
}

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let max = ms[ms.len() - 1];
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    println!(
        "{name:<26} n={:<3} median {median:>8.1} ms  mean {mean:>8.1} ms  max {max:>8.1} ms",
        ms.len()
    );
}

async fn run(signer: &dyn RequestSigner, rounds: u64) -> Vec<f64> {
    let mut prev = B256::ZERO;
    let mut ms = Vec::new();
    for id in 1..=rounds {
        let request = batch_request(id, prev);
        let started = Instant::now();
        signer.sign_request(&request).await.expect("signs");
        ms.push(started.elapsed().as_secs_f64() * 1e3);
        prev = request.digest();
    }
    ms
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: u64 = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(10);
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let local = LocalSigner::from_hex(&format!("0x{}", "11".repeat(32)))?;
    summary("local key", run(&local, rounds).await);
    for (t, n) in [(2u16, 3u16), (3, 5)] {
        let dir = tempfile::tempdir()?;
        for i in 0..n {
            let to = dir.path().join(format!("share-{i}.json"));
            std::fs::copy(fixtures.join(format!("{t}-of-{n}/share-{i}.json")), &to)?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
        }
        let group = LocalGroup::start(dir.path(), t, n, Policy::default(), 30_000).await?;
        let key = read_group_key(&fixtures.join(format!("{t}-of-{n}/group-key.json")))?;
        let signer = ThresholdSigner::new(group.group.clone(), key)?;
        summary(&format!("threshold {t}-of-{n}"), run(&signer, rounds).await);
    }
    Ok(())
}
