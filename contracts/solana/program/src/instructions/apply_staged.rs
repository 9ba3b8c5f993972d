use cairn_solana_interface::{
    CairnError,
    event::Event,
    state::{STAGE_FINALIZED, StagedBatch},
};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::next;
use crate::checks;

/// Walks the staged entries from the cursor, applying `apply` to each whose
/// delta has the sign `positive` with the next balance account passed (which
/// must be the entry's), skipping the others, until the accounts run out.
/// Every account passed must be used. When the walk reaches the end, the
/// staged batch is closed (rent back to its payer) and the vault is free
/// for the next batch.
pub(crate) fn walk<'a>(
    program_id: &Pubkey,
    settlement_account: &AccountInfo<'a>,
    staged: &AccountInfo<'a>,
    refund: &AccountInfo<'a>,
    balance_accounts: &[AccountInfo<'a>],
    positive: bool,
    cancelled: bool,
) -> ProgramResult {
    let mut s = checks::settlement(program_id, settlement_account)?;
    checks::writable(settlement_account)?;
    let mut batch = checks::staged_batch(program_id, staged)?;
    checks::address(refund, &batch.payer)?;
    checks::writable(refund)?;
    let mut accounts = balance_accounts.iter();
    let mut used = 0usize;
    while batch.cursor < batch.seen {
        let (key, delta) = StagedBatch::entry(&staged.try_borrow_data()?, batch.cursor)?;
        if (delta > 0) != positive {
            batch.cursor += 1;
            continue;
        }
        let Some(account) = accounts.next() else { break };
        checks::address(account, &key)?;
        let mut b = checks::balance(program_id, account)?;
        // A credit, or the refund of a debit: both add |δ|.
        b.amount = b.amount.checked_add(delta.unsigned_abs()).ok_or(CairnError::Overflow)?;
        b.pack(&mut account.try_borrow_mut_data()?);
        checks::emit(&Event::BalanceChanged {
            batch_id: batch.commitment.batch_id,
            owner: b.owner,
            mint: b.mint,
            delta: if positive { delta } else { delta.unsigned_abs() as i64 },
            balance: b.amount,
        });
        batch.cursor += 1;
        used += 1;
    }
    if used != balance_accounts.len() {
        return Err(CairnError::WrongDeltaCount.into());
    }
    if batch.cursor == batch.seen {
        let batch_id = batch.commitment.batch_id;
        checks::close(staged, refund)?;
        s.staging = false;
        s.pack(&mut settlement_account.try_borrow_mut_data()?);
        if cancelled {
            checks::emit(&Event::BatchCancelled { batch_id });
        }
    } else {
        batch.pack(&mut staged.try_borrow_mut_data()?);
    }
    Ok(())
}

/// Pays the credits of a finalised staged batch, in batch order, as many as
/// the accounts passed; anyone may submit it.
pub(crate) fn process(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let it = &mut accounts.iter();
    let settlement_account = next(it)?;
    let staged = next(it)?;
    let refund = next(it)?;
    let stage = checks::staged_batch(program_id, staged)?.stage;
    if stage != STAGE_FINALIZED {
        return Err(CairnError::WrongStage.into());
    }
    walk(program_id, settlement_account, staged, refund, it.as_slice(), true, false)
}
