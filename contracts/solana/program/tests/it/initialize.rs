use cairn_solana_interface::{CairnError, ID, config_address, event::Event, vault_address};
use solana_program::program_pack::Pack;
use solana_sdk::signature::{Keypair, Signer};
use spl_token_interface::state::Account as TokenAccount;

use crate::common::{DELAY, Env, MIN_STAKE};

#[tokio::test]
async fn initialize_writes_config_and_a_vault_the_config_owns() {
    let mut env = Env::new().await;
    let ix = env.initialize_ix(MIN_STAKE, DELAY);
    let authority = env.authority.insecure_clone();
    let out = env.send(&[ix], &[&authority]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::Initialized {
            authority: authority.pubkey(),
            stake_mint: env.mint,
            treasury: env.treasury,
            slasher: env.slasher_address(),
            min_stake: MIN_STAKE,
            unbonding_delay: DELAY,
        }]
    );
    let config = env.config().await;
    assert_eq!(config.authority, authority.pubkey());
    assert_eq!(config.slasher, env.slasher_address());
    assert_eq!((config.min_stake, config.unbonding_delay), (MIN_STAKE, DELAY));
    let vault = env.ctx.banks_client.get_account(vault_address(&ID).0).await.unwrap().unwrap();
    let vault = TokenAccount::unpack(&vault.data).unwrap();
    assert_eq!(vault.owner, config_address(&ID).0);
    assert_eq!(vault.mint, env.mint);
}

#[tokio::test]
async fn a_second_initialize_is_rejected() {
    let mut env = Env::initialized().await;
    let ix = env.initialize_ix(1, 1);
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).await.err(CairnError::AlreadyInitialized);
    assert_eq!(env.config().await.min_stake, MIN_STAKE);
}

#[tokio::test]
async fn initialize_without_the_authority_signature_is_rejected() {
    let mut env = Env::new().await;
    let mut ix = env.initialize_ix(MIN_STAKE, DELAY);
    ix.accounts[1].is_signer = false;
    env.send(&[ix], &[]).await.err(CairnError::MissingSigner);
}

#[tokio::test]
async fn a_config_account_off_its_pda_is_rejected() {
    let mut env = Env::new().await;
    let mut ix = env.initialize_ix(MIN_STAKE, DELAY);
    ix.accounts[2].pubkey = solana_program::pubkey::Pubkey::new_unique();
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).await.err(CairnError::WrongAddress);
}

#[tokio::test]
async fn a_treasury_that_is_not_a_token_account_is_rejected() {
    let mut env = Env::new().await;
    let mut ix = env.initialize_ix(MIN_STAKE, DELAY);
    ix.accounts[5].pubkey = env.authority.pubkey();
    let authority = env.authority.insecure_clone();
    env.send(&[ix], &[&authority]).await.err(CairnError::WrongOwner);
}

#[tokio::test]
async fn a_treasury_of_another_mint_is_rejected() {
    let mut env = Env::new().await;
    let other_mint = env.create_mint().await;
    let treasury = env.token_account_of(&other_mint, &Keypair::new().pubkey()).await;
    let mut ix = env.initialize_ix(MIN_STAKE, DELAY);
    ix.accounts[5].pubkey = treasury;
    let authority = env.authority.insecure_clone();
    env.send(&[ix.clone()], &[&authority]).await.err(CairnError::WrongTokenAccount);
    // A mint is owned by the token program too, but is no token account.
    ix.accounts[5].pubkey = env.mint;
    env.send(&[ix], &[&authority]).await.err(CairnError::WrongTokenAccount);
}

#[tokio::test]
async fn only_the_upgrade_authority_initializes() {
    let mut env = Env::new().await;
    let squatter = Keypair::new();
    let mut ix = env.initialize_ix(MIN_STAKE, DELAY);
    ix.accounts[1].pubkey = squatter.pubkey();
    env.send(&[ix.clone()], &[&squatter]).await.err(CairnError::NotUpgradeAuthority);
    // Nor with a ProgramData account of its own making.
    ix.accounts[8].pubkey = solana_program::pubkey::Pubkey::new_unique();
    env.send(&[ix], &[&squatter]).await.err(CairnError::WrongAddress);
    assert!(env.ctx.banks_client.get_account(config_address(&ID).0).await.unwrap().is_none());
}
