//! Throughput of the settlement ledger, each figure beside a baseline
//! measured in the same run (see docs/benchmarks.md for the results):
//!
//! - netting 1,000,000 accepted intents over 10,000 accounts and 4 assets,
//!   against a plain hash-map sum of the same intents;
//! - acceptance bookkeeping (nonce and reservation checks, no signatures);
//! - closing a 100,000-intent batch (netting, sort, both roots) against
//!   netting alone;
//! - signed intents through verification, acceptance and netting on two
//!   threads, against raw signature recovery on two threads (libsecp256k1)
//!   and against k256 recovery.
//!
//!   cargo bench -p cairn-core --bench netting

use std::{collections::HashMap, hint::black_box, num::NonZeroUsize, thread, time::Duration};

use alloy_primitives::{Address, B256, U256, keccak256};
use cairn_core::{
    eip712::{PaymentIntent, settlement_domain, signing_hash},
    intent::{SignedIntent, verify_intents},
    netting::{BatchPolicy, Ledger},
    signature::recover_address,
};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use k256::ecdsa::SigningKey;

const ACCOUNTS: u64 = 10_000;
const ASSETS: u64 = 4;
const NOW: u64 = 1_000;

fn address(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&keccak256(n.to_be_bytes())[..8]);
    bytes[12..].copy_from_slice(&(n + 1).to_be_bytes());
    Address::from(bytes)
}

fn assets() -> Vec<Address> {
    (0..ASSETS).map(|a| address(1_000_000 + a)).collect()
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn intents(count: usize, payers: &[Address], payees: u64) -> Vec<(PaymentIntent, B256)> {
    let domain = settlement_domain(31337, address(9_999_999));
    let assets = assets();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|i| {
            let payer = payers[(rng.next() % payers.len() as u64) as usize];
            let mut payee = address(rng.next() % payees);
            if payee == payer {
                payee = address(payees + 1);
            }
            let intent = PaymentIntent {
                payer,
                payee,
                asset: assets[(rng.next() % ASSETS) as usize],
                amount: U256::from(1 + rng.next() % 1_000),
                nonce: U256::from(i),
                validUntil: NOW + 3_600,
            };
            let digest = signing_hash(&intent, &domain);
            (intent, digest)
        })
        .collect()
}

fn funded_ledger(payers: &[Address], max_intents: usize) -> Ledger {
    let policy = BatchPolicy { min_intents: 1, max_intents, window_seconds: 60, max_deltas: 1_000 };
    let mut ledger = Ledger::new(policy, assets(), 1, NOW);
    for payer in payers {
        for asset in assets() {
            ledger.deposit(*payer, asset, 1 << 100).unwrap();
        }
    }
    ledger
}

fn accepted_ledger(count: usize) -> Ledger {
    let payers: Vec<Address> = (0..ACCOUNTS).map(address).collect();
    let mut ledger = funded_ledger(&payers, count);
    for (intent, digest) in intents(count, &payers, ACCOUNTS) {
        ledger.accept(&intent, digest, NOW).unwrap();
    }
    ledger
}

