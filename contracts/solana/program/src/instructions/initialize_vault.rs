use cairn_solana_interface::{
    CairnError, event::Event, instruction::spl_token_id, seeds, settlement_address,
    settlement_vault_address, state::Settlement,
};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program::invoke, program_pack::Pack,
    pubkey::Pubkey,
};
use spl_token_interface::state::{Account as TokenAccount, Mint};

use super::{initialize::upgrade_authority_is, next};
use crate::checks;

/// Creates the settlement vault: its config PDA and the token account of its
/// one mint, owned by that PDA. Signed by the program's upgrade authority, as
/// `initialize`, so nobody installs their own settlement signer first.
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    signer: [u8; 20],
    withdrawal_delay: u64,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let payer = next(it)?;
    let authority = next(it)?;
    let settlement_account = next(it)?;
    let mint = next(it)?;
    let vault = next(it)?;
    let system_program = next(it)?;
    let token_program = next(it)?;
    let program_data = next(it)?;

    checks::signer(payer)?;
    checks::signer(authority)?;
    upgrade_authority_is(program_id, program_data, authority.key)?;
    checks::system(system_program)?;
    checks::token_program(token_program)?;
    let (settlement_key, bump) = settlement_address(program_id);
    checks::address(settlement_account, &settlement_key)?;
    checks::uninitialized(settlement_account)?;
    let (vault_key, vault_bump) = settlement_vault_address(program_id, mint.key);
    checks::address(vault, &vault_key)?;
    checks::uninitialized(vault)?;
    // A zero signer would make every batch "signed" by a failed recovery's
    // conventional zero address on EVM; refuse it here as the contract does.
    if signer == [0; 20] {
        return Err(CairnError::InvalidInstruction.into());
    }
    checks::owned_by(mint, &spl_token_id())?;
    Mint::unpack(&mint.try_borrow_data()?).map_err(|_| CairnError::WrongTokenAccount)?;

    checks::create_pda(
        payer,
        vault,
        system_program,
        &spl_token_id(),
        TokenAccount::LEN,
        &[seeds::SETTLEMENT_VAULT, mint.key.as_ref(), &[vault_bump]],
    )?;
    invoke(
        &spl_token_interface::instruction::initialize_account3(
            &spl_token_id(),
            vault.key,
            mint.key,
            &settlement_key,
        )?,
        &[vault.clone(), mint.clone(), token_program.clone()],
    )?;
    checks::create_pda(
        payer,
        settlement_account,
        system_program,
        program_id,
        Settlement::LEN,
        &[seeds::SETTLEMENT, &[bump]],
    )?;
    let s = Settlement {
        bump,
        vault_bump,
        authority: *authority.key,
        signer,
        mint: *mint.key,
        withdrawal_delay,
        last_batch_id: 0,
        last_commitment_hash: [0; 32],
        total_balance: 0,
        staging: false,
    };
    s.pack(&mut settlement_account.try_borrow_mut_data()?);
    checks::emit(&Event::VaultInitialized {
        authority: s.authority,
        mint: s.mint,
        signer,
        withdrawal_delay,
    });
    Ok(())
}
