use cairn_solana_interface::{CairnError, event::Event};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::next;
use crate::checks;

/// Announces a withdrawal of `amount`, takeable after the delay. As in
/// `Settlement.sol`, a new request replaces the previous one and restarts the
/// delay, and the funds stay debitable by batches until then: a payer cannot
/// pull out from under a batch already on its way (the off-chain ledger
/// stops accepting intents against them).
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    amount: u64,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let owner = next(it)?;
    let settlement_account = next(it)?;
    let balance_account = next(it)?;

    checks::signer(owner)?;
    let s = checks::settlement(program_id, settlement_account)?;
    let mut b = checks::balance(program_id, balance_account)?;
    if b.owner != *owner.key {
        return Err(CairnError::MissingSigner.into());
    }
    if amount == 0 {
        return Err(CairnError::ZeroAmount.into());
    }
    if amount > b.amount {
        return Err(CairnError::InsufficientBalance.into());
    }
    let ready_at = checks::now()?.checked_add(s.withdrawal_delay).ok_or(CairnError::Overflow)?;
    b.pending = amount;
    b.ready_at = ready_at;
    b.pack(&mut balance_account.try_borrow_mut_data()?);
    checks::emit(&Event::WithdrawalRequested { owner: b.owner, mint: b.mint, amount, ready_at });
    Ok(())
}
