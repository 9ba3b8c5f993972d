//! The same scripted history run on the program and on `cairn_core`'s
//! registry model: every step is accepted by both or refused by both, and
//! both end in the same state.

use alloy_primitives::{B256, U256};
use cairn_core::{
    id::{ChainId, ServiceId},
    registry::{Registry, RegistryError, RegistryEvent, RegistryParams, SlashOrder as CoreSlash},
};
use cairn_solana_interface::{ID, digest::service_id, instruction as ix, vault_address};
use k256::ecdsa::SigningKey;
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env, MIN_STAKE, Outcome, Staker};

const SLASHER: [u8; 32] = [1; 32];
const TREASURY: [u8; 32] = [2; 32];
const OWNER: [u8; 32] = [3; 32];
const CHAIN: &str = "eip155:8453";

fn agree(step: &str, program: &Outcome, model: Result<RegistryEvent<[u8; 32]>, RegistryError>) {
    assert_eq!(
        program.result.is_ok(),
        model.is_ok(),
        "{step}: program {:?}, model {model:?}; logs {:#?}",
        program.result,
        program.logs
    );
}

fn key(s: &Staker) -> [u8; 32] {
    s.key.pubkey().to_bytes()
}

#[tokio::test]
async fn program_and_core_model_replay_the_same_history_to_the_same_state() {
    let mut env = Env::initialized().await;
    let params = RegistryParams {
        min_stake: u128::from(MIN_STAKE),
        unbonding_period: DELAY,
        max_services_per_provider: 16,
    };
    let mut model = Registry::new(params, OWNER, SLASHER, TREASURY).unwrap();
    let a = env.funded(10_000).await;
    let b = env.funded(10_000).await;
    let stranger = SigningKey::from_slice(&[9u8; 32]).unwrap();

    // register
    for (s, amount) in [(&a, 5_000), (&b, 2_000), (&a, 2_000), (&b, 999)] {
        let out = env
            .send(
                &[ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), amount)],
                &[&s.key],
            )
            .await;
        agree(
            "register",
            &out,
            model.register(&key(s), s.operator.pubkey().to_bytes(), u128::from(amount)),
        );
    }

    // endpoints: two by the operator, one by the provider key, one duplicate
    let urls = ["https://a.example", "wss://a.example/ws"];
    for url in urls {
        let out = env
            .send(
                &[ix::add_endpoint(
                    &ID,
                    &a.operator.pubkey(),
                    &a.key.pubkey(),
                    CHAIN,
                    "json-rpc",
                    url,
                    [5; 32],
                )],
                &[&a.operator],
            )
            .await;
        agree(
            "add",
            &out,
            model.add_service(
                &a.operator.pubkey().to_bytes(),
                &key(&a),
                CHAIN.parse().unwrap(),
                "json-rpc",
                url,
                B256::from([5; 32]),
            ),
        );
    }
    let out = env
        .send(
            &[ix::add_endpoint(
                &ID,
                &a.key.pubkey(),
                &a.key.pubkey(),
                CHAIN,
                "json-rpc",
                "https://b.example",
                [0; 32],
            )],
            &[&a.key],
        )
        .await;
    agree(
        "add by provider key",
        &out,
        model.add_service(
            &key(&a),
            &key(&a),
            CHAIN.parse().unwrap(),
            "json-rpc",
            "https://b.example",
            B256::ZERO,
        ),
    );
    let out = env
        .send(
            &[ix::add_endpoint(
                &ID,
                &a.operator.pubkey(),
                &a.key.pubkey(),
                CHAIN,
                "json-rpc",
                urls[0],
                [5; 32],
            )],
            &[&a.operator],
        )
        .await;
    agree(
        "add twice",
        &out,
        model.add_service(
            &a.operator.pubkey().to_bytes(),
            &key(&a),
            CHAIN.parse().unwrap(),
            "json-rpc",
            urls[0],
            B256::from([5; 32]),
        ),
    );

    // unbond
    for (s, amount) in [(&a, 1_000), (&b, 1_500), (&b, 2_000), (&a, 0)] {
        let now = env.now().await;
        let out = env.send(&[ix::unbond(&ID, &s.key.pubkey(), amount)], &[&s.key]).await;
        agree("unbond", &out, model.unbond(&key(s), u128::from(amount), now));
    }

    // slashes: reaches unbonding stake, replay, above slashable, another key
    let deadline = env.now().await + 3_600;
    let cases: [(&Staker, u64, u64, &SigningKey); 4] = [
        (&a, 4_500, 1, &env.slasher.clone()),
        (&a, 10, 1, &env.slasher.clone()),
        (&b, 2_001, 2, &env.slasher.clone()),
        (&b, 10, 3, &stranger),
    ];
    for (s, amount, nonce, signer) in cases {
        let order = env.order(amount, nonce, deadline);
        let now = env.now().await;
        let out = env.send(&[env.slash_ix(&s.key.pubkey(), order.clone(), signer)], &[]).await;
        let core_order = CoreSlash {
            provider: key(s),
            amount: u128::from(amount),
            reason: order.reason,
            evidence_hash: B256::from(order.evidence_hash),
            receipt_id: B256::from(order.receipt_id),
            nonce: U256::from_be_bytes(order.nonce),
            deadline,
            signer: if std::ptr::eq(signer, &stranger) { [4; 32] } else { SLASHER },
        };
        agree("slash", &out, model.slash(&core_order, now));
    }

    // withdraw: too early, then after the delay (a's endpoints removed first:
    // the program needs that before an exit, see the README)
    let now = env.now().await;
    let out = env.send(&[ix::withdraw(&ID, &a.key.pubkey(), &a.token)], &[&a.key]).await;
    agree("early withdraw", &out, model.withdraw(&key(&a), now));
    for url in urls {
        let id = service_id(&a.key.pubkey(), CHAIN, "json-rpc", url);
        let out = env
            .send(
                &[ix::remove_endpoint(&ID, &a.operator.pubkey(), &a.key.pubkey(), id)],
                &[&a.operator],
            )
            .await;
        let core_id =
            ServiceId::compute(&key(&a), &CHAIN.parse::<ChainId>().unwrap(), "json-rpc", url);
        agree(
            "remove",
            &out,
            model.remove_service(&a.operator.pubkey().to_bytes(), &key(&a), core_id),
        );
    }
    env.warp(DELAY).await;
    for s in [&a, &b] {
        let now = env.now().await;
        let out = env.send(&[ix::withdraw(&ID, &s.key.pubkey(), &s.token)], &[&s.key]).await;
        agree("withdraw", &out, model.withdraw(&key(s), now));
    }
    let out = env
        .send(
            &[ix::register(&ID, &b.key.pubkey(), &b.token, &b.operator.pubkey(), 3_000)],
            &[&b.key],
        )
        .await;
    agree("register again", &out, model.register(&key(&b), b.operator.pubkey().to_bytes(), 3_000));

    // the same end state
    for s in [&a, &b] {
        let program = env.provider(&s.key.pubkey()).await;
        let core = model.provider(&key(s));
        assert_eq!(program.is_some(), core.is_some());
        if let (Some(p), Some(c)) = (program, core) {
            assert_eq!(u128::from(p.stake), c.stake);
            assert_eq!(u128::from(p.unbonding), c.unbonding.map_or(0, |u| u.amount));
            assert_eq!(p.endpoint_count as usize, c.services.len());
            assert_eq!(p.operator.to_bytes(), c.operator);
        }
    }
    let config = env.config().await;
    assert_eq!(u128::from(config.slashed_total), model.slashed_total());
    assert_eq!(u128::from(config.total_staked), model.total_held());
    assert_eq!(u128::from(env.balance(&vault_address(&ID).0).await), model.total_held());
    assert_eq!(u128::from(env.balance(&env.treasury.clone()).await), model.slashed_total());
    assert_eq!(model.slashed_total(), 4_500);
}
