//! `add_stake`: stake is recorded only after the ICRC-2 ledger confirms the
//! transfer from the provider to the canister. No ICRC ledger runs here, so
//! `Ledger` below keeps ICRC-2 balances and allowances in memory; it stands
//! for the ledger canister behind the same trait the wasm build calls.

use std::{cell::RefCell, collections::BTreeMap};

use cairn_registry_canister::{
    StakeLedger, add_stake,
    types::{Event, RegistryError},
};
use candid::Principal;

use crate::{TestEnv, canister, canister_id, ledger_id, principal};

#[derive(Debug, Default)]
struct Ledger {
    balances: RefCell<BTreeMap<Principal, u128>>,
    /// (owner, spender) → allowance.
    allowances: RefCell<BTreeMap<(Principal, Principal), u128>>,
    blocks: RefCell<u128>,
}

impl StakeLedger for Ledger {
    async fn transfer_from(
        &self,
        ledger: Principal,
        from: Principal,
        to: Principal,
        amount: u128,
    ) -> Result<u128, String> {
        assert_eq!(ledger, ledger_id(), "the configured ledger is called");
        let mut allowances = self.allowances.borrow_mut();
        let allowance = allowances.entry((from, to)).or_default();
        if *allowance < amount {
            return Err(format!("InsufficientAllowance {{ allowance: {allowance} }}"));
        }
        let mut balances = self.balances.borrow_mut();
        let balance = balances.entry(from).or_default();
        if *balance < amount {
            return Err(format!("InsufficientFunds {{ balance: {balance} }}"));
        }
        *allowance -= amount;
        *balance -= amount;
        *balances.entry(to).or_default() += amount;
        *self.blocks.borrow_mut() += 1;
        Ok(*self.blocks.borrow())
    }
}

#[tokio::test]
async fn stake_is_recorded_after_the_ledger_moves_it() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let provider = principal(3);
    let ledger = Ledger::default();
    ledger.balances.borrow_mut().insert(provider, 1_000);
    ledger.allowances.borrow_mut().insert((provider, canister_id()), 700);
    state.borrow_mut().register_provider(env.as_caller(provider), None).unwrap();

    let info = add_stake(&state, &env, &ledger, 400).await.unwrap();
    assert_eq!(info.stake, 400);
    assert_eq!(ledger.balances.borrow()[&canister_id()], 400);
    let info = add_stake(&state, &env, &ledger, 300).await.unwrap();
    assert_eq!(info.stake, 700);
    assert_eq!(state.borrow().get_provider(&provider).unwrap().stake, 700);
    let last = state.borrow().get_events(0, 10).pop().unwrap();
    assert!(matches!(
        last.event,
        Event::StakeAdded { amount: 300, stake: 700, block_index: 2, .. }
    ));

    // Past the allowance: the ledger refuses, and nothing is recorded.
    let refused = add_stake(&state, &env, &ledger, 1).await;
    assert!(
        matches!(&refused, Err(RegistryError::Ledger(m)) if m.contains("InsufficientAllowance"))
    );
    assert_eq!(state.borrow().get_provider(&provider).unwrap().stake, 700);
}

#[tokio::test]
async fn refusals_before_the_ledger_is_called() {
    let (state, _) = canister();
    let env = TestEnv::new();
    let ledger = Ledger::default();
    assert_eq!(
        add_stake(&state, env.as_caller(principal(5)), &ledger, 10).await,
        Err(RegistryError::NotRegistered)
    );
    state.borrow_mut().register_provider(&env, None).unwrap();
    assert!(matches!(
        add_stake(&state, &env, &ledger, 0).await,
        Err(RegistryError::InvalidArgument(_))
    ));
    let mut args = crate::init_args();
    args.stake_ledger = None;
    state.borrow_mut().configure(args);
    assert_eq!(add_stake(&state, &env, &ledger, 10).await, Err(RegistryError::NoStakeLedger));
    assert_eq!(*ledger.blocks.borrow(), 0);
}
