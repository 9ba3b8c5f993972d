use cairn_solana_interface::{
    CairnError, event::Event, instruction::spl_token_id, provider_address, seeds, state::Provider,
};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program::invoke, pubkey::Pubkey,
};

use super::next;
use crate::checks;

pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    amount: u64,
    operator: Pubkey,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let provider = next(it)?;
    let config_account = next(it)?;
    let provider_account = next(it)?;
    let provider_token = next(it)?;
    let vault = next(it)?;
    let token_program = next(it)?;
    let system_program = next(it)?;

    checks::signer(provider)?;
    checks::token_program(token_program)?;
    checks::system(system_program)?;
    let mut config = checks::config(program_id, config_account)?;
    checks::writable(config_account)?;
    checks::vault(program_id, &config, vault)?;
    checks::distinct(provider_token, vault)?;
    checks::stake_token_account(&config, provider_token)?;
    let (expected, bump) = provider_address(program_id, provider.key);
    checks::address(provider_account, &expected)?;
    checks::uninitialized(provider_account)?;
    if amount == 0 || amount < config.min_stake {
        return Err(CairnError::BelowMinimum.into());
    }
    config.total_staked = config.total_staked.checked_add(amount).ok_or(CairnError::Overflow)?;

    invoke(
        &spl_token_interface::instruction::transfer(
            &spl_token_id(),
            provider_token.key,
            vault.key,
            provider.key,
            &[],
            amount,
        )?,
        &[provider_token.clone(), vault.clone(), provider.clone(), token_program.clone()],
    )?;
    checks::create_pda(
        provider,
        provider_account,
        system_program,
        program_id,
        Provider::LEN,
        &[seeds::PROVIDER, provider.key.as_ref(), &[bump]],
    )?;
    let record = Provider {
        bump,
        provider: *provider.key,
        operator,
        stake: amount,
        unbonding: 0,
        release_at: 0,
        endpoint_count: 0,
    };
    record.pack(&mut provider_account.try_borrow_mut_data()?);
    config.pack(&mut config_account.try_borrow_mut_data()?);
    checks::emit(&Event::Registered { provider: *provider.key, operator, amount });
    Ok(())
}
