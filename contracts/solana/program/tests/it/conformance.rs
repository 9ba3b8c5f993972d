//! One signer, one signing path (`cairn_signer::sign_typed` over
//! `cairn_core`'s `Slash`), accepted by `Registry.slash` on anvil and by the
//! program's `slash`: the two registries apply the same rules to the same
//! key, and neither accepts the other's signature.

use alloy::primitives::{U256, keccak256};
use alloy_sol_types::SolStruct;
use cairn_bindings::Registry;
use cairn_core::eip712::{Slash, registry_domain, solana_provider_address, solana_registry_domain};
use cairn_signer::{LocalSigner, Signer as _, sign_typed};
use cairn_solana_interface::{CairnError, ID, instruction as ix, instruction::SlashOrder};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, Mined, address_of, anvil, deploy_dev, fund_dev_token, wallet,
};
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env, MIN_STAKE};

#[tokio::test]
async fn the_local_signer_slashes_on_anvil_and_on_the_program_with_one_code_path() {
    // The dev deployment's slasher is dev key 0; the program is initialised
    // with the same key's address.
    let slasher = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    let anvil = anvil();
    let rpc = anvil.endpoint();
    let evm_stake = 1_000_000u128;
    let (_owner, deployment) = deploy_dev(&rpc, evm_stake, DELAY, 3600).await;
    assert_eq!(slasher.address(), deployment.deployer);

    let mut env = Env::new().await;
    let init = env.initialize_ix_for(MIN_STAKE, DELAY, slasher.address().0.0);
    let authority = env.authority.insecure_clone();
    env.send(&[init], &[&authority]).await.ok();
    let sol_provider = env.registered(5_000).await;

    let evm_provider = address_of(DEV_KEY_1);
    fund_dev_token(
        &rpc,
        DEV_KEY_1,
        deployment.stake_token,
        U256::from(2 * evm_stake),
        &[deployment.registry],
    )
    .await;
    let registry = Registry::new(deployment.registry, wallet(&rpc, DEV_KEY_1));
    registry.register(evm_provider, U256::from(2 * evm_stake)).mined().await;

    // One order's fields, with each chain's provider identity.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let deadline = now.max(env.now().await) + 3600;
    let order = |provider| Slash {
        provider,
        amount: U256::from(700),
        reason: 1,
        evidenceHash: keccak256("conflicting answers"),
        receiptId: keccak256("receipt"),
        nonce: U256::from(42),
        deadline,
    };
    let evm_order = order(evm_provider);
    let sol_order = order(solana_provider_address(&sol_provider.key.pubkey().to_bytes()));
    let evm_domain = registry_domain(anvil.chain_id(), deployment.registry);
    let sol_domain = solana_registry_domain(ID.to_bytes());
    let evm_sig = sign_typed(&slasher, &evm_order, &evm_domain).await.unwrap();
    let sol_sig = sign_typed(&slasher, &sol_order, &sol_domain).await.unwrap();
    assert_eq!(
        registry.hashSlash(Registry::Slash::from(&evm_order)).call().await.unwrap(),
        evm_order.eip712_signing_hash(&evm_domain)
    );

    // anvil: Registry.slash accepts it
    registry
        .slash(Registry::Slash::from(&evm_order), evm_sig.to_bytes().to_vec().into())
        .mined()
        .await;
    let info = registry.providerOf(evm_provider).call().await.unwrap();
    assert_eq!(info.stake, 2 * evm_stake - 700);

    // the program: the EVM signature (other domain, other provider) is refused,
    // the same signer's Solana signature is accepted
    let program_order = SlashOrder {
        amount: 700,
        reason: 1,
        evidence_hash: keccak256("conflicting answers").0,
        receipt_id: keccak256("receipt").0,
        nonce: U256::from(42).to_be_bytes(),
        deadline,
    };
    let rs = |s: &cairn_signer::Signature| {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(s.r.as_slice());
        out[32..].copy_from_slice(s.s.as_slice());
        out
    };
    let payer = env.ctx.payer.pubkey();
    let p = sol_provider.key.pubkey();
    let wrong =
        ix::slash(&ID, &payer, &p, &env.treasury, program_order.clone(), rs(&evm_sig), evm_sig.v);
    env.send(&[wrong], &[]).await.err(CairnError::NotSlasher);
    let right = ix::slash(&ID, &payer, &p, &env.treasury, program_order, rs(&sol_sig), sol_sig.v);
    env.send(&[right], &[]).await.ok();
    assert_eq!(env.provider(&p).await.unwrap().stake, 5_000 - 700);
    assert_eq!(env.balance(&env.treasury.clone()).await, 700);
}
