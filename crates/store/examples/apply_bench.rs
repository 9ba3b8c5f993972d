//! Throughput of `Store::apply` alone, on the dense history the indexer
//! benchmark replays (per block one settled batch of 100 balance changes),
//! written in final ranges of 49 blocks as a backfill writes them. No node
//! is involved, so this isolates the store's cost per event.
//!
//!   cargo run --release -p cairn-store --example apply_bench [RANGES] [sqlite|postgres]

use std::time::Instant;

use cairn_store::{BlockBatch, Store};
use cairn_test_utils::history::settled_blocks;

/// The allocator the `cairn` binary uses, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const CHAIN: &str = "eip155:31337";
const BLOCKS_PER_RANGE: u64 = 49;
const DELTAS_PER_BATCH: u64 = 100;

/// The range starting at block `first`; every range is final, so it takes
/// the bulk path a backfill takes.
fn range(first: u64) -> BlockBatch {
    settled_blocks(first, first + BLOCKS_PER_RANGE - 1, DELTAS_PER_BATCH, u64::MAX / 2)
}

/// CPU seconds (user + system) of this process's threads so far: the
/// calling thread (our side of the store) and SQLite's worker threads (the
/// engine, one per connection), summed by kind.
fn thread_cpu() -> (f64, f64) {
    let (mut ours, mut engine) = (0.0, 0.0);
    let me = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    for task in std::fs::read_dir("/proc/self/task").into_iter().flatten().flatten() {
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        let Some((head, tail)) = stat.rsplit_once(')') else { continue };
        // utime and stime are the 12th and 13th fields after the name, in
        // clock ticks (100 per second on Linux).
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        let seconds = (ticks(11) + ticks(12)) / 100.0;
        if head.ends_with("(sqlx-sqlite-wor") {
            engine += seconds;
        } else if me.split_whitespace().next() == stat.split_whitespace().next() {
            ours += seconds;
        }
    }
    (ours, engine)
}

async fn run(name: &str, store: &Store, ranges: u64) {
    let batches: Vec<BlockBatch> = (0..ranges).map(|r| range(1 + r * BLOCKS_PER_RANGE)).collect();
    let events: usize = batches.iter().map(|b| b.events.len()).sum();
    let cpu_before = thread_cpu();
    let started = Instant::now();
    for batch in &batches {
        store.apply(CHAIN, batch).await.expect("the range applies");
    }
    let elapsed = started.elapsed();
    let cpu_after = thread_cpu();
    // A fast store that dropped rows would be no result: check what landed.
    let dump = store.dump(CHAIN).await.expect("the store dumps");
    assert_eq!(dump["events"].len(), events, "every event is stored");
    assert_eq!(
        dump["deltas"].len() as u64,
        ranges * BLOCKS_PER_RANGE * DELTAS_PER_BATCH,
        "every delta is stored"
    );
    assert_eq!(dump["balances"].len() as u64, DELTAS_PER_BATCH, "one balance per payee");
    let (ours, engine) = (cpu_after.0 - cpu_before.0, cpu_after.1 - cpu_before.1);
    // PostgreSQL's engine is the server, another process.
    let engine =
        if engine > 0.0 { format!(", SQLite's threads {engine:.2} s") } else { String::new() };
    println!(
        "{name}: {events} events in {elapsed:.2?} = {:.0} events/s ({:.2} µs/event); CPU: calling thread {ours:.2} s{engine}",
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / events as f64,
    );
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let ranges: u64 = args.next().map_or(20, |a| a.parse().expect("RANGES is a number"));
    let only = args.next();
    let wants = |name: &str| only.as_deref().is_none_or(|o| o == name);
    if wants("sqlite") {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("bench.db").display());
        run("SQLite", &Store::open(&url).await.unwrap(), ranges).await;
    }
    if wants("postgres") {
        let stores = cairn_test_utils::stores().await;
        run("PostgreSQL", &stores.postgres, ranges).await;
        stores.cleanup().await;
    }
}
