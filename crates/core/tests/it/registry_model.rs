use alloy_primitives::{Address, B256, U256};
use cairn_core::{
    ChainId, ServiceId,
    registry::{
        Registry, RegistryError, RegistryEvent, RegistryParams, SlashOrder, validate_endpoint,
    },
};
use proptest::prelude::*;

use crate::addr;

const PARAMS: RegistryParams =
    RegistryParams { min_stake: 100, unbonding_period: 1_000, max_services_per_provider: 3 };

fn owner() -> Address {
    addr(900)
}
fn slasher() -> Address {
    addr(901)
}
fn treasury() -> Address {
    addr(902)
}

fn registry() -> Registry<Address> {
    Registry::new(PARAMS, owner(), slasher(), treasury()).unwrap()
}

fn slash(provider: Address, amount: u128, nonce: u64, deadline: u64) -> SlashOrder<Address> {
    SlashOrder {
        provider,
        amount,
        reason: 1,
        evidence_hash: B256::repeat_byte(0xee),
        receipt_id: B256::repeat_byte(0xaa),
        nonce: U256::from(nonce),
        deadline,
        signer: slasher(),
    }
}

fn url(i: usize) -> String {
    format!("https://node{i}.example.org")
}

#[test]
fn zero_accounts_are_refused() {
    assert_eq!(
        Registry::new(PARAMS, Address::ZERO, slasher(), treasury()),
        Err(RegistryError::ZeroAccount)
    );
    let mut r = registry();
    assert_eq!(r.register(&Address::ZERO, addr(1), 100), Err(RegistryError::ZeroAccount));
    assert_eq!(r.register(&addr(0), Address::ZERO, 100), Err(RegistryError::ZeroAccount));
    assert_eq!(r.set_slasher(&owner(), Address::ZERO), Err(RegistryError::ZeroAccount));
    assert_eq!(r.set_treasury(&owner(), Address::ZERO), Err(RegistryError::ZeroAccount));
}

#[test]
fn registration_needs_the_minimum_stake_once() {
    let mut r = registry();
    assert_eq!(
        r.register(&addr(0), addr(1), 99),
        Err(RegistryError::StakeBelowMinimum { stake: 99, min: 100 })
    );
    r.register(&addr(0), addr(1), 100).unwrap();
    assert!(r.is_active(&addr(0)));
    assert_eq!(r.register(&addr(0), addr(1), 500), Err(RegistryError::AlreadyRegistered));
    assert_eq!(r.add_stake(&addr(0), 0), Err(RegistryError::ZeroAmount));
    assert_eq!(r.add_stake(&addr(5), 10), Err(RegistryError::NotRegistered));
    r.add_stake(&addr(0), 50).unwrap();
    assert_eq!(r.provider(&addr(0)).unwrap().stake, 150);
    assert_eq!(r.add_stake(&addr(0), u128::MAX), Err(RegistryError::Overflow));
}

#[test]
fn only_the_operator_manages_endpoints() {
    let mut r = registry();
    let (provider, operator) = (addr(0), addr(1));
    r.register(&provider, operator, 100).unwrap();
    let chain = ChainId::eip155(1);
    assert_eq!(
        r.add_service(&provider, &provider, chain.clone(), "rpc", &url(0), B256::ZERO),
        Err(RegistryError::NotOperator),
        "the staking account is not the operator"
    );
    let RegistryEvent::ServiceAdded { service, .. } =
        r.add_service(&operator, &provider, chain.clone(), "rpc", &url(0), B256::ZERO).unwrap()
    else {
        panic!("expected ServiceAdded")
    };
    assert_eq!(service, ServiceId::compute(provider.as_slice(), &chain, "rpc", &url(0)));
    assert_eq!(
        r.add_service(&operator, &provider, chain.clone(), "rpc", &url(0), B256::ZERO),
        Err(RegistryError::ServiceExists(service))
    );
    assert_eq!(r.remove_service(&addr(7), &provider, service), Err(RegistryError::NotOperator));
    r.remove_service(&operator, &provider, service).unwrap();
    assert_eq!(
        r.remove_service(&operator, &provider, service),
        Err(RegistryError::UnknownService(service))
    );
    for i in 0..3 {
        r.add_service(&operator, &provider, chain.clone(), "rpc", &url(i), B256::ZERO).unwrap();
    }
    assert_eq!(
        r.add_service(&operator, &provider, chain, "rpc", &url(3), B256::ZERO),
        Err(RegistryError::TooManyServices(3))
    );
    r.set_operator(&provider, addr(2)).unwrap();
    assert_eq!(
        r.remove_service(&operator, &provider, service),
        Err(RegistryError::NotOperator),
        "old operator"
    );
}

