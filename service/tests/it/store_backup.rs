//! `cairn store backup` copies the embedded store while `cairn serve` and
//! `cairn index` write to it, and the copy restores into a data directory
//! a service starts on; a PostgreSQL store is refused with the tool to use.

use alloy::primitives::U256;
use cairn_service::exit;
use cairn_test_utils::{address_of, stores};
use serde_json::json;

use crate::{
    cairn_with_dir,
    stack::{PAYERS, Stack, TOKEN, signed_intents},
    stderr, stdout,
};

#[test]
fn a_backup_taken_while_the_stack_runs_restores_into_a_working_store() {
    let mut stack = Stack::start(None);
    stack.start_indexer();
    stack.serve(&[("CAIRN_SETTLEMENT__WINDOW_SECONDS", "0")]);
    let signed = signed_intents(&stack.deployment, 0..6, |_| U256::from(TOKEN / 100));
    let answer = stack.post_intents(&json!({ "intents": signed.bodies })).expect("an answer");
    assert_eq!(answer["accepted"], 6, "{answer}");
    stack.wait("batch 1 to settle", || stack.batch(1)["stage"] == "settled");

    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("cairn.db");
    let backup = stack.cairn(&["store", "backup", "--out", copy.to_str().unwrap()]);
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert!(stdout(&backup).contains("backed up"), "{}", stdout(&backup));
    // A second backup to the same file is refused, and the file kept.
    let again = stack.cairn(&["store", "backup", "--out", copy.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(i32::from(exit::FAILURE)), "{}", stderr(&again));
    assert!(stderr(&again).contains("never overwrites"), "{}", stderr(&again));

    // Restored: the copy is the data directory's store, and what it held
    // (the settled batch, the payers' balances) is there.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let restored = runtime.block_on(cairn_store::Store::open_configured(None, out.path())).unwrap();
    let batch = runtime.block_on(restored.closed_batch("eip155:31337", 1)).unwrap();
    assert!(batch.is_some_and(|(b, _)| b.intents.len() == 6), "batch 1 is in the copy");
    let payer = format!("{:#x}", address_of(PAYERS[0]));
    let asset = format!("{:#x}", stack.deployment.stake_token);
    let balance = runtime.block_on(restored.balance("eip155:31337", &payer, &asset)).unwrap();
    assert!(balance < U256::from(100 * TOKEN), "payer 0 paid in batch 1: {balance}");
    runtime.block_on(restored.close());
}

#[test]
fn a_postgres_store_is_refused_with_the_tool_to_use() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stores = runtime.block_on(stores());
    let dir = tempfile::tempdir().unwrap();
    let url = stores.postgres_url();
    let out = cairn_with_dir(
        dir.path(),
        &["store", "backup", "--out", "copy.db"],
        &[("CAIRN_STORE__URL", url.as_str())],
    );
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&out));
    assert!(stderr(&out).contains("pg_dump"), "{}", stderr(&out));
    assert!(!dir.path().join("copy.db").exists());
    runtime.block_on(stores.cleanup());
}
