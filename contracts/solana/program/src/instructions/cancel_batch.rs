use cairn_solana_interface::{
    CairnError,
    state::{STAGE_CANCELLING, STAGE_FINALIZED},
};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::{apply_staged::walk, next};
use crate::checks;

/// Abandons a staged batch that cannot finalise (a chunk that overdraws or
/// breaks the order, a root that will not match): the vault's authority
/// signs, no more deltas can be staged, and the debits taken so far are
/// refunded in order; the last call closes the staged batch, and the batch id
/// (never consumed) is free for another attempt. A finalised batch cannot be
/// cancelled.
pub(crate) fn process(program_id: &Pubkey, accounts: &[AccountInfo<'_>]) -> ProgramResult {
    let it = &mut accounts.iter();
    let authority = next(it)?;
    let settlement_account = next(it)?;
    let staged = next(it)?;
    let refund = next(it)?;

    checks::signer(authority)?;
    let s = checks::settlement(program_id, settlement_account)?;
    if s.authority != *authority.key {
        return Err(CairnError::NotAuthority.into());
    }
    let mut batch = checks::staged_batch(program_id, staged)?;
    if batch.stage == STAGE_FINALIZED {
        return Err(CairnError::WrongStage.into());
    }
    if batch.stage != STAGE_CANCELLING {
        // Refunds start from the first entry, whatever was staged.
        batch.stage = STAGE_CANCELLING;
        batch.cursor = 0;
        batch.pack(&mut staged.try_borrow_mut_data()?);
    }
    walk(program_id, settlement_account, staged, refund, it.as_slice(), false, true)
}
