use cairn_solana_interface::{
    CairnError, ID, event::Event, settlement_address, settlement_vault_address,
};
use solana_program::program_pack::Pack;
use solana_sdk::signature::{Keypair, Signer};
use spl_token_interface::state::Account as TokenAccount;

use crate::common::{Env, WITHDRAWAL_DELAY};

#[tokio::test]
async fn initialize_vault_creates_the_config_and_the_mints_vault() {
    let mut env = Env::new().await;
    let i = env.initialize_vault_ix(env.slasher_address());
    let authority = env.authority.insecure_clone();
    let out = env.send(&[i], &[&authority]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::VaultInitialized {
            authority: authority.pubkey(),
            mint: env.mint,
            signer: env.slasher_address(),
            withdrawal_delay: WITHDRAWAL_DELAY,
        }]
    );
    let s = env.settlement().await;
    assert_eq!((s.last_batch_id, s.last_commitment_hash, s.total_balance), (0, [0; 32], 0));
    assert_eq!(s.signer, env.slasher_address());
    let vault = env
        .ctx
        .banks_client
        .get_account(settlement_vault_address(&ID, &env.mint).0)
        .await
        .unwrap()
        .unwrap();
    let vault = TokenAccount::unpack(&vault.data).unwrap();
    assert_eq!((vault.mint, vault.owner), (env.mint, settlement_address(&ID).0));
}

#[tokio::test]
async fn a_second_initialize_vault_is_rejected() {
    let mut env = Env::vault().await;
    let i = env.initialize_vault_ix([9; 20]);
    let authority = env.authority.insecure_clone();
    env.send(&[i], &[&authority]).await.err(CairnError::AlreadyInitialized);
    assert_eq!(env.settlement().await.signer, env.slasher_address());
}

#[tokio::test]
async fn initialize_vault_by_someone_but_the_upgrade_authority_is_rejected() {
    let mut env = Env::new().await;
    let intruder = Keypair::new();
    let mut i = env.initialize_vault_ix([9; 20]);
    i.accounts[1].pubkey = intruder.pubkey();
    env.send(&[i], &[&intruder]).await.err(CairnError::NotUpgradeAuthority);
}

#[tokio::test]
async fn initialize_vault_without_the_authoritys_signature_is_rejected() {
    let mut env = Env::new().await;
    let mut i = env.initialize_vault_ix([9; 20]);
    i.accounts[1].is_signer = false;
    env.send(&[i], &[]).await.err(CairnError::MissingSigner);
}

#[tokio::test]
async fn a_zero_settlement_signer_is_rejected() {
    let mut env = Env::new().await;
    let i = env.initialize_vault_ix([0; 20]);
    let authority = env.authority.insecure_clone();
    env.send(&[i], &[&authority]).await.err(CairnError::InvalidInstruction);
}
