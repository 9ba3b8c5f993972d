//! Sending a batch's commitment and deltas to `Settlement.settleBatch`, and
//! seeing the transaction through.
//!
//! Safe to repeat at any point: the contract's `lastBatchId` and
//! `lastCommitmentHash` say whether the batch is already settled (a crash
//! after the transaction was mined), so a restart never settles twice and
//! never mistakes another batch for this one. The signed transaction is
//! written to the store before it is broadcast; a restart finds it and
//! re-broadcasts it if the node forgot it, replaces it with higher fees when
//! it waits too long, and re-signs it at the account's next nonce when its
//! own nonce can no longer be mined (taken by another transaction, or left
//! behind a gap).

use alloy::{
    eips::Encodable2718,
    network::{
        Ethereum, EthereumWallet, NetworkTransactionBuilder, NetworkWallet, TransactionBuilder,
    },
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
};
use cairn_bindings::Settlement::{self, SettlementErrors};
use cairn_core::eip712::BatchCommitment;
use cairn_store::{PendingSubmission, SettlementTx, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A new transaction was signed, recorded and broadcast.
    Sent { tx_hash: B256, nonce: u64 },
    /// The recorded transaction was unknown to the node; sent again as is.
    Rebroadcast { tx_hash: B256 },
    /// The recorded transaction waited too long; replaced at the same nonce
    /// with higher fees.
    Bumped { tx_hash: B256, nonce: u64, max_fee_per_gas: u128 },
    /// The recorded transaction is in the node's pool, not yet due a bump.
    Waiting { tx_hash: B256 },
    /// Our transaction is mined and the contract has the batch.
    Mined { tx_hash: B256, block: u64 },
    /// The contract has the batch, settled by a transaction this store did
    /// not record (an earlier one it replaced, or another process).
    AlreadySettled,
}

impl Submitted {
    /// Whether the submitter should be asked again at once (it changed
    /// something) rather than after a pause.
    pub fn acted(&self) -> bool {
        matches!(self, Self::Sent { .. } | Self::Rebroadcast { .. } | Self::Bumped { .. })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("RPC error: {0}")]
    Rpc(String),
    #[error("batch {batch_id} cannot be settled before batch {last_settled_next} (the contract settled up to {last_settled})", last_settled_next = last_settled + 1)]
    Gap { batch_id: u64, last_settled: u64 },
    #[error("the contract settled batch {batch_id} with commitment {on_chain}, not {ours}")]
    Conflict { batch_id: u64, on_chain: B256, ours: B256 },
    #[error("settleBatch would revert: {0}")]
    Rejected(String),
    #[error("cannot sign the settlement transaction: {0}")]
    Sign(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("recorded commitment of batch {0} does not parse: {1}")]
    BadCommitment(u64, serde_json::Error),
}

fn rpc(error: impl std::fmt::Display) -> SubmitError {
    SubmitError::Rpc(error.to_string())
}

/// When a waiting transaction is replaced, and by how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// Seconds a transaction may wait unmined before it is replaced.
    pub bump_after_secs: i64,
    /// Percent added to both fees on a replacement (nodes require ≥ 10).
    pub bump_percent: u128,
}

impl Default for FeePolicy {
    fn default() -> Self {
        Self { bump_after_secs: 60, bump_percent: 25 }
    }
}

/// Sends settlement transactions from one account that nothing else uses.
#[derive(Debug, Clone)]
pub struct Submitter {
    pub rpc: DynProvider,
    pub wallet: EthereumWallet,
    pub chain_id: u64,
    pub settlement: Address,
    pub fees: FeePolicy,
}

impl Submitter {
    /// A submitter sending from `key`'s account through `rpc_url`.
    pub fn connect(
        rpc_url: url::Url,
        key: alloy::signers::local::PrivateKeySigner,
        chain_id: u64,
        settlement: Address,
        fees: FeePolicy,
    ) -> Self {
        let rpc = alloy::providers::ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(rpc_url)
            .erased();
        Self::over(rpc, key, chain_id, settlement, fees)
    }

    /// A submitter sending from `key`'s account through `rpc` (which
    /// needs no signer or fillers of its own: transactions are signed and
    /// filled here).
    pub fn over(
        rpc: DynProvider,
        key: alloy::signers::local::PrivateKeySigner,
        chain_id: u64,
        settlement: Address,
        fees: FeePolicy,
    ) -> Self {
        Self { rpc, wallet: EthereumWallet::from(key), chain_id, settlement, fees }
    }

    pub fn from_address(&self) -> Address {
        NetworkWallet::<Ethereum>::default_signer_address(&self.wallet)
    }

