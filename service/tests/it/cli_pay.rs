//! A payer's whole path through the binary: `cairn pay balance`, `deposit`
//! (approving the vault itself), `intent` to a running service, the batch
//! settling on anvil and `cairn verify-batch` passing, then `withdraw`; and
//! each refusal named before any transaction is paid for.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use cairn_service::exit;
use cairn_test_utils::{DEV_KEY_4, address_of, fund_dev_token, transactions_sent};

/// A key the stack has not funded: it starts with nothing in the vault.
const PAYER: &str = DEV_KEY_4;

use crate::{
    cairn_with_dir,
    stack::{Stack, TOKEN},
    stderr, stdout,
};

fn pay(stack: &Stack, key: &str, args: &[&str]) -> std::process::Output {
    let mut env = stack.env();
    env.push(("CAIRN_PAYER_KEY", key));
    let mut full = vec!["pay"];
    full.extend_from_slice(args);
    cairn_with_dir(stack.dir.path(), &full, &env)
}

#[test]
fn a_payer_deposits_pays_by_intent_and_withdraws_with_the_cli() {
    let mut stack = Stack::start(None);
    let rpc = stack.anvil.endpoint();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let payer = address_of(PAYER);

    let shown = pay(&stack, PAYER, &["balance"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(stdout(&shown).contains("deposit  0\n"), "{}", stdout(&shown));
    // Anyone's balance, without a key.
    let funded = address_of(cairn_test_utils::DEV_KEY_1).to_string();
    let named =
        cairn_with_dir(stack.dir.path(), &["pay", "balance", "--account", &funded], &stack.env());
    assert!(stdout(&named).contains(&format!("deposit  {}", 100 * TOKEN)), "{}", stderr(&named));

    // Refusals, none of which sends a transaction.
    let sent = runtime.block_on(transactions_sent(&rpc, PAYER));
    let zero = pay(&stack, PAYER, &["deposit", "--amount", "0"]);
    assert_eq!(zero.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&zero));
    let unbacked = pay(&stack, PAYER, &["deposit", "--amount", &TOKEN.to_string()]);
    assert_eq!(unbacked.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&unbacked).contains("insufficient balance"), "{}", stderr(&unbacked));
    let foreign = Address::repeat_byte(0x42).to_string();
    let not_allowed =
        pay(&stack, PAYER, &["deposit", "--amount", "1", "--asset", foreign.as_str()]);
    assert!(stderr(&not_allowed).contains("not a settlement asset"), "{}", stderr(&not_allowed));
    let too_much = pay(&stack, PAYER, &["withdraw", "--amount", &(1_000 * TOKEN).to_string()]);
    assert!(stderr(&too_much).contains("insufficient balance"), "{}", stderr(&too_much));
    let no_key = cairn_with_dir(stack.dir.path(), &["pay", "balance"], &stack.env());
    assert_eq!(no_key.status.code(), Some(i32::from(exit::USAGE)));
    assert!(stderr(&no_key).contains("CAIRN_PAYER_KEY"), "{}", stderr(&no_key));
    assert_eq!(
        runtime.block_on(transactions_sent(&rpc, PAYER)),
        sent,
        "a refusal sent a transaction"
    );

    // Minted only: `deposit` approves the vault itself.
    runtime.block_on(fund_dev_token(
        &rpc,
        PAYER,
        stack.deployment.stake_token,
        U256::from(5 * TOKEN),
        &[],
    ));
    let deposited = pay(&stack, PAYER, &["deposit", "--amount", &(5 * TOKEN).to_string()]);
    assert!(deposited.status.success(), "{}", stderr(&deposited));
    assert!(stderr(&deposited).contains("approved the vault"), "{}", stderr(&deposited));
    assert!(stdout(&deposited).contains(&format!("the deposit is now {}", 5 * TOKEN)));

    // Pay by intent through the running service; the batch settles and verifies.
    stack.serve(&[("CAIRN_SETTLEMENT__WINDOW_SECONDS", "1")]);
    let payee = Address::repeat_byte(0x5e).to_string();
    let base = format!("{}/", stack.base);
    let intent_args =
        ["intent", "--to", payee.as_str(), "--amount", "1000", "--nonce", "77", "--service", &base];
    // Intents reserve against indexed deposits: until the indexer has seen
    // this one the service answers insufficient_balance, and nothing else.
    let mut paid = pay(&stack, PAYER, &intent_args);
    stack.wait("the deposit to be indexed", || {
        if !paid.status.success() {
            assert!(stderr(&paid).contains("insufficient_balance"), "{}", stderr(&paid));
            paid = pay(&stack, PAYER, &intent_args);
        }
        paid.status.success()
    });
    assert!(stdout(&paid).contains("accepted"), "{}", stdout(&paid));
    // The same nonce for another amount is another intent: refused.
    let mut reused = intent_args;
    reused[4] = "999";
    let replayed = pay(&stack, PAYER, &reused);
    assert_eq!(replayed.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&replayed).contains("nonce_used"), "{}", stderr(&replayed));
    let to_self = pay(
        &stack,
        PAYER,
        &["intent", "--to", &payer.to_string(), "--amount", "1", "--service", &base],
    );
    assert_eq!(to_self.status.code(), Some(i32::from(exit::USAGE)), "{}", stderr(&to_self));

    stack.wait_up_to(Duration::from_secs(120), "the intent's batch to settle", || {
        stack.batch(1)["stage"] == "settled"
    });
    let verified = stack.cairn(&["verify-batch", "1"]);
    assert!(verified.status.success(), "{}\n{}", stdout(&verified), stderr(&verified));
    let after = pay(&stack, PAYER, &["balance"]);
    assert!(
        stdout(&after).contains(&format!("deposit  {}", 5 * TOKEN - 1000)),
        "{}",
        stdout(&after)
    );

    // A withdrawal waits out the vault's delay.
    let requested = pay(&stack, PAYER, &["withdraw", "--amount", &TOKEN.to_string()]);
    assert!(requested.status.success(), "{}", stderr(&requested));
    assert!(stdout(&requested).contains("withdrawal of"), "{}", stdout(&requested));
    let pending = pay(&stack, PAYER, &["balance"]);
    assert!(
        stdout(&pending).contains(&format!("pending  {TOKEN} withdrawable")),
        "{}",
        stdout(&pending)
    );
    let early = pay(&stack, PAYER, &["withdraw", "--complete"]);
    assert_eq!(early.status.code(), Some(i32::from(exit::FAILURE)));
    assert!(stderr(&early).contains("not ready"), "{}", stderr(&early));
}
