use cairn_solana_interface::{
    CairnError,
    digest::MerkleFrontier,
    event::Event,
    instruction::BatchCommitment,
    seeds, staged_batch_address,
    state::{STAGE_STAGING, StagedBatch},
};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::{next, settle_batch::commitment_checks};
use crate::checks;

/// Opens a batch too large for one transaction: the commitment is checked
/// once here (id, prev hash, window, signature) and kept in the staged-batch
/// PDA; while it is open no other batch can begin or settle, so the
/// commitment stays atomic across the chunks.
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    c: &BatchCommitment,
    signature: &[u8; 64],
    recovery_id: u8,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let payer = next(it)?;
    let settlement_account = next(it)?;
    let staged = next(it)?;
    let system_program = next(it)?;

    checks::signer(payer)?;
    checks::system(system_program)?;
    let mut s = checks::settlement(program_id, settlement_account)?;
    checks::writable(settlement_account)?;
    if s.staging {
        return Err(CairnError::StagedBatchOpen.into());
    }
    let digest = commitment_checks(program_id, &s, c, signature, recovery_id)?;
    let (expected, bump) = staged_batch_address(program_id);
    checks::address(staged, &expected)?;
    checks::uninitialized(staged)?;
    checks::create_pda(
        payer,
        staged,
        system_program,
        program_id,
        StagedBatch::HEADER_LEN,
        &[seeds::STAGED_BATCH, &[bump]],
    )?;
    let record = StagedBatch {
        bump,
        stage: STAGE_STAGING,
        payer: *payer.key,
        commitment: c.clone(),
        digest,
        seen: 0,
        last_mint: Pubkey::default(),
        last_owner: Pubkey::default(),
        sum: 0,
        frontier: MerkleFrontier::default(),
        cursor: 0,
    };
    record.pack(&mut staged.try_borrow_mut_data()?);
    s.staging = true;
    s.pack(&mut settlement_account.try_borrow_mut_data()?);
    checks::emit(&Event::BatchStaged { batch_id: c.batch_id, commitment_hash: digest });
    Ok(())
}
