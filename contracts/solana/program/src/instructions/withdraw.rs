use cairn_solana_interface::{CairnError, event::Event};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::{next, provider};
use crate::checks;

/// Pays out unbonded stake after the delay. A provider left with nothing
/// bonded exits and its account is closed; unlike the EVM registry, which
/// drops the services in the same call, the endpoints must be removed first
/// (each is its own account and would otherwise be orphaned).
pub(crate) fn process(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let it = &mut accounts.iter();
    let signer = next(it)?;
    let config_account = next(it)?;
    let provider_account = next(it)?;
    let vault = next(it)?;
    let provider_token = next(it)?;
    let token_program = next(it)?;

    checks::signer(signer)?;
    checks::token_program(token_program)?;
    let mut config = checks::config(program_id, config_account)?;
    checks::writable(config_account)?;
    checks::vault(program_id, &config, vault)?;
    checks::distinct(provider_token, vault)?;
    checks::stake_token_account(&config, provider_token)?;
    let mut record = provider(program_id, provider_account)?;
    if record.provider != *signer.key {
        return Err(CairnError::MissingSigner.into());
    }
    if record.unbonding == 0 {
        return Err(CairnError::NothingUnbonding.into());
    }
    if checks::now()? < record.release_at {
        return Err(CairnError::StillUnbonding.into());
    }
    let exited = record.stake == 0;
    if exited && record.endpoint_count != 0 {
        return Err(CairnError::EndpointsRemain.into());
    }
    let amount = record.unbonding;
    config.total_staked = config.total_staked.checked_sub(amount).ok_or(CairnError::Overflow)?;

    checks::transfer_from_vault(
        &config,
        vault,
        provider_token,
        config_account,
        token_program,
        amount,
    )?;
    config.pack(&mut config_account.try_borrow_mut_data()?);
    if exited {
        checks::writable(signer)?;
        checks::close(provider_account, signer)?;
    } else {
        record.unbonding = 0;
        record.release_at = 0;
        record.pack(&mut provider_account.try_borrow_mut_data()?);
    }
    checks::emit(&Event::Withdrawn { provider: record.provider, amount, exited });
    Ok(())
}