fn netting(c: &mut Criterion) {
    const N: usize = 1_000_000;
    let payers: Vec<Address> = (0..ACCOUNTS).map(address).collect();
    let batch = intents(N, &payers, ACCOUNTS);
    let mut ledger = accepted_ledger(N);

    let mut group = c.benchmark_group("netting-1M");
    group.throughput(Throughput::Elements(N as u64));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("baseline-hashmap-sum", |b| {
        b.iter(|| {
            let mut sums: HashMap<(Address, Address), i128> =
                HashMap::with_capacity(2 * ACCOUNTS as usize * 4);
            for (intent, _) in &batch {
                let amount = i128::try_from(intent.amount).unwrap();
                *sums.entry((intent.payer, intent.asset)).or_default() -= amount;
                *sums.entry((intent.payee, intent.asset)).or_default() += amount;
            }
            black_box(sums.len())
        })
    });
    group.bench_function("ledger-pending-deltas", |b| {
        b.iter(|| black_box(ledger.pending_deltas().len()))
    });
    group.finish();

    let mut group = c.benchmark_group("acceptance-1M");
    group.throughput(Throughput::Elements(N as u64));
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    group.bench_function("accept", |b| {
        b.iter_batched(
            || funded_ledger(&payers, N),
            |mut ledger| {
                for (intent, digest) in &batch {
                    ledger.accept(intent, *digest, NOW).unwrap();
                }
                ledger
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn close(c: &mut Criterion) {
    const N: usize = 100_000;
    let ledger = accepted_ledger(N);
    let mut group = c.benchmark_group("close-100k");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    let mut netting_only = ledger.clone();
    group.bench_function("netting-only", |b| {
        b.iter(|| black_box(netting_only.pending_deltas().len()))
    });
    group.bench_function("close-batch", |b| {
        b.iter_batched(
            || ledger.clone(),
            |mut ledger| black_box(ledger.close_batch(B256::ZERO, NOW + 1).unwrap().body),
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn signed(c: &mut Criterion) {
    const N: usize = 20_000;
    let keys: Vec<SigningKey> = (1..=200u32)
        .map(|i| SigningKey::from_bytes(&keccak256(i.to_be_bytes()).0.into()).unwrap())
        .collect();
    let payers: Vec<Address> = keys
        .iter()
        .map(|k| {
            Address::from_slice(
                &keccak256(&k.verifying_key().to_encoded_point(false).as_bytes()[1..])[12..],
            )
        })
        .collect();
    let domain = settlement_domain(31337, address(9_999_999));
    let signed: Vec<SignedIntent> = intents(N, &payers, ACCOUNTS)
        .into_iter()
        .map(|(intent, digest)| {
            let key = &keys[payers.iter().position(|p| *p == intent.payer).unwrap()];
            let (sig, id) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
            let mut signature = [0u8; 65];
            signature[..64].copy_from_slice(&sig.to_bytes());
            signature[64] = 27 + id.to_byte();
            SignedIntent { intent, signature }
        })
        .collect();
    let digests: Vec<B256> = signed.iter().map(|s| signing_hash(&s.intent, &domain)).collect();
    let two = NonZeroUsize::new(2).unwrap();

    let mut group = c.benchmark_group("signed-20k-2-threads");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("raw-recovery-secp256k1", |b| {
        b.iter(|| {
            count_on_two_threads(&signed, &digests, |s, d| recover_address(d, &s.signature).is_ok())
        })
    });
    group.bench_function("raw-recovery-k256", |b| {
        b.iter(|| {
            count_on_two_threads(&signed, &digests, |s, d| {
                let sig = k256::ecdsa::Signature::from_slice(&s.signature[..64]).unwrap();
                let id = k256::ecdsa::RecoveryId::from_byte(s.signature[64] - 27).unwrap();
                k256::ecdsa::VerifyingKey::recover_from_prehash(d.as_slice(), &sig, id).is_ok()
            })
        })
    });
    group.bench_function("pipeline-verify-accept-net", |b| {
        b.iter_batched(
            || funded_ledger(&payers, N),
            |mut ledger| {
                let verified = verify_intents(&domain, &signed, two);
                for (s, digest) in signed.iter().zip(verified) {
                    ledger.accept(&s.intent, digest.unwrap(), NOW).unwrap();
                }
                black_box(ledger.pending_deltas().len());
                ledger
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Splits the intents in two halves, one per thread, and counts those
/// `recovers` accepts.
fn count_on_two_threads(
    signed: &[SignedIntent],
    digests: &[B256],
    recovers: impl Fn(&SignedIntent, &B256) -> bool + Sync,
) -> usize {
    let half = signed.len().div_ceil(2);
    let recovers = &recovers;
    thread::scope(|s| {
        let workers: Vec<_> = signed
            .chunks(half)
            .zip(digests.chunks(half))
            .map(|(sigs, ds)| {
                s.spawn(move || sigs.iter().zip(ds).filter(|(s, d)| recovers(s, d)).count())
            })
            .collect();
        black_box(workers.into_iter().map(|w| w.join().unwrap()).sum())
    })
}

criterion_group!(benches, netting, close, signed);
criterion_main!(benches);
