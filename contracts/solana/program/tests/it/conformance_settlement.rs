//! One signer, one signing path (`cairn_signer::sign_typed` over
//! `cairn_core`'s `BatchCommitment`, deltas roots by `cairn_core::merkle`),
//! accepted by `Settlement.settleBatch` on anvil and by the program's
//! `settle_batch`; the EVM signature (other domain, other deltas) is refused
//! by the program.

use alloy::primitives::{Address, B256, I256, U256, keccak256};
use alloy_sol_types::{SolStruct, SolValue};
use cairn_bindings::Settlement;
use cairn_core::{
    eip712::{BatchCommitment, Delta, settlement_domain, solana_settlement_domain},
    merkle,
    netting::ClosedBatch,
};
use cairn_signer::{LocalSigner, Signer as _, sign_typed};
use cairn_solana_interface::{CairnError, ID, instruction as ix};
use cairn_test_utils::{
    DEV_KEY_0, DEV_KEY_1, Mined, address_of, anvil, deploy_dev, deposit_dev, wallet,
};
use solana_program::pubkey::Pubkey;

use crate::common::{Env, sorted};

alloy_sol_types::sol! {
    /// A Solana delta as the leaf encodes it: `abi.encode(bytes32, bytes32, int256)`.
    struct SolanaDelta {
        bytes32 owner;
        bytes32 mint;
        int256 amount;
    }
}

/// The Solana deltas root built by `cairn_core::merkle` (not the interface).
fn core_solana_root(deltas: &[(Pubkey, Pubkey, i64)]) -> B256 {
    let leaves: Vec<B256> = deltas
        .iter()
        .map(|(o, m, a)| {
            merkle::leaf_hash(
                &SolanaDelta {
                    owner: B256::from(o.to_bytes()),
                    mint: B256::from(m.to_bytes()),
                    amount: I256::try_from(*a).unwrap(),
                }
                .abi_encode(),
            )
        })
        .collect();
    merkle::root(&leaves)
}

fn rs(s: &cairn_signer::Signature) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(s.r.as_slice());
    out[32..].copy_from_slice(s.s.as_slice());
    out
}

#[tokio::test]
async fn the_local_signer_settles_on_anvil_and_on_the_program_with_one_code_path() {
    // The dev deployment's settlement signer is dev key 0; the vault is
    // initialised with the same key's address.
    let signer = LocalSigner::from_hex(DEV_KEY_0).unwrap();
    let anvil = anvil();
    let rpc = anvil.endpoint();
    let (_owner, deployment) = deploy_dev(&rpc, 1_000, 3600, 3600).await;
    assert_eq!(signer.address(), deployment.deployer);

    let mut env = Env::new().await;
    let init = env.initialize_vault_ix(signer.address().0.0);
    let authority = env.authority.insecure_clone();
    env.send(&[init], &[&authority]).await.ok();
    let payer = env.depositor(1_000).await;
    let payee = env.depositor(0).await;

    // anvil: one payer pays one payee 400 of the dev token.
    let evm_payer = address_of(DEV_KEY_1);
    let evm_payee = Address::repeat_byte(0x42);
    deposit_dev(&rpc, &deployment, DEV_KEY_1, U256::from(1_000)).await;
    let asset = deployment.stake_token;
    let mut evm_deltas = [
        Delta { account: evm_payer, asset, amount: I256::try_from(-400i64).unwrap() },
        Delta { account: evm_payee, asset, amount: I256::try_from(400i64).unwrap() },
    ];
    evm_deltas.sort_by_key(|d| (d.asset, d.account));
    let evm_leaves: Vec<B256> = evm_deltas.iter().map(ClosedBatch::delta_leaf).collect();

    // The Solana side of the same window.
    let sol_deltas =
        sorted(vec![(payer.pubkey(), env.mint, -400), (payee.pubkey(), env.mint, 400)]);
    let commitment = |deltas_root| BatchCommitment {
        batchId: 1,
        prevHash: B256::ZERO,
        windowStart: 100,
        windowEnd: 160,
        intentsRoot: keccak256("intents"),
        deltasRoot: deltas_root,
        intentCount: 1,
        deltaCount: 2,
        receiptId: keccak256("receipt"),
    };
    let evm_commitment = commitment(merkle::root(&evm_leaves));
    let sol_commitment = commitment(core_solana_root(&sol_deltas));
    let evm_domain = settlement_domain(anvil.chain_id(), deployment.settlement);
    let sol_domain = solana_settlement_domain(ID.to_bytes());
    let evm_sig = sign_typed(&signer, &evm_commitment, &evm_domain).await.unwrap();
    let sol_sig = sign_typed(&signer, &sol_commitment, &sol_domain).await.unwrap();

    let vault = Settlement::new(deployment.settlement, wallet(&rpc, DEV_KEY_1));
    vault
        .settleBatch(
            Settlement::BatchCommitment::from(&evm_commitment),
            evm_deltas.iter().map(Settlement::Delta::from).collect(),
            evm_sig.to_bytes().to_vec().into(),
        )
        .mined()
        .await;
    assert_eq!(vault.lastBatchId().call().await.unwrap(), 1);
    assert_eq!(vault.balanceOf(evm_payee, asset).call().await.unwrap(), U256::from(400));

    // The program: the interface's commitment equals core's, field for field.
    let c = cairn_solana_interface::instruction::BatchCommitment {
        batch_id: 1,
        prev_hash: [0; 32],
        window_start: 100,
        window_end: 160,
        intents_root: keccak256("intents").0,
        deltas_root: sol_commitment.deltasRoot.0,
        intent_count: 1,
        delta_count: 2,
        receipt_id: keccak256("receipt").0,
    };
    assert_eq!(
        cairn_solana_interface::digest::batch_digest(&ID, &c),
        sol_commitment.eip712_signing_hash(&sol_domain).0
    );
    let wrong = ix::settle_batch(&ID, c.clone(), rs(&evm_sig), evm_sig.v, &sol_deltas);
    env.send(&[wrong], &[]).await.err(CairnError::NotSettlementSigner);
    let right = ix::settle_batch(&ID, c, rs(&sol_sig), sol_sig.v, &sol_deltas);
    env.send(&[right], &[]).await.ok();
    assert_eq!(env.vault_balance(&payee.pubkey()).await.unwrap().amount, 400);
    assert_eq!(env.vault_balance(&payer.pubkey()).await.unwrap().amount, 600);
    let s = env.settlement().await;
    assert_eq!(
        (s.last_batch_id, s.last_commitment_hash),
        (1, sol_commitment.eip712_signing_hash(&sol_domain).0)
    );
}
