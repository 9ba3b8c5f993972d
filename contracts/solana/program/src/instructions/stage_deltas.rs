use cairn_solana_interface::{
    CairnError,
    digest::delta_leaf,
    event::Event,
    state::{STAGE_STAGING, StagedBatch},
};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program::invoke, pubkey::Pubkey,
    rent::Rent, sysvar::Sysvar,
};
use solana_system_interface::instruction as system_instruction;

use super::next;
use crate::checks;

/// Stages the next deltas of the open batch, in batch order, with the checks
/// of `settle_batch` carried across chunks (order, non-zero, Σδ per mint,
/// the Merkle frontier). Debits are taken now, so an overdraft fails here and
/// nobody can withdraw funds a staged batch has taken; credits wait for
/// `finalize_batch`, so nobody spends a credit of a batch that may not
/// settle.
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    deltas: &[i64],
) -> ProgramResult {
    let it = &mut accounts.iter();
    let payer = next(it)?;
    let settlement_account = next(it)?;
    let staged = next(it)?;
    let system_program = next(it)?;
    let balance_accounts = it.as_slice();

    checks::signer(payer)?;
    checks::system(system_program)?;
    let s = checks::settlement(program_id, settlement_account)?;
    let mut batch = checks::staged_batch(program_id, staged)?;
    if batch.stage != STAGE_STAGING {
        return Err(CairnError::WrongStage.into());
    }
    let total = (batch.seen as usize).checked_add(deltas.len()).ok_or(CairnError::Overflow)?;
    if balance_accounts.len() != deltas.len() || total > batch.commitment.delta_count as usize {
        return Err(CairnError::WrongDeltaCount.into());
    }

    // Room for the new entries, the rent topped up by the payer.
    let new_len = StagedBatch::HEADER_LEN + StagedBatch::ENTRY_LEN * total;
    let rent = Rent::get()?.minimum_balance(new_len);
    let top_up = rent.saturating_sub(staged.lamports());
    if top_up > 0 {
        invoke(
            &system_instruction::transfer(payer.key, staged.key, top_up),
            &[payer.clone(), staged.clone(), system_program.clone()],
        )?;
    }
    staged.resize(new_len)?;

    for (account, &delta) in balance_accounts.iter().zip(deltas) {
        let mut b = checks::balance(program_id, account)?;
        if b.mint != s.mint {
            return Err(CairnError::MintNotAllowed.into());
        }
        if delta == 0 {
            return Err(CairnError::ZeroDelta.into());
        }
        if batch.seen > 0 {
            let prev = (batch.last_mint.as_ref(), batch.last_owner.as_ref());
            if prev >= (b.mint.as_ref(), b.owner.as_ref()) {
                return Err(CairnError::DeltasNotSorted.into());
            }
            if batch.last_mint != b.mint {
                if batch.sum != 0 {
                    return Err(CairnError::UnbalancedMint.into());
                }
                batch.sum = 0;
            }
        }
        batch.sum = batch.sum.checked_add(delta).ok_or(CairnError::Overflow)?;
        batch.frontier.push(delta_leaf(&b.owner, &b.mint, delta)).ok_or(CairnError::Overflow)?;
        if delta < 0 {
            b.amount = b.amount.checked_sub(delta.unsigned_abs()).ok_or(CairnError::Overdraft)?;
            b.pack(&mut account.try_borrow_mut_data()?);
            checks::emit(&Event::BalanceChanged {
                batch_id: batch.commitment.batch_id,
                owner: b.owner,
                mint: b.mint,
                delta,
                balance: b.amount,
            });
        }
        StagedBatch::write_entry(
            &mut staged.try_borrow_mut_data()?,
            batch.seen,
            account.key,
            delta,
        );
        batch.seen += 1;
        batch.last_mint = b.mint;
        batch.last_owner = b.owner;
    }
    batch.pack(&mut staged.try_borrow_mut_data()?);
    Ok(())
}