#[test]
fn endpoint_records_are_validated() {
    assert!(validate_endpoint("rpc", "https://a.example").is_ok());
    assert!(validate_endpoint("rpc-archive", "wss://a.example:8546/ws").is_ok());
    for (kind, url) in [
        ("", "https://a"),
        ("RPC", "https://a"),
        (&*"k".repeat(33), "https://a"),
        ("rpc", "ftp://a"),
        ("rpc", "https://"),
        ("rpc", "https:///path"),
        ("rpc", "https://a b"),
        ("rpc", "https://a\n"),
        ("rpc", &*format!("https://{}", "a".repeat(250))),
    ] {
        assert!(
            matches!(validate_endpoint(kind, url), Err(RegistryError::InvalidEndpoint(_))),
            "{kind:?} {url:?}"
        );
    }
}

#[test]
fn unbonding_is_all_or_leaves_the_minimum_and_waits_the_period() {
    let mut r = registry();
    let p = addr(0);
    r.register(&p, addr(1), 300).unwrap();
    assert_eq!(r.unbond(&p, 0, 10), Err(RegistryError::ZeroAmount));
    assert_eq!(
        r.unbond(&p, 301, 10),
        Err(RegistryError::UnbondExceedsStake { requested: 301, stake: 300 })
    );
    assert_eq!(
        r.unbond(&p, 250, 10),
        Err(RegistryError::UnbondLeavesBelowMinimum { remaining: 50, min: 100 })
    );
    assert_eq!(r.withdraw(&p, 10), Err(RegistryError::NothingUnbonding));
    r.unbond(&p, 100, 10).unwrap();
    assert_eq!(
        r.withdraw(&p, 1_009),
        Err(RegistryError::StillUnbonding { release_at: 1_010, now: 1_009 })
    );
    // A second unbond restarts the delay for everything unbonding.
    r.unbond(&p, 100, 500).unwrap();
    assert_eq!(
        r.withdraw(&p, 1_010),
        Err(RegistryError::StillUnbonding { release_at: 1_500, now: 1_010 })
    );
    assert_eq!(
        r.withdraw(&p, 1_500),
        Ok(RegistryEvent::Withdrawn { provider: p, amount: 200, exited: false })
    );
    assert_eq!(r.provider(&p).unwrap().stake, 100);
}

#[test]
fn a_full_exit_removes_the_provider_and_its_services() {
    let mut r = registry();
    let (p, op) = (addr(0), addr(1));
    r.register(&p, op, 100).unwrap();
    r.add_service(&op, &p, ChainId::eip155(1), "rpc", &url(0), B256::ZERO).unwrap();
    r.unbond(&p, 100, 0).unwrap();
    assert!(!r.is_active(&p), "nothing bonded");
    assert_eq!(
        r.withdraw(&p, 1_000),
        Ok(RegistryEvent::Withdrawn { provider: p, amount: 100, exited: true })
    );
    assert!(r.provider(&p).is_none());
    assert_eq!(r.services().count(), 0);
    r.register(&p, op, 100).expect("may register again after exit");
}

#[test]
fn slashes_are_checked_and_reach_unbonding_stake() {
    let mut r = registry();
    let p = addr(0);
    r.register(&p, addr(1), 300).unwrap();
    r.unbond(&p, 200, 0).unwrap();

    let mut forged = slash(p, 10, 1, 100);
    forged.signer = addr(77);
    assert_eq!(r.slash(&forged, 0), Err(RegistryError::NotSlasher));
    assert_eq!(
        r.slash(&slash(p, 10, 1, 100), 101),
        Err(RegistryError::SlashExpired { deadline: 100, now: 101 })
    );
    assert_eq!(r.slash(&slash(p, 0, 1, 100), 0), Err(RegistryError::ZeroAmount));
    assert_eq!(r.slash(&slash(addr(5), 10, 1, 100), 0), Err(RegistryError::NotRegistered));
    assert_eq!(
        r.slash(&slash(p, 301, 1, 100), 0),
        Err(RegistryError::SlashExceedsSlashable { amount: 301, slashable: 300 })
    );

    // Bonded stake goes first, then the unbonding stake.
    r.slash(&slash(p, 150, 1, 100), 100).unwrap();
    let provider = r.provider(&p).unwrap();
    assert_eq!((provider.stake, provider.unbonding.unwrap().amount), (0, 150));
    assert_eq!(r.slash(&slash(p, 1, 1, 100), 0), Err(RegistryError::NonceUsed(U256::from(1))));
    assert!(r.is_nonce_used(&U256::from(1)));
    r.slash(&slash(p, 150, 2, 100), 0).unwrap();
    assert_eq!(r.provider(&p).unwrap().unbonding, None);
    assert_eq!(
        r.withdraw(&p, 5_000),
        Err(RegistryError::NothingUnbonding),
        "nothing left to escape with"
    );
    assert_eq!(r.slashed_total(), 300);
}

#[test]
fn only_the_owner_rotates_slasher_and_treasury() {
    let mut r = registry();
    assert_eq!(r.set_slasher(&addr(3), addr(4)), Err(RegistryError::NotOwner));
    assert_eq!(r.set_treasury(&slasher(), addr(4)), Err(RegistryError::NotOwner));
    r.set_slasher(&owner(), addr(4)).unwrap();
    r.register(&addr(0), addr(1), 100).unwrap();
    assert_eq!(
        r.slash(&slash(addr(0), 1, 1, 10), 0),
        Err(RegistryError::NotSlasher),
        "old slasher"
    );
    let mut order = slash(addr(0), 1, 1, 10);
    order.signer = addr(4);
    r.slash(&order, 0).unwrap();
    r.set_treasury(&owner(), addr(5)).unwrap();
    assert_eq!(r.treasury(), &addr(5));
}

