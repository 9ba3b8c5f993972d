use cairn_solana_interface::{CairnError, event::Event, instruction::spl_token_id};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program::invoke, pubkey::Pubkey,
};

use super::{next, open_balance};
use crate::checks;

/// Moves `amount` of the vault's mint from the owner's token account into
/// the vault and credits the owner's balance, opening it on first use.
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    amount: u64,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let owner = next(it)?;
    let settlement_account = next(it)?;
    let balance_account = next(it)?;
    let owner_token = next(it)?;
    let vault = next(it)?;
    let token_program = next(it)?;
    let system_program = next(it)?;

    checks::signer(owner)?;
    checks::token_program(token_program)?;
    checks::system(system_program)?;
    let mut s = checks::settlement(program_id, settlement_account)?;
    checks::writable(settlement_account)?;
    checks::settlement_vault(program_id, &s, vault)?;
    // The vault as its own source would credit a balance with tokens that
    // were already owed to others.
    checks::distinct(owner_token, vault)?;
    checks::settlement_token_account(&s, owner_token)?;
    if amount == 0 {
        return Err(CairnError::ZeroAmount.into());
    }
    if balance_account.data_len() == 0 {
        checks::writable(owner)?;
        open_balance::open(program_id, &s, owner, balance_account, system_program, owner.key)?;
    }
    let mut b = checks::balance(program_id, balance_account)?;
    if b.owner != *owner.key {
        return Err(CairnError::WrongAddress.into());
    }
    b.amount = b.amount.checked_add(amount).ok_or(CairnError::Overflow)?;
    s.total_balance = s.total_balance.checked_add(amount).ok_or(CairnError::Overflow)?;

    // Classic SPL Token moves exactly `amount` (no transfer fees), so the
    // credit is the amount, without the balance-before/after read the EVM
    // contract needs for fee-taking tokens.
    invoke(
        &spl_token_interface::instruction::transfer(
            &spl_token_id(),
            owner_token.key,
            vault.key,
            owner.key,
            &[],
            amount,
        )?,
        &[owner_token.clone(), vault.clone(), owner.clone(), token_program.clone()],
    )?;
    b.pack(&mut balance_account.try_borrow_mut_data()?);
    s.pack(&mut settlement_account.try_borrow_mut_data()?);
    checks::emit(&Event::Deposited { owner: b.owner, mint: b.mint, amount, balance: b.amount });
    Ok(())
}
