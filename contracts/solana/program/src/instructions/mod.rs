//! One file per instruction. Each takes its accounts in the order the
//! interface's builder lists them and checks every one before it changes
//! anything.

pub(crate) mod add_endpoint;
pub(crate) mod apply_staged;
pub(crate) mod begin_batch;
pub(crate) mod cancel_batch;
pub(crate) mod deposit;
pub(crate) mod finalize_batch;
pub(crate) mod initialize;
pub(crate) mod initialize_vault;
pub(crate) mod open_balance;
pub(crate) mod register;
pub(crate) mod remove_endpoint;
pub(crate) mod request_withdrawal;
pub(crate) mod settle_batch;
pub(crate) mod slash;
pub(crate) mod stage_deltas;
pub(crate) mod unbond;
pub(crate) mod withdraw;
pub(crate) mod withdraw_balance;

use cairn_solana_interface::{CairnError, seeds, state::Provider};
use solana_program::{account_info::AccountInfo, program_error::ProgramError, pubkey::Pubkey};

use crate::checks;

/// Reads a provider account, which must be this program's and sit at the PDA
/// of the provider it names.
pub(crate) fn provider(program_id: &Pubkey, a: &AccountInfo<'_>) -> Result<Provider, ProgramError> {
    checks::owned_by(a, program_id)?;
    checks::writable(a)?;
    let p = Provider::unpack(&a.try_borrow_data()?)?;
    let expected = Pubkey::create_program_address(
        &[seeds::PROVIDER, p.provider.as_ref(), &[p.bump]],
        program_id,
    )
    .map_err(|_| CairnError::WrongAddress)?;
    checks::address(a, &expected)?;
    Ok(p)
}

pub(crate) fn next<'a, 'b>(
    it: &mut core::slice::Iter<'b, AccountInfo<'a>>,
) -> Result<&'b AccountInfo<'a>, ProgramError> {
    it.next().ok_or(ProgramError::NotEnoughAccountKeys)
}