#[derive(Debug, Clone)]
enum Op {
    Register { who: u64, stake: u128 },
    AddStake { who: u64, amount: u128 },
    AddService { caller: u64, provider: u64, url: usize },
    RemoveService { caller: u64, provider: u64, url: usize },
    Unbond { who: u64, amount: u128 },
    Withdraw { who: u64 },
    Slash { provider: u64, amount: u128, nonce: u64, forged: bool, late: bool },
    Advance { seconds: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0u64..4;
    let amount = 0u128..400;
    prop_oneof![
        (who.clone(), amount.clone()).prop_map(|(who, stake)| Op::Register { who, stake }),
        (who.clone(), amount.clone()).prop_map(|(who, amount)| Op::AddStake { who, amount }),
        (0u64..8, who.clone(), 0usize..5).prop_map(|(caller, provider, url)| Op::AddService {
            caller,
            provider,
            url
        }),
        (0u64..8, who.clone(), 0usize..5).prop_map(|(caller, provider, url)| Op::RemoveService {
            caller,
            provider,
            url
        }),
        (who.clone(), amount.clone()).prop_map(|(who, amount)| Op::Unbond { who, amount }),
        who.clone().prop_map(|who| Op::Withdraw { who }),
        (who, amount, 0u64..6, prop::bool::weighted(0.2), prop::bool::weighted(0.2)).prop_map(
            |(provider, amount, nonce, forged, late)| Op::Slash {
                provider,
                amount,
                nonce,
                forged,
                late
            }
        ),
        (0u64..1_500).prop_map(|seconds| Op::Advance { seconds }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Over any sequence of actions: tokens are conserved, slashes never
    /// exceed what was slashable, nonces work once, and a refused action
    /// changes nothing.
    #[test]
    fn random_histories_keep_the_registry_invariants(ops in prop::collection::vec(op(), 1..80)) {
        let mut r = registry();
        let mut now = 0u64;
        let (mut staked, mut withdrawn) = (0u128, 0u128);
        for op in ops {
            let before = r.clone();
            let result = match op.clone() {
                Op::Register { who, stake } => r.register(&addr(who), addr(who + 4), stake),
                Op::AddStake { who, amount } => r.add_stake(&addr(who), amount),
                Op::AddService { caller, provider, url: u } => {
                    r.add_service(&addr(caller), &addr(provider), ChainId::eip155(1), "rpc", &url(u), B256::ZERO)
                }
                Op::RemoveService { caller, provider, url: u } => {
                    let id = ServiceId::compute(addr(provider).as_slice(), &ChainId::eip155(1), "rpc", &url(u));
                    r.remove_service(&addr(caller), &addr(provider), id)
                }
                Op::Unbond { who, amount } => r.unbond(&addr(who), amount, now),
                Op::Withdraw { who } => r.withdraw(&addr(who), now),
                Op::Slash { provider, amount, nonce, forged, late } => {
                    let mut order = slash(addr(provider), amount, nonce, if late { now.saturating_sub(1) } else { now + 10 });
                    if forged {
                        order.signer = addr(provider);
                    }
                    if late && now == 0 {
                        order.deadline = 0;
                    }
                    let slashable = r.provider(&addr(provider)).map(|p| p.slashable());
                    let used = r.is_nonce_used(&order.nonce);
                    let result = r.slash(&order, now);
                    if result.is_ok() {
                        prop_assert!(!forged && !used);
                        prop_assert!(Some(amount) <= slashable, "slashed {} of {:?}", amount, slashable);
                        prop_assert!(r.is_nonce_used(&order.nonce));
                    }
                    result
                }
                Op::Advance { seconds } => {
                    now += seconds;
                    continue;
                }
            };
            match result {
                Ok(RegistryEvent::ProviderRegistered { stake, .. }) => staked += stake,
                Ok(RegistryEvent::StakeAdded { amount, .. }) => staked += amount,
                Ok(RegistryEvent::Withdrawn { amount, .. }) => withdrawn += amount,
                Ok(_) => {}
                Err(_) => prop_assert_eq!(&r, &before, "refused {:?} changed the state", op),
            }
            prop_assert_eq!(staked - withdrawn, r.total_held() + r.slashed_total(), "tokens not conserved");
            for (account, provider) in r.providers() {
                // Below the minimum (after a slash, or a top-up smaller than the
                // minimum after a full unbond) a provider stays registered but
                // is never served.
                prop_assert_eq!(r.is_active(account), provider.stake >= PARAMS.min_stake);
                for id in &provider.services {
                    prop_assert_eq!(&r.service(id).unwrap().provider, account);
                }
            }
        }
    }
}
