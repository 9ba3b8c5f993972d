//! The account checks every instruction makes, in one place so no
//! instruction forgets one: signer, writability, owner, PDA address, and
//! token account mint.

use cairn_solana_interface::{
    CairnError,
    event::Event,
    instruction::spl_token_id,
    seeds,
    state::{Balance, Config, Settlement},
};
use solana_program::{
    account_info::AccountInfo,
    clock::Clock,
    entrypoint::ProgramResult,
    log::sol_log_data,
    program::{invoke, invoke_signed},
    program_error::ProgramError,
    program_pack::Pack,
    pubkey::Pubkey,
    rent::Rent,
    sysvar::Sysvar,
};
use solana_system_interface::{instruction as system_instruction, program as system_program};
use spl_token_interface::state::Account as TokenAccount;

pub(crate) fn signer(a: &AccountInfo<'_>) -> ProgramResult {
    if a.is_signer { Ok(()) } else { Err(CairnError::MissingSigner.into()) }
}

pub(crate) fn writable(a: &AccountInfo<'_>) -> ProgramResult {
    if a.is_writable { Ok(()) } else { Err(CairnError::NotWritable.into()) }
}

pub(crate) fn address(a: &AccountInfo<'_>, expected: &Pubkey) -> ProgramResult {
    if a.key == expected { Ok(()) } else { Err(CairnError::WrongAddress.into()) }
}

pub(crate) fn owned_by(a: &AccountInfo<'_>, owner: &Pubkey) -> ProgramResult {
    if a.owner == owner { Ok(()) } else { Err(CairnError::WrongOwner.into()) }
}

/// Two accounts the instruction writes to must differ: the runtime lets the
/// same account appear twice, and a transfer to itself would be counted twice.
pub(crate) fn distinct(a: &AccountInfo<'_>, b: &AccountInfo<'_>) -> ProgramResult {
    if a.key == b.key { Err(CairnError::DuplicateAccount.into()) } else { Ok(()) }
}

pub(crate) fn token_program(a: &AccountInfo<'_>) -> ProgramResult {
    address(a, &spl_token_id())
}

pub(crate) fn system(a: &AccountInfo<'_>) -> ProgramResult {
    address(a, &system_program::ID)
}

/// Reads the config, which must be this program's, at its PDA.
pub(crate) fn config(program_id: &Pubkey, a: &AccountInfo<'_>) -> Result<Config, ProgramError> {
    owned_by(a, program_id)?;
    let config = Config::unpack(&a.try_borrow_data()?)?;
    let expected = Pubkey::create_program_address(&[seeds::CONFIG, &[config.bump]], program_id)
        .map_err(|_| CairnError::WrongAddress)?;
    address(a, &expected)?;
    Ok(config)
}

pub(crate) fn vault(program_id: &Pubkey, config: &Config, a: &AccountInfo<'_>) -> ProgramResult {
    let expected =
        Pubkey::create_program_address(&[seeds::VAULT, &[config.vault_bump]], program_id)
            .map_err(|_| CairnError::WrongAddress)?;
    address(a, &expected)?;
    writable(a)
}

/// A token account of the stake mint (owned by the token program).
pub(crate) fn stake_token_account(
    config: &Config,
    a: &AccountInfo<'_>,
) -> Result<TokenAccount, ProgramError> {
    token_account_of(&config.stake_mint, a)
}

/// A token account (owned by the token program) of `mint`.
fn token_account_of(mint: &Pubkey, a: &AccountInfo<'_>) -> Result<TokenAccount, ProgramError> {
    owned_by(a, &spl_token_id())?;
    let account =
        TokenAccount::unpack(&a.try_borrow_data()?).map_err(|_| CairnError::WrongTokenAccount)?;
    if account.mint != *mint {
        return Err(CairnError::WrongTokenAccount.into());
    }
    Ok(account)
}

/// An account the instruction is about to create must not hold data or
/// belong to anyone: that is what makes a second initialisation fail.
pub(crate) fn uninitialized(a: &AccountInfo<'_>) -> ProgramResult {
    if a.data_len() != 0 || a.owner != &system_program::ID {
        return Err(CairnError::AlreadyInitialized.into());
    }
    Ok(())
}

/// Creates a PDA owned by `owner`. A PDA someone funded in advance cannot be
/// made with `create_account`, so that case tops it up, allocates and assigns.
pub(crate) fn create_pda<'a>(
    payer: &AccountInfo<'a>,
    account: &AccountInfo<'a>,
    system_program: &AccountInfo<'a>,
    owner: &Pubkey,
    space: usize,
    seeds: &[&[u8]],
) -> ProgramResult {
    let rent = Rent::get()?.minimum_balance(space);
    if account.lamports() == 0 {
        invoke_signed(
            &system_instruction::create_account(payer.key, account.key, rent, space as u64, owner),
            &[payer.clone(), account.clone(), system_program.clone()],
            &[seeds],
        )
    } else {
        let top_up = rent.saturating_sub(account.lamports());
        if top_up > 0 {
            invoke(
                &system_instruction::transfer(payer.key, account.key, top_up),
                &[payer.clone(), account.clone(), system_program.clone()],
            )?;
        }
        invoke_signed(
            &system_instruction::allocate(account.key, space as u64),
            &[account.clone(), system_program.clone()],
            &[seeds],
        )?;
        invoke_signed(
            &system_instruction::assign(account.key, owner),
            &[account.clone(), system_program.clone()],
            &[seeds],
        )
    }
}

