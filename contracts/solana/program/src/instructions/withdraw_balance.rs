use cairn_solana_interface::{CairnError, event::Event};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::next;
use crate::checks;

/// Pays out a requested withdrawal after the delay, capped at the balance
/// left after any batches settled meanwhile (as `Settlement.withdraw`).
pub(crate) fn process(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let it = &mut accounts.iter();
    let owner = next(it)?;
    let settlement_account = next(it)?;
    let balance_account = next(it)?;
    let vault = next(it)?;
    let owner_token = next(it)?;
    let token_program = next(it)?;

    checks::signer(owner)?;
    checks::token_program(token_program)?;
    let mut s = checks::settlement(program_id, settlement_account)?;
    checks::writable(settlement_account)?;
    checks::settlement_vault(program_id, &s, vault)?;
    checks::distinct(owner_token, vault)?;
    checks::settlement_token_account(&s, owner_token)?;
    let mut b = checks::balance(program_id, balance_account)?;
    if b.owner != *owner.key {
        return Err(CairnError::MissingSigner.into());
    }
    if b.pending == 0 {
        return Err(CairnError::NoPendingWithdrawal.into());
    }
    if checks::now()? < b.ready_at {
        return Err(CairnError::WithdrawalNotReady.into());
    }
    let amount = b.pending.min(b.amount);
    if amount == 0 {
        return Err(CairnError::InsufficientBalance.into());
    }
    b.pending = 0;
    b.ready_at = 0;
    b.amount -= amount;
    s.total_balance = s.total_balance.checked_sub(amount).ok_or(CairnError::Overflow)?;

    checks::transfer_from_settlement_vault(
        &s,
        vault,
        owner_token,
        settlement_account,
        token_program,
        amount,
    )?;
    b.pack(&mut balance_account.try_borrow_mut_data()?);
    s.pack(&mut settlement_account.try_borrow_mut_data()?);
    checks::emit(&Event::BalanceWithdrawn {
        owner: b.owner,
        mint: b.mint,
        amount,
        balance: b.amount,
    });
    Ok(())
}
