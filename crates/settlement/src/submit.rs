//! Sending a batch's commitment and deltas to `Settlement.settleBatch`.
//!
//! Safe to repeat: before sending, the contract's `lastBatchId` and
//! `lastCommitmentHash` say whether this batch is already settled (a crash
//! after the transaction was mined), so a restart never settles twice and
//! never mistakes another batch for this one.

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
};
use cairn_bindings::Settlement::{self, SettlementErrors};
use cairn_core::eip712::{BatchCommitment, Delta};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Mined in this call.
    Settled { tx_hash: B256, block: u64 },
    /// The contract had already settled this batch.
    AlreadySettled,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("RPC error: {0}")]
    Rpc(String),
    #[error("batch {batch_id} cannot be settled before batch {last_settled_next} (the contract settled up to {last_settled})", last_settled_next = last_settled + 1)]
    Gap { batch_id: u64, last_settled: u64 },
    #[error("the contract settled batch {batch_id} with commitment {on_chain}, not {ours}")]
    Conflict { batch_id: u64, on_chain: B256, ours: B256 },
    #[error("settleBatch reverted: {0}")]
    Rejected(String),
}

fn rpc(error: impl std::fmt::Display) -> SubmitError {
    SubmitError::Rpc(error.to_string())
}

/// Settles one batch on chain, or confirms it already is.
pub async fn submit_batch<P: Provider>(
    rpc_provider: &P,
    settlement: Address,
    commitment: &BatchCommitment,
    commitment_hash: B256,
    deltas: &[Delta],
    signature: &[u8; 65],
) -> Result<Submitted, SubmitError> {
    let vault = Settlement::new(settlement, rpc_provider);
    let last = vault.lastBatchId().call().await.map_err(rpc)?;
    let batch_id = commitment.batchId;
    if last >= batch_id {
        if last == batch_id {
            let on_chain = vault.lastCommitmentHash().call().await.map_err(rpc)?;
            if on_chain != commitment_hash {
                return Err(SubmitError::Conflict { batch_id, on_chain, ours: commitment_hash });
            }
        }
        return Ok(Submitted::AlreadySettled);
    }
    if last + 1 != batch_id {
        return Err(SubmitError::Gap { batch_id, last_settled: last });
    }
    let call = vault.settleBatch(
        Settlement::BatchCommitment::from(commitment),
        deltas.iter().map(Settlement::Delta::from).collect(),
        signature.to_vec().into(),
    );
    let pending = match call.send().await {
        Ok(pending) => pending,
        Err(error) => {
            return Err(match error.as_decoded_interface_error::<SettlementErrors>() {
                Some(decoded) => SubmitError::Rejected(format!("{decoded:?}")),
                None => rpc(error),
            });
        }
    };
    let receipt = pending.get_receipt().await.map_err(rpc)?;
    if !receipt.status() {
        return Err(SubmitError::Rejected(format!(
            "transaction {} reverted",
            receipt.transaction_hash
        )));
    }
    Ok(Submitted::Settled {
        tx_hash: receipt.transaction_hash,
        block: receipt.block_number.unwrap_or_default(),
    })
}
