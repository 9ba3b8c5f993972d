//! The slashing pipeline in `cairn serve`, end to end on anvil and arlocal:
//! evidence against a registered provider's operator becomes an evidence
//! receipt on Arweave, a signed `Slash` order, `Registry.slash`, and the
//! indexer's record of it, with the service SIGKILLed at every stage
//! boundary in turn and restarted. In the end the provider was slashed
//! exactly once, the slash names the receipt and the evidence, and the
//! receipt read back from arlocal is the evidence.

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::Filter,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use cairn_bindings::Registry;
use cairn_core::evidence::Evidence;
use cairn_test_utils::{DEV_KEY_4, address_of, evidence::conflicting_answers, stores};
use serde_json::Value;

use crate::{
    stack::{Stack, TOKEN},
    stderr, stdout,
};

/// The lying provider's operator key (it signed two answers that conflict).
const LIAR_OPERATOR: &str = "0x4242424242424242424242424242424242424242424242424242424242424242";
const STAKE: u128 = 200 * TOKEN;
/// `slashing.conflicting_answers_amount`'s default.
const SLASHED: u128 = 10 * TOKEN;

fn slashing_env() -> Vec<(&'static str, &'static str)> {
    vec![("CAIRN_SLASHING__ENABLED", "true"), ("CAIRN_SLASHING__TICK_MS", "100")]
}

pub(crate) fn liar() -> PrivateKeySigner {
    LIAR_OPERATOR.parse().unwrap()
}

/// Registers the liar (provider key `DEV_KEY_4`) and waits until the
/// indexer has it: the pipeline maps the accused operator to its provider
/// through the indexed registry.
pub(crate) fn register_liar(stack: &Stack, store: &cairn_store::Store) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(cairn_test_utils::register_provider(
        &stack.anvil.endpoint(),
        &stack.deployment,
        DEV_KEY_4,
        LIAR_OPERATOR,
        U256::from(STAKE),
        &[],
    ));
    let provider = format!("{:#x}", address_of(DEV_KEY_4));
    stack.wait("the liar's registration to be indexed", || {
        runtime
            .block_on(store.providers("eip155:31337"))
            .is_ok_and(|rows| rows.iter().any(|p| p.provider == provider))
    });
}

pub(crate) fn slashes(stack: &Stack) -> Vec<Value> {
    stack
        .http
        .get(format!("{}/v1/slashes", stack.base))
        .send()
        .and_then(|r| r.json::<Value>())
        .map(|v| v["items"].as_array().cloned().unwrap_or_default())
        .unwrap_or_default()
}

pub(crate) fn slash_of(stack: &Stack, evidence: &Evidence) -> Value {
    let hash = format!("{:#x}", evidence.hash());
    slashes(stack).into_iter().find(|s| s["evidence_hash"] == hash.as_str()).unwrap_or_default()
}

/// Every `Slashed` event the registry emitted for `provider`.
pub(crate) fn slashed_events(stack: &Stack, provider: Address) -> Vec<Registry::Slashed> {
    let rpc = stack.rpc();
    let filter = Filter::new()
        .address(stack.deployment.registry)
        .event_signature(Registry::Slashed::SIGNATURE_HASH)
        .topic1(provider.into_word())
        .from_block(0);
    let logs = tokio::runtime::Runtime::new().unwrap().block_on(rpc.get_logs(&filter)).unwrap();
    logs.iter().map(|log| Registry::Slashed::decode_log(&log.inner).unwrap().data).collect()
}