    /// Takes batch `batch_id` one step towards settlement on chain.
    pub async fn advance(
        &self,
        store: &Store,
        chain: &str,
        batch_id: u64,
        pending: &PendingSubmission,
        now: i64,
    ) -> Result<Submitted, SubmitError> {
        let commitment: BatchCommitment = serde_json::from_str(&pending.commitment)
            .map_err(|e| SubmitError::BadCommitment(batch_id, e))?;
        let vault = Settlement::new(self.settlement, &self.rpc);
        let last = vault.lastBatchId().call().await.map_err(rpc)?;
        if last >= batch_id {
            if last == batch_id {
                let on_chain = vault.lastCommitmentHash().call().await.map_err(rpc)?;
                if on_chain != pending.commitment_hash {
                    return Err(SubmitError::Conflict {
                        batch_id,
                        on_chain,
                        ours: pending.commitment_hash,
                    });
                }
            }
            if let Some(sent) = &pending.sent
                && let Some(receipt) =
                    self.rpc.get_transaction_receipt(sent.hash).await.map_err(rpc)?
                && receipt.status()
            {
                return Ok(Submitted::Mined {
                    tx_hash: sent.hash,
                    block: receipt.block_number.unwrap_or_default(),
                });
            }
            return Ok(Submitted::AlreadySettled);
        }
        if last + 1 != batch_id {
            return Err(SubmitError::Gap { batch_id, last_settled: last });
        }
        let Some(sent) = &pending.sent else {
            let nonce = self.next_nonce().await?;
            return self.sign_and_send(store, chain, pending, &commitment, nonce, None, now).await;
        };
        if let Some(receipt) = self.rpc.get_transaction_receipt(sent.hash).await.map_err(rpc)? {
            if receipt.status() {
                // Mined since `lastBatchId` was read: a successful
                // `settleBatch` settled exactly this batch.
                return Ok(Submitted::Mined {
                    tx_hash: sent.hash,
                    block: receipt.block_number.unwrap_or_default(),
                });
            }
            // Reverted (say, out of gas) while the batch is still open; the
            // pre-flight call refuses what can never pass.
            tracing::warn!(tx = %sent.hash, "settlement transaction reverted; sending a new one");
            let nonce = self.next_nonce().await?;
            return self.sign_and_send(store, chain, pending, &commitment, nonce, None, now).await;
        }
        let next = self.next_nonce().await?;
        if sent.nonce != next {
            // Below: the nonce went to another transaction. Above: a gap no
            // transaction will fill. Either way ours can never be mined.
            tracing::warn!(
                recorded = sent.nonce,
                next,
                "settlement nonce cannot be mined; re-signing at the next nonce"
            );
            return self
                .sign_and_send(store, chain, pending, &commitment, next, Some(sent), now)
                .await;
        }
        if now - sent.sent_at >= self.fees.bump_after_secs {
            return self
                .sign_and_send(store, chain, pending, &commitment, sent.nonce, Some(sent), now)
                .await;
        }
        if self.rpc.get_transaction_by_hash(sent.hash).await.map_err(rpc)?.is_none() {
            // The node dropped it (restarted, evicted): the same bytes again.
            self.broadcast(&sent.raw).await?;
            return Ok(Submitted::Rebroadcast { tx_hash: sent.hash });
        }
        Ok(Submitted::Waiting { tx_hash: sent.hash })
    }

    /// The account's next nonce by mined transactions: a pending one of ours
    /// at that nonce is the one to replace, not to queue behind.
    async fn next_nonce(&self) -> Result<u64, SubmitError> {
        self.rpc.get_transaction_count(self.from_address()).latest().await.map_err(rpc)
    }

    /// Signs `settleBatch` at `nonce` (fees at least the network's, and
    /// above `replacing`'s by the bump), records it, then broadcasts it.
    #[allow(clippy::too_many_arguments)]
    async fn sign_and_send(
        &self,
        store: &Store,
        chain: &str,
        pending: &PendingSubmission,
        commitment: &BatchCommitment,
        nonce: u64,
        replacing: Option<&SettlementTx>,
        now: i64,
    ) -> Result<Submitted, SubmitError> {
        let vault = Settlement::new(self.settlement, &self.rpc);
        let call = vault
            .settleBatch(
                Settlement::BatchCommitment::from(commitment),
                pending.batch.deltas.iter().map(Settlement::Delta::from).collect(),
                pending.commitment_signature.to_vec().into(),
            )
            .from(self.from_address());
        // Pre-flight: what would revert is refused here, before any gas.
        let gas = call.estimate_gas().await.map_err(|error| {
            match error.as_decoded_interface_error::<SettlementErrors>() {
                Some(decoded) => SubmitError::Rejected(format!("{decoded:?}")),
                None => rpc(error),
            }
        })?;
        let estimate = self.rpc.estimate_eip1559_fees().await.map_err(rpc)?;
        let (mut max_fee, mut priority) =
            (estimate.max_fee_per_gas, estimate.max_priority_fee_per_gas);
        if let Some(old) = replacing.filter(|old| old.nonce == nonce) {
            let bump = |fee: u128| fee + fee * self.fees.bump_percent / 100 + 1;
            max_fee = max_fee.max(bump(old.max_fee_per_gas));
            priority = priority.max(bump(old.max_priority_fee_per_gas));
        }
        let request: TransactionRequest = call
            .into_transaction_request()
            .with_nonce(nonce)
            .with_chain_id(self.chain_id)
            .with_gas_limit(gas + gas / 5)
            .with_max_fee_per_gas(max_fee)
            .with_max_priority_fee_per_gas(priority.min(max_fee));
        let envelope = <TransactionRequest as NetworkTransactionBuilder<Ethereum>>::build(
            request,
            &self.wallet,
        )
        .await
        .map_err(|e| SubmitError::Sign(e.to_string()))?;
        let sent = SettlementTx {
            hash: *envelope.tx_hash(),
            raw: envelope.encoded_2718(),
            nonce,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: priority.min(max_fee),
            sent_at: now,
        };
        store.record_settlement_tx(chain, commitment.batchId, &sent).await?;
        self.broadcast(&sent.raw).await?;
        Ok(match replacing {
            Some(old) if old.nonce == nonce => {
                Submitted::Bumped { tx_hash: sent.hash, nonce, max_fee_per_gas: max_fee }
            }
            _ => Submitted::Sent { tx_hash: sent.hash, nonce },
        })
    }

    async fn broadcast(&self, raw: &[u8]) -> Result<(), SubmitError> {
        match self.rpc.send_raw_transaction(raw).await {
            Ok(_) => Ok(()),
            // Already in the pool (a re-broadcast racing the first): fine.
            Err(error) if error.to_string().contains("already known") => Ok(()),
            Err(error) => Err(rpc(error)),
        }
    }
}
