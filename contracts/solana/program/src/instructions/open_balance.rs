use cairn_solana_interface::{
    balance_address,
    event::Event,
    seeds,
    state::{Balance, Settlement},
};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::next;
use crate::checks;

/// Creates the empty balance PDA of (`owner`, mint) for `payer`'s rent, so
/// a batch can credit an owner who never deposited. Shared with `deposit`,
/// which opens the balance on first use.
pub(crate) fn open<'a>(
    program_id: &Pubkey,
    s: &Settlement,
    payer: &AccountInfo<'a>,
    balance: &AccountInfo<'a>,
    system_program: &AccountInfo<'a>,
    owner: &Pubkey,
) -> ProgramResult {
    let (expected, bump) = balance_address(program_id, owner, &s.mint);
    checks::address(balance, &expected)?;
    checks::uninitialized(balance)?;
    checks::create_pda(
        payer,
        balance,
        system_program,
        program_id,
        Balance::LEN,
        &[seeds::BALANCE, owner.as_ref(), s.mint.as_ref(), &[bump]],
    )?;
    let record = Balance { bump, owner: *owner, mint: s.mint, amount: 0, pending: 0, ready_at: 0 };
    record.pack(&mut balance.try_borrow_mut_data()?);
    checks::emit(&Event::BalanceOpened { owner: *owner, mint: s.mint });
    Ok(())
}

pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    owner: &Pubkey,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let payer = next(it)?;
    let settlement_account = next(it)?;
    let balance = next(it)?;
    let system_program = next(it)?;

    checks::signer(payer)?;
    checks::system(system_program)?;
    let s = checks::settlement(program_id, settlement_account)?;
    open(program_id, &s, payer, balance, system_program, owner)
}
