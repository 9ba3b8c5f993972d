use cairn_solana_interface::{
    CairnError,
    digest::{batch_digest, delta_leaf, merkle_root},
    event::Event,
    instruction::BatchCommitment,
    state::{Balance, Settlement},
};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program_error::ProgramError,
    pubkey::Pubkey,
};

use super::{next, slash::recover_signer};
use crate::checks;

/// Applies one netted batch signed by the settlement signer, with the rules
/// of `Settlement.settleBatch`: contiguous batch id, the previous
/// commitment's hash, a well-formed window, the declared delta count, the
/// signer's signature (low s), deltas strictly ordered by (mint, owner) and
/// non-zero, Σδ = 0 per mint, the deltas root, and no balance below zero.
/// Anyone may submit it; the transaction is all-or-nothing, so a batch is
/// applied whole or not at all.
/// The checks on the commitment alone, shared with `begin_batch`: batch id =
/// last + 1, the previous commitment's hash, a well-formed window, and the
/// settlement signer's low-s signature. Returns the commitment's digest.
pub(crate) fn commitment_checks(
    program_id: &Pubkey,
    s: &Settlement,
    c: &BatchCommitment,
    signature: &[u8; 64],
    recovery_id: u8,
) -> Result<[u8; 32], ProgramError> {
    let expected = s.last_batch_id.checked_add(1).ok_or(CairnError::Overflow)?;
    if c.batch_id != expected {
        return Err(CairnError::WrongBatchId.into());
    }
    if c.prev_hash != s.last_commitment_hash {
        return Err(CairnError::WrongPrevHash.into());
    }
    if c.window_end < c.window_start {
        return Err(CairnError::BadWindow.into());
    }
    let digest = batch_digest(program_id, c);
    if recover_signer(&digest, signature, recovery_id)? != s.signer {
        return Err(CairnError::NotSettlementSigner.into());
    }
    Ok(digest)
}

pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    c: &BatchCommitment,
    signature: &[u8; 64],
    recovery_id: u8,
    deltas: &[i64],
) -> ProgramResult {
    let it = &mut accounts.iter();
    let settlement_account = next(it)?;
    let balance_accounts = it.as_slice();

    let mut s = checks::settlement(program_id, settlement_account)?;
    checks::writable(settlement_account)?;
    if s.staging {
        return Err(CairnError::StagedBatchOpen.into());
    }
    let digest = commitment_checks(program_id, &s, c, signature, recovery_id)?;
    // One balance account per delta and nothing else: an extra account
    // would be a balance the signer never saw.
    if deltas.len() != c.delta_count as usize || balance_accounts.len() != deltas.len() {
        return Err(CairnError::WrongDeltaCount.into());
    }

    // Pass 1: read and check every balance and build the leaves; nothing is
    // written until the root matches.
    let mut balances: Vec<Balance> = Vec::with_capacity(deltas.len());
    let mut leaves: Vec<[u8; 32]> = Vec::with_capacity(deltas.len());
    let mut sum: i64 = 0;
    for (i, (account, &delta)) in balance_accounts.iter().zip(deltas).enumerate() {
        let b = checks::balance(program_id, account)?;
        if b.mint != s.mint {
            return Err(CairnError::MintNotAllowed.into());
        }
        if delta == 0 {
            return Err(CairnError::ZeroDelta.into());
        }
        if let Some(prev) = i.checked_sub(1).map(|p| &balances[p]) {
            // Strictly increasing (mint, owner): also what makes the same
            // balance account passed twice fail.
            if (prev.mint.as_ref(), prev.owner.as_ref()) >= (b.mint.as_ref(), b.owner.as_ref()) {
                return Err(CairnError::DeltasNotSorted.into());
            }
            if prev.mint != b.mint {
                if sum != 0 {
                    return Err(CairnError::UnbalancedMint.into());
                }
                sum = 0;
            }
        }
        // A sum that leaves i64 is refused, not wrapped into a false zero.
        sum = sum.checked_add(delta).ok_or(CairnError::Overflow)?;
        leaves.push(delta_leaf(&b.owner, &b.mint, delta));
        balances.push(b);
    }
    if sum != 0 {
        return Err(CairnError::UnbalancedMint.into());
    }
    if merkle_root(&mut leaves) != c.deltas_root {
        return Err(CairnError::WrongDeltasRoot.into());
    }

    // Pass 2: apply.
    for ((account, &delta), mut b) in balance_accounts.iter().zip(deltas).zip(balances) {
        b.amount = if delta < 0 {
            b.amount.checked_sub(delta.unsigned_abs()).ok_or(CairnError::Overdraft)?
        } else {
            b.amount.checked_add(delta.unsigned_abs()).ok_or(CairnError::Overflow)?
        };
        b.pack(&mut account.try_borrow_mut_data()?);
        checks::emit(&Event::BalanceChanged {
            batch_id: c.batch_id,
            owner: b.owner,
            mint: b.mint,
            delta,
            balance: b.amount,
        });
    }
    s.last_batch_id = c.batch_id;
    s.last_commitment_hash = digest;
    s.pack(&mut settlement_account.try_borrow_mut_data()?);
    checks::emit(&Event::BatchSettled {
        batch_id: c.batch_id,
        commitment_hash: digest,
        intents_root: c.intents_root,
        deltas_root: c.deltas_root,
        receipt_id: c.receipt_id,
        window_start: c.window_start,
        window_end: c.window_end,
        intent_count: c.intent_count,
        delta_count: c.delta_count,
    });
    Ok(())
}
