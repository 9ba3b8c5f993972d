use cairn_solana_interface::{
    CairnError,
    event::Event,
    state::{STAGE_FINALIZED, STAGE_STAGING},
};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::next;
use crate::checks;

/// Settles the staged batch once every delta is in: the declared count, the
/// last mint's Σδ = 0, the frontier's root = the commitment's deltas root.
/// Only here do the batch id and commitment hash move, so the batch counts
/// as settled whole or not at all; `apply_staged` then pays the credits.
pub(crate) fn process(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let it = &mut accounts.iter();
    let settlement_account = next(it)?;
    let staged = next(it)?;

    let mut s = checks::settlement(program_id, settlement_account)?;
    checks::writable(settlement_account)?;
    let mut batch = checks::staged_batch(program_id, staged)?;
    if batch.stage != STAGE_STAGING {
        return Err(CairnError::WrongStage.into());
    }
    let c = &batch.commitment;
    if batch.seen != c.delta_count {
        return Err(CairnError::WrongDeltaCount.into());
    }
    if batch.sum != 0 {
        return Err(CairnError::UnbalancedMint.into());
    }
    if batch.frontier.root() != c.deltas_root {
        return Err(CairnError::WrongDeltasRoot.into());
    }
    s.last_batch_id = c.batch_id;
    s.last_commitment_hash = batch.digest;
    s.pack(&mut settlement_account.try_borrow_mut_data()?);
    checks::emit(&Event::BatchSettled {
        batch_id: c.batch_id,
        commitment_hash: batch.digest,
        intents_root: c.intents_root,
        deltas_root: c.deltas_root,
        receipt_id: c.receipt_id,
        window_start: c.window_start,
        window_end: c.window_end,
        intent_count: c.intent_count,
        delta_count: c.delta_count,
    });
    batch.stage = STAGE_FINALIZED;
    batch.pack(&mut staged.try_borrow_mut_data()?);
    Ok(())
}