/// Checks what one finished slash left behind: one `Slashed` event naming
/// the evidence and its receipt, the stake lowered by the schedule's
/// amount, and the receipt on arlocal holding the evidence itself.
pub(crate) fn check_slashed_once(stack: &Stack, evidence: &Evidence) {
    let provider = address_of(DEV_KEY_4);
    let view = slash_of(stack, evidence);
    assert_eq!(view["stage"], "slashed", "{view}");
    let events = slashed_events(stack, provider);
    assert_eq!(events.len(), 1, "exactly one slash: {events:?}");
    let event = &events[0];
    assert_eq!(event.evidenceHash, evidence.hash());
    assert_eq!(event.amount, U256::from(SLASHED));
    assert_eq!(event.reason, 1);
    let receipt_id = view["receipt_id"].as_str().unwrap();
    assert_eq!(cairn_arweave::base64url(event.receiptId.as_slice()), receipt_id);
    let rpc = stack.rpc();
    let registry = Registry::new(stack.deployment.registry, &rpc);
    let on_chain = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(async { registry.providerOf(provider).call().await });
    assert_eq!(U256::from(on_chain.unwrap().stake), U256::from(STAKE - SLASHED));

    // The receipt is on arlocal under the id the chain holds, and is the evidence.
    let url = view["receipt_url"].as_str().expect("a stored receipt has a URL");
    let item =
        reqwest::blocking::get(format!("{}/{receipt_id}", stack.node.url().trim_end_matches('/')))
            .and_then(|r| r.bytes())
            .unwrap();
    let stored: Evidence = serde_json::from_slice(&item)
        .unwrap_or_else(|e| panic!("{url} does not hold an evidence record ({e})"));
    assert_eq!(stored.hash(), evidence.hash());
    stored.verify().expect("the stored evidence verifies");
}

fn run_through_crashes(store_url: Option<String>) {
    let mut stack = Stack::start(store_url.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime
        .block_on(cairn_store::Store::open_configured(store_url.as_deref(), stack.dir.path()))
        .unwrap();
    register_liar(&stack, &store);
    let evidence = conflicting_answers(&liar());
    // As the gateway stores it when the liar's two signed answers conflict.
    assert!(runtime.block_on(store.put_evidence(&evidence, 1)).unwrap());

    let mut env = slashing_env();
    for boundary in [
        "slash_after_receipt",
        "slash_after_upload",
        "slash_after_order",
        "slash_after_sign",
        // Sent, not yet recorded: the restart finds the nonce used on chain
        // and records the order as submitted without sending again.
        "slash_before_tx_recorded",
        "slash_after_submitted",
    ] {
        let mut crash_env = env.clone();
        crash_env.push(("CAIRN_FAILPOINT", boundary));
        stack.serve(&crash_env);
        let reached = format!("failpoint {boundary} reached");
        stack.wait(&reached, || stack.serve.as_ref().is_some_and(|s| s.log().contains(&reached)));
        stack.kill();
    }
    stack.serve(&env);
    stack.wait("the slash to be indexed", || slash_of(&stack, &evidence)["stage"] == "slashed");
    check_slashed_once(&stack, &evidence);

    // More evidence against the same provider within the window: covered,
    // not a second slash. Evidence against an operator nobody registered:
    // nothing to slash.
    let mut again = conflicting_answers(&liar());
    again.answers[1] = cairn_test_utils::evidence::signed_answer(&liar(), &again.chain, "0x65", 16);
    assert!(runtime.block_on(store.put_evidence(&again, 2)).unwrap());
    let stranger: PrivateKeySigner = PrivateKeySigner::from_slice(&[0x43; 32]).unwrap();
    let unknown = conflicting_answers(&stranger);
    assert!(runtime.block_on(store.put_evidence(&unknown, 3)).unwrap());
    stack.wait("both to be looked at", || {
        slash_of(&stack, &again)["stage"] == "covered"
            && slash_of(&stack, &unknown)["stage"] == "no_provider"
    });
    assert_eq!(slashed_events(&stack, address_of(DEV_KEY_4)).len(), 1);

    // The command line shows the same.
    let status = stack.cairn(&["slash", "status", "--service", &stack.base]);
    assert!(status.status.success(), "{}", stderr(&status));
    let text = stdout(&status);
    assert!(
        text.contains("slashed") && text.contains("covered") && text.contains("no_provider"),
        "{text}"
    );

    // Discovery counts the slash against the provider.
    let provider = format!("{:#x}", address_of(DEV_KEY_4));
    let view: Value = stack
        .http
        .get(format!("{}/v1/providers/eip155:31337:{provider}", stack.base))
        .send()
        .and_then(|r| r.json())
        .unwrap();
    assert_eq!(view["slashes"], 1, "{view}");
    env.clear();
    runtime.block_on(store.close());
}

#[test]
fn a_slash_survives_sigkill_at_every_stage_boundary_on_sqlite() {
    run_through_crashes(None);
}

#[test]
fn a_slash_survives_sigkill_at_every_stage_boundary_on_postgres() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let stores = runtime.block_on(stores());
    run_through_crashes(Some(stores.postgres_url()));
    runtime.block_on(stores.cleanup());
}
