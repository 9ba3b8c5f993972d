use cairn_solana_interface::{
    BPF_LOADER_UPGRADEABLE, CairnError, config_address, event::Event, instruction::spl_token_id,
    program_data_address, seeds, state::Config, vault_address,
};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program::invoke, program_pack::Pack,
    pubkey::Pubkey,
};
use spl_token_interface::state::{Account as TokenAccount, Mint};

use super::next;
use crate::checks;

/// `UpgradeableLoaderState::ProgramData` as bincode writes it: a u32 tag
/// (3), the deploy slot (u64), then `Option<Pubkey>` (a 1 byte tag, the key).
pub(crate) fn upgrade_authority_is(
    program_id: &Pubkey,
    program_data: &AccountInfo<'_>,
    authority: &Pubkey,
) -> ProgramResult {
    checks::address(program_data, &program_data_address(program_id))?;
    checks::owned_by(program_data, &BPF_LOADER_UPGRADEABLE)?;
    let data = program_data.try_borrow_data()?;
    let named = data.len() >= 45
        && data[..4] == 3u32.to_le_bytes()
        && data[12] == 1
        && data[13..45] == authority.to_bytes();
    if named { Ok(()) } else { Err(CairnError::NotUpgradeAuthority.into()) }
}

pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    min_stake: u64,
    unbonding_delay: u64,
    slasher: [u8; 20],
) -> ProgramResult {
    let it = &mut accounts.iter();
    let payer = next(it)?;
    let authority = next(it)?;
    let config_account = next(it)?;
    let mint = next(it)?;
    let vault = next(it)?;
    let treasury = next(it)?;
    let system_program = next(it)?;
    let token_program = next(it)?;
    let program_data = next(it)?;

    checks::signer(payer)?;
    checks::signer(authority)?;
    upgrade_authority_is(program_id, program_data, authority.key)?;
    checks::system(system_program)?;
    checks::token_program(token_program)?;
    let (config_key, bump) = config_address(program_id);
    checks::address(config_account, &config_key)?;
    checks::uninitialized(config_account)?;
    let (vault_key, vault_bump) = vault_address(program_id);
    checks::address(vault, &vault_key)?;
    checks::uninitialized(vault)?;
    if slasher == [0; 20] {
        return Err(CairnError::InvalidInstruction.into());
    }

    checks::owned_by(mint, &spl_token_id())?;
    Mint::unpack(&mint.try_borrow_data()?).map_err(|_| CairnError::WrongTokenAccount)?;
    let config = Config {
        bump,
        vault_bump,
        authority: *authority.key,
        stake_mint: *mint.key,
        treasury: *treasury.key,
        slasher,
        min_stake,
        unbonding_delay,
        total_staked: 0,
        slashed_total: 0,
    };
    checks::stake_token_account(&config, treasury)?;

    checks::create_pda(
        payer,
        vault,
        system_program,
        &spl_token_id(),
        TokenAccount::LEN,
        &[seeds::VAULT, &[vault_bump]],
    )?;
    invoke(
        &spl_token_interface::instruction::initialize_account3(
            &spl_token_id(),
            vault.key,
            mint.key,
            &config_key,
        )?,
        &[vault.clone(), mint.clone(), token_program.clone()],
    )?;
    checks::create_pda(
        payer,
        config_account,
        system_program,
        program_id,
        Config::LEN,
        &[seeds::CONFIG, &[bump]],
    )?;
    config.pack(&mut config_account.try_borrow_mut_data()?);
    checks::emit(&Event::Initialized {
        authority: config.authority,
        stake_mint: config.stake_mint,
        treasury: config.treasury,
        slasher,
        min_stake,
        unbonding_delay,
    });
    Ok(())
}
