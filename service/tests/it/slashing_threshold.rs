//! The slashing pipeline signing through a 2-of-3 threshold group of
//! `cairn signer party` processes, the registry's slasher being the group's
//! address: with two parties down the order waits (the signer is
//! unavailable) and is retried; once a second party is back, the order is
//! signed by two of them, each having checked the evidence itself, and the
//! liar is slashed exactly once.

use cairn_test_utils::evidence::conflicting_answers;

use crate::{
    slashing_crashes::{check_slashed_once, liar, register_liar, slash_of},
    stack::Stack,
};

#[test]
fn a_threshold_group_signs_the_slash_once_two_parties_are_up() {
    let mut stack = Stack::start(None);
    // The owner (the deployer) hands the slasher role to the group.
    let mut group = stack.threshold_group(true, false);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store =
        runtime.block_on(cairn_store::Store::open_configured(None, stack.dir.path())).unwrap();
    register_liar(&stack, &store);

    group.stop(0);
    group.stop(1);
    let mut env = vec![
        ("CAIRN_SLASHING__ENABLED", "true"),
        ("CAIRN_SLASHING__TICK_MS", "100"),
        ("CAIRN_SLASHING__RETRY_SECS", "1"),
        ("CAIRN_SLASHING__SIGNER", "\"threshold\""),
    ];
    env.extend(group.env());
    stack.serve(&env);
    let evidence = conflicting_answers(&liar());
    assert!(runtime.block_on(store.put_evidence(&evidence, 1)).unwrap());
    stack.wait("the order to wait for the signer", || {
        let view = slash_of(&stack, &evidence);
        view["stage"] == "ordered"
            && view["last_error"].as_str().is_some_and(|e| e.contains("unavailable"))
    });

    group.start(1);
    stack.wait("the slash to be indexed", || slash_of(&stack, &evidence)["stage"] == "slashed");
    check_slashed_once(&stack, &evidence);
    runtime.block_on(store.close());
}
