//! One step of the settlement pipeline at a time, each picking up where the
//! store says the last one left off: close the open batch, write its
//! receipt, wait for the uploader to store it on Arweave, submit it and see
//! the transaction through. Every step is idempotent, so a process that
//! dies anywhere and restarts ends in the same place.
//!
//! Only one process may drive a chain's pipeline (the batch leader); the
//! caller chooses it (`Store::try_lead`).

use std::sync::Arc;

use alloy_sol_types::Eip712Domain;
use cairn_core::netting::BatchPolicy;
use cairn_signer::{RequestSigner, Signer};
use cairn_store::{CloseOutcome, Store, StoreError};

use crate::{ReceiptError, SubmitError, Submitted, Submitter, Uploader, write_receipt};

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Closed(u64),
    ReceiptWritten(u64),
    Submitted(u64, Submitted),
    /// Nothing to do now, and why.
    Idle(String),
}

impl Step {
    /// Whether the step changed something, so the next may follow at once.
    pub fn acted(&self) -> bool {
        match self {
            Self::Closed(_) | Self::ReceiptWritten(_) => true,
            Self::Submitted(_, submitted) => submitted.acted(),
            Self::Idle(_) => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Receipt(#[from] ReceiptError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error("batch {0} has a receipt but no recorded commitment")]
    MissingCommitment(u64),
}

/// Drives one chain's batches.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub store: Store,
    /// CAIP-2 chain of the settlement contract.
    pub chain: String,
    pub domain: Eip712Domain,
    pub policy: BatchPolicy,
    /// Signs receipts (ANS-104 items); its key is the receipts' owner.
    pub receipt_signer: Arc<dyn Signer>,
    /// Signs commitments: it must be the contract's settlement signer.
    pub settlement_signer: Arc<dyn RequestSigner>,
    /// A receipt larger than this carries its intents in a second item.
    pub max_receipt_bytes: usize,
    /// Sends `settleBatch`; `None` turns on-chain settlement off (batches
    /// stop once their receipt is stored).
    pub submitter: Option<Submitter>,
}

impl Pipeline {
    pub async fn step(&self, now: i64) -> Result<Step, PipelineError> {
        if let Some((batch_id, stage)) = self.store.unfinished_batch(&self.chain).await? {
            return match stage.as_str() {
                "closed" => {
                    write_receipt(
                        &self.store,
                        &self.chain,
                        &self.domain,
                        batch_id,
                        self.receipt_signer.as_ref(),
                        self.settlement_signer.as_ref(),
                        self.max_receipt_bytes,
                    )
                    .await?;
                    crate::failpoint("after_receipt").await;
                    Ok(Step::ReceiptWritten(batch_id))
                }
                "receipt_written" => Ok(Step::Idle(format!(
                    "batch {batch_id}'s receipt awaits its upload to Arweave"
                ))),
                _ => self.submit(batch_id, now).await,
            };
        }
        Ok(match self.store.close_open_batch(&self.chain, &self.policy, now).await? {
            CloseOutcome::Closed(batch) => {
                crate::failpoint("after_close").await;
                Step::Closed(batch.body.batch_id)
            }
            CloseOutcome::NotYet { batch_id, pending } => {
                Step::Idle(format!("batch {batch_id} holds {pending} intents; the policy waits"))
            }
            CloseOutcome::AwaitingSettlement { batch_id } => {
                Step::Idle(format!("batch {batch_id} awaits its settlement being indexed"))
            }
        })
    }

    async fn submit(&self, batch_id: u64, now: i64) -> Result<Step, PipelineError> {
        let Some(submitter) = &self.submitter else {
            return Ok(Step::Idle(format!(
                "batch {batch_id}'s receipt is stored; on-chain settlement is off"
            )));
        };
        let pending = self
            .store
            .pending_submission(&self.chain, batch_id)
            .await?
            .ok_or(PipelineError::MissingCommitment(batch_id))?;
        let submitted =
            submitter.advance(&self.store, &self.chain, batch_id, &pending, now).await?;
        match submitted {
            Submitted::Sent { .. } | Submitted::Bumped { .. } | Submitted::Rebroadcast { .. } => {
                tracing::info!(batch_id, ?submitted, "settlement transaction");
                crate::failpoint("after_tx_sent").await
            }
            Submitted::Mined { .. } => crate::failpoint("after_mined").await,
            Submitted::Waiting { .. } | Submitted::AlreadySettled => {}
        }
        Ok(Step::Submitted(batch_id, submitted))
    }
}

/// Runs the pipeline and the receipt uploader until `stop` resolves: takes
/// the chain's batch leader role (waiting while another process holds it),
/// then drains the outbox and steps, resting `tick` whenever neither did
/// anything or a step failed (it is retried: every step is idempotent).
pub async fn run(
    pipeline: Pipeline,
    uploader: Option<Uploader>,
    tick: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let work = async {
        loop {
            let mut leadership = match pipeline.store.try_lead(&pipeline.chain).await {
                Ok(Some(leadership)) => leadership,
                Ok(None) => {
                    tracing::debug!(chain = %pipeline.chain, "another process leads the batches");
                    tokio::time::sleep(tick).await;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot take the batch leader role");
                    tokio::time::sleep(tick).await;
                    continue;
                }
            };
            tracing::info!(chain = %pipeline.chain, "leading the batches");
            loop {
                if !leadership.still_held().await {
                    tracing::warn!(chain = %pipeline.chain, "lost the batch leader role; asking again");
                    break;
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                let mut acted = false;
                if let Some(uploader) = &uploader {
                    match uploader.drain_once(now).await {
                        Ok(report) if report == crate::DrainReport::default() => {}
                        Ok(report) => {
                            tracing::info!(?report, "receipt upload");
                            acted = report.posted + report.confirmed > 0;
                        }
                        Err(error) => tracing::warn!(%error, "receipt upload pass failed"),
                    }
                }
                match pipeline.step(now).await {
                    Ok(Step::Idle(why)) => tracing::debug!(%why, "batcher idle"),
                    // Waiting on the chain or the indexer repeats every tick.
                    Ok(step) if !step.acted() => tracing::debug!(?step, "batcher waiting"),
                    Ok(step) => {
                        tracing::info!(?step, "batcher step");
                        acted = true;
                    }
                    Err(error) => tracing::warn!(%error, "batcher step failed; retrying"),
                }
                if !acted {
                    tokio::time::sleep(tick).await;
                }
            }
        }
    };
    tokio::select! {
        () = stop => {}
        () = work => {}
    }
}
