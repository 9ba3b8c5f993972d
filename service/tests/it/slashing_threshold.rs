//! The slashing pipeline signing through a 2-of-3 threshold group of
//! `cairn signer party` processes, the registry's slasher being the group's
//! address: with two parties down the order waits (the signer is
//! unavailable) and is retried; once a second party is back, the order is
//! signed by two of them, each having checked the evidence itself, and the
//! liar is slashed exactly once.

use cairn_bindings::Registry;
use cairn_test_utils::{DEV_KEY_0, evidence::conflicting_answers, wallet};

use crate::{
    slashing_crashes::{check_slashed_once, liar, register_liar, slash_of},
    stack::Stack,
    threshold_processes::{listening, party, start_group},
};

#[test]
fn a_threshold_group_signs_the_slash_once_two_parties_are_up() {
    let mut stack = Stack::start(None);
    let group_dir = stack.dir.path().join("signer");
    std::fs::create_dir(&group_dir).unwrap();
    let (base, mut parties, key) = start_group(&group_dir);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // The owner (the deployer) hands the slasher role to the group.
    let owner = wallet(&stack.anvil.endpoint(), DEV_KEY_0);
    runtime.block_on(async {
        let registry = Registry::new(stack.deployment.registry, &owner);
        registry.setSlasher(key.address).send().await.unwrap().get_receipt().await.unwrap();
        assert_eq!(registry.slasher().call().await.unwrap(), key.address);
    });
    let store =
        runtime.block_on(cairn_store::Store::open_configured(None, stack.dir.path())).unwrap();
    register_liar(&stack, &store);

    drop(parties[0].take());
    drop(parties[1].take());
    let group_file = format!("\"{}\"", group_dir.join("group.toml").display());
    let group_key_file = format!("\"{}\"", group_dir.join("group-key.json").display());
    let env = [
        ("CAIRN_SLASHING__ENABLED", "true"),
        ("CAIRN_SLASHING__TICK_MS", "100"),
        ("CAIRN_SLASHING__RETRY_SECS", "1"),
        ("CAIRN_SLASHING__SIGNER", "\"threshold\""),
        ("CAIRN_SLASHING__GROUP_FILE", group_file.as_str()),
        ("CAIRN_SLASHING__GROUP_KEY_FILE", group_key_file.as_str()),
    ];
    stack.serve(&env);
    let evidence = conflicting_answers(&liar());
    assert!(runtime.block_on(store.put_evidence(&evidence, 1)).unwrap());
    stack.wait("the order to wait for the signer", || {
        let view = slash_of(&stack, &evidence);
        view["stage"] == "ordered"
            && view["last_error"].as_str().is_some_and(|e| e.contains("unavailable"))
    });

    parties[1] = Some(party(&group_dir, 1));
    stack.wait("party 1 to listen again", || listening(base + 1));
    stack.wait("the slash to be indexed", || slash_of(&stack, &evidence)["stage"] == "slashed");
    check_slashed_once(&stack, &evidence);
    runtime.block_on(store.close());
}
