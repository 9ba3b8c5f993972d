use cairn_solana_interface::{CairnError, event::Event};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::{next, provider};
use crate::checks;

/// Moves bonded stake to unbonding. A second unbond adds to the pending
/// amount and restarts the delay, as `cairn_core::registry` does.
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    amount: u64,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let signer = next(it)?;
    let config_account = next(it)?;
    let provider_account = next(it)?;

    checks::signer(signer)?;
    let config = checks::config(program_id, config_account)?;
    let mut record = provider(program_id, provider_account)?;
    if record.provider != *signer.key {
        return Err(CairnError::MissingSigner.into());
    }
    if amount == 0 {
        return Err(CairnError::ZeroAmount.into());
    }
    if amount > record.stake {
        return Err(CairnError::UnbondExceedsStake.into());
    }
    let remaining = record.stake - amount;
    if remaining != 0 && remaining < config.min_stake {
        return Err(CairnError::UnbondLeavesBelowMinimum.into());
    }
    let release_at =
        checks::now()?.checked_add(config.unbonding_delay).ok_or(CairnError::Overflow)?;
    record.stake = remaining;
    record.unbonding = record.unbonding.checked_add(amount).ok_or(CairnError::Overflow)?;
    record.release_at = release_at;
    record.pack(&mut provider_account.try_borrow_mut_data()?);
    checks::emit(&Event::UnbondStarted { provider: record.provider, amount, release_at });
    Ok(())
}