/// Closes a program-owned account: lamports to `to`, data gone, owner back to
/// the system program, so neither the old state nor its kind byte can be
/// revived by refunding rent later in the same transaction.
pub(crate) fn close(account: &AccountInfo<'_>, to: &AccountInfo<'_>) -> ProgramResult {
    let lamports = account.lamports();
    **to.try_borrow_mut_lamports()? =
        to.lamports().checked_add(lamports).ok_or(CairnError::Overflow)?;
    **account.try_borrow_mut_lamports()? = 0;
    account.resize(0)?;
    account.assign(&system_program::ID);
    Ok(())
}

/// SPL transfer out of the vault, signed by the config PDA (its owner).
pub(crate) fn transfer_from_vault<'a>(
    config: &Config,
    vault: &AccountInfo<'a>,
    to: &AccountInfo<'a>,
    config_account: &AccountInfo<'a>,
    token_program: &AccountInfo<'a>,
    amount: u64,
) -> ProgramResult {
    let ix = spl_token_interface::instruction::transfer(
        &spl_token_id(),
        vault.key,
        to.key,
        config_account.key,
        &[],
        amount,
    )?;
    invoke_signed(
        &ix,
        &[vault.clone(), to.clone(), config_account.clone(), token_program.clone()],
        &[&[seeds::CONFIG, &[config.bump]]],
    )
}

/// Unix seconds now; a clock before 1970 reads as 0.
pub(crate) fn now() -> Result<u64, ProgramError> {
    Ok(u64::try_from(Clock::get()?.unix_timestamp).unwrap_or(0))
}

pub(crate) fn emit(event: &Event) {
    sol_log_data(&[event.name(), &event.payload()]);
}

/// Reads the settlement vault's config, which must be this program's, at its PDA.
pub(crate) fn settlement(
    program_id: &Pubkey,
    a: &AccountInfo<'_>,
) -> Result<Settlement, ProgramError> {
    owned_by(a, program_id)?;
    let s = Settlement::unpack(&a.try_borrow_data()?)?;
    let expected = Pubkey::create_program_address(&[seeds::SETTLEMENT, &[s.bump]], program_id)
        .map_err(|_| CairnError::WrongAddress)?;
    address(a, &expected)?;
    Ok(s)
}

/// The settlement vault's token account of its mint.
pub(crate) fn settlement_vault(
    program_id: &Pubkey,
    s: &Settlement,
    a: &AccountInfo<'_>,
) -> ProgramResult {
    let expected = Pubkey::create_program_address(
        &[seeds::SETTLEMENT_VAULT, s.mint.as_ref(), &[s.vault_bump]],
        program_id,
    )
    .map_err(|_| CairnError::WrongAddress)?;
    address(a, &expected)?;
    writable(a)
}

/// A token account of the settlement mint (owned by the token program).
pub(crate) fn settlement_token_account(
    s: &Settlement,
    a: &AccountInfo<'_>,
) -> Result<TokenAccount, ProgramError> {
    token_account_of(&s.mint, a)
}

/// Reads a balance account: this program's, writable, of the kind byte, at
/// the PDA of the owner and mint it names (so another owner's balance
/// cannot stand in for it).
pub(crate) fn balance(program_id: &Pubkey, a: &AccountInfo<'_>) -> Result<Balance, ProgramError> {
    owned_by(a, program_id)?;
    writable(a)?;
    let b = Balance::unpack(&a.try_borrow_data()?)?;
    let expected = Pubkey::create_program_address(
        &[seeds::BALANCE, b.owner.as_ref(), b.mint.as_ref(), &[b.bump]],
        program_id,
    )
    .map_err(|_| CairnError::WrongAddress)?;
    address(a, &expected)?;
    Ok(b)
}

/// SPL transfer out of the settlement vault, signed by the settlement PDA (its owner).
pub(crate) fn transfer_from_settlement_vault<'a>(
    s: &Settlement,
    vault: &AccountInfo<'a>,
    to: &AccountInfo<'a>,
    settlement_account: &AccountInfo<'a>,
    token_program: &AccountInfo<'a>,
    amount: u64,
) -> ProgramResult {
    let ix = spl_token_interface::instruction::transfer(
        &spl_token_id(),
        vault.key,
        to.key,
        settlement_account.key,
        &[],
        amount,
    )?;
    invoke_signed(
        &ix,
        &[vault.clone(), to.clone(), settlement_account.clone(), token_program.clone()],
        &[&[seeds::SETTLEMENT, &[s.bump]]],
    )
}

/// Reads the staged batch, which must be this program's at its PDA.
pub(crate) fn staged_batch(
    program_id: &Pubkey,
    a: &AccountInfo<'_>,
) -> Result<cairn_solana_interface::state::StagedBatch, ProgramError> {
    owned_by(a, program_id)?;
    writable(a)?;
    let b = cairn_solana_interface::state::StagedBatch::unpack(&a.try_borrow_data()?)?;
    let expected = Pubkey::create_program_address(&[seeds::STAGED_BATCH, &[b.bump]], program_id)
        .map_err(|_| CairnError::WrongAddress)?;
    address(a, &expected)?;
    Ok(b)
}
