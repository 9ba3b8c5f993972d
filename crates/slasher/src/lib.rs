#![doc = include_str!("../README.md")]

mod receipt;

use std::sync::Arc;

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, U256, keccak256},
    providers::{DynProvider, Provider},
    sol_types::SolValue,
};
use cairn_bindings::Registry::{self, RegistryErrors};
use cairn_core::{eip712::Slash, evidence::EvidenceKind};
use cairn_signer::{Signer, SignerError};
use cairn_store::{SlashOrderRow, Store, StoreError, slash_stage as stage};
use cairn_threshold::{RequestSigner, SigningRequest};

pub use receipt::{EVIDENCE_RECEIPT_TYPE, evidence_receipt};

/// How much each kind of evidence costs the provider (stake token base
/// units), before it is capped at what the provider has at stake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub conflicting_answers: U256,
    pub quorum_mismatch: U256,
}

impl Schedule {
    pub fn amount(&self, kind: &EvidenceKind) -> U256 {
        match kind {
            EvidenceKind::ConflictingAnswers => self.conflicting_answers,
            EvidenceKind::QuorumMismatch { .. } => self.quorum_mismatch,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SlashError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("RPC error: {0}")]
    Rpc(String),
    #[error("cannot sign the evidence receipt: {0}")]
    Receipt(String),
    #[error("the order of {0} lost its {1}; the row is corrupt")]
    Incomplete(B256, &'static str),
}

fn rpc(error: impl std::fmt::Display) -> SlashError {
    SlashError::Rpc(error.to_string())
}

/// The slashing pipeline of one registry deployment. Every call to
/// [`Slasher::step`] takes each due order one stage further and records the
/// stage before the next begins, so a process killed anywhere resumes at the
/// recorded stage; the registry's nonce check and the deadline rule below
/// make a second execution of the same slash impossible:
///
/// an order's nonce is derived from (chain, registry, evidence, attempt),
/// and a new attempt (a new nonce) is only issued once the chain's own clock
/// has passed the previous order's deadline, after which that order can no
/// longer be executed by anyone who holds its signature.
#[derive(Debug)]
pub struct Slasher {
    pub store: Store,
    /// CAIP-2 id of the deployment (the indexer's chain key).
    pub chain: String,
    pub chain_id: u64,
    pub registry: Address,
    /// Reads the chain.
    pub rpc: DynProvider,
    /// Sends `Registry.slash` (any funded account: the order's signature
    /// is what authorises it).
    pub sender: DynProvider,
    /// Signs the evidence receipts (ANS-104 items).
    pub receipt_signer: Arc<dyn Signer>,
    /// Signs the orders: must be the registry's `slasher`.
    pub order_signer: Arc<dyn RequestSigner>,
    pub schedule: Schedule,
    /// How long an order stays valid (seconds).
    pub deadline_secs: u64,
    /// Pause before an order whose attempt failed is tried again.
    pub retry_secs: i64,
    /// At most one slash per provider within this many seconds; later
    /// evidence in the window is recorded as `covered`.
    pub provider_window_secs: i64,
}

/// What one order's attempt did.
enum Outcome {
    /// Moved to another stage (or was created).
    Moved,
    /// Waits on something outside (the outbox, the chain, the indexer).
    Waiting,
}

impl Slasher {
    /// Picks up new evidence, then takes every due order one stage further.
    /// Returns how many orders moved.
    pub async fn step(&self, now: i64) -> Result<usize, SlashError> {
        let mut moved = 0;
        for evidence in self.store.unpursued_evidence(&self.chain, 50).await? {
            self.pursue(&evidence, now).await?;
            moved += 1;
        }
        for order in self.store.due_slash_orders(&self.chain, now, 50).await? {
            match self.advance(&order, now).await {
                Ok(Outcome::Moved) => moved += 1,
                Ok(Outcome::Waiting) => {}
                Err(error) => {
                    tracing::warn!(evidence = %order.evidence_hash, stage = %order.stage, %error,
                        "slash order step failed; retrying later");
                    let mut next = order.clone();
                    next.last_error = Some(error.to_string());
                    next.next_attempt_at = now + self.retry_secs;
                    self.store.save_slash_order(&order.stage, &next).await?;
                }
            }
        }
        Ok(moved)
    }

    /// Creates the order for a new piece of evidence, at `pending` or at the
    /// end stage that says why nothing will be slashed.
    async fn pursue(
        &self,
        evidence: &cairn_store::EvidenceRow,
        now: i64,
    ) -> Result<(), SlashError> {
        let kind = &evidence.evidence.kind;
        let reason = kind.slash_reason();
        let providers = self.store.providers(&self.chain).await?;
        let provider =
            providers.iter().find(|p| p.operator.eq_ignore_ascii_case(&evidence.accused));
        let verified = evidence.evidence.verify();
        let (provider_text, amount, stage, error) = match provider {
            _ if verified.is_err() => {
                let why = verified.err().map(|e| e.to_string());
                (String::new(), U256::ZERO, stage::FAILED, why)
            }
            None => (String::new(), U256::ZERO, stage::NO_PROVIDER, None),
            Some(p) => {
                let slashable = p.stake + p.unbonding;
                let amount = self.schedule.amount(kind).min(slashable);
                let since = now - self.provider_window_secs;
                match self.store.recent_slash_order(&self.chain, &p.provider, since).await? {
                    Some(earlier) => (
                        p.provider.clone(),
                        amount,
                        stage::COVERED,
                        Some(format!(
                            "covered by the slash for evidence {}",
                            earlier.evidence_hash
                        )),
                    ),
                    None if amount.is_zero() => {
                        (p.provider.clone(), amount, stage::NOTHING_TO_SLASH, None)
                    }
                    None => (p.provider.clone(), amount, stage::PENDING, None),
                }
            }
        };
        let mut row =
            SlashOrderRow::new(&self.chain, evidence, provider_text, reason, amount, stage, now);
        row.last_error = error;
        if self.store.create_slash_order(&row).await? {
            tracing::info!(evidence = %evidence.hash, accused = %evidence.accused, %stage,
                "slash order created");
        }
        Ok(())
    }

    async fn advance(&self, order: &SlashOrderRow, now: i64) -> Result<Outcome, SlashError> {
        match order.stage.as_str() {
            stage::PENDING => self.write_receipt(order).await,
            stage::RECEIPT_WRITTEN => self.check_upload(order).await,
            stage::UPLOADED => self.issue_order(order, now).await,
            stage::ORDERED => self.sign(order, now).await,
            stage::SIGNED => self.send(order, now).await,
            stage::SUBMITTED => self.confirm(order, now).await,
            _ => Ok(Outcome::Waiting),
        }
    }

    /// `pending` → `receipt_written`: the evidence, signed as an ANS-104
    /// item, enters the outbox with the stage change.
    async fn write_receipt(&self, order: &SlashOrderRow) -> Result<Outcome, SlashError> {
        let evidence = self
            .store
            .evidence(&order.evidence_hash)
            .await?
            .ok_or(SlashError::Incomplete(order.evidence_hash, "evidence"))?;
        let item = evidence_receipt(
            &evidence.evidence,
            &self.chain,
            self.registry,
            &order.provider,
            &*self.receipt_signer,
        )
        .await
        .map_err(|e| SlashError::Receipt(e.to_string()))?;
        self.store.record_slash_receipt(order, &item.id_base64url(), &item.encode()).await?;
        cairn_settlement::failpoint("slash_after_receipt").await;
        Ok(Outcome::Moved)
    }

    /// `receipt_written` → `uploaded` once the outbox read the receipt back
    /// from Arweave: the slash names the receipt, so it must be readable.
    async fn check_upload(&self, order: &SlashOrderRow) -> Result<Outcome, SlashError> {
        let receipt_id = order
            .receipt_id
            .as_deref()
            .ok_or(SlashError::Incomplete(order.evidence_hash, "receipt"))?;
        let confirmed = self
            .store
            .outbox_entry(receipt_id)
            .await?
            .is_some_and(|entry| entry.state == "confirmed");
        if !confirmed {
            return Ok(Outcome::Waiting);
        }
        let mut next = order.clone();
        next.stage = stage::UPLOADED.to_owned();
        next.last_error = None;
        self.store.save_slash_order(stage::RECEIPT_WRITTEN, &next).await?;
        cairn_settlement::failpoint("slash_after_upload").await;
        Ok(Outcome::Moved)
    }

    /// `uploaded` → `ordered`: the nonce and deadline are fixed (and
    /// recorded) before anyone signs, so a retry asks for the same digest.
    async fn issue_order(&self, order: &SlashOrderRow, now: i64) -> Result<Outcome, SlashError> {
        let mut next = order.clone();
        next.nonce =
            Some(order_nonce(self.chain_id, self.registry, &order.evidence_hash, order.attempt));
        next.deadline = Some(u64::try_from(now).unwrap_or(0) + self.deadline_secs);
        next.signature = None;
        next.tx_hash = None;
        next.last_error = None;
        next.stage = stage::ORDERED.to_owned();
        self.store.save_slash_order(stage::UPLOADED, &next).await?;
        cairn_settlement::failpoint("slash_after_order").await;
        Ok(Outcome::Moved)
    }

    /// `ordered` → `signed` (or `refused`). An order whose deadline has
    /// passed on chain is replaced by the next attempt instead.
    async fn sign(&self, order: &SlashOrderRow, now: i64) -> Result<Outcome, SlashError> {
        let slash = self.slash_of(order)?;
        if self.expired(&slash).await? {
            return self.next_attempt(order, stage::ORDERED, "the order expired unsigned").await;
        }
        if slash.deadline <= u64::try_from(now).unwrap_or(0) {
            // Past our clock but not yet the chain's: wait for the chain.
            return Ok(Outcome::Waiting);
        }
        let evidence = self
            .store
            .evidence(&order.evidence_hash)
            .await?
            .ok_or(SlashError::Incomplete(order.evidence_hash, "evidence"))?;
        let operator = order
            .operator
            .parse::<Address>()
            .map_err(|_| SlashError::Incomplete(order.evidence_hash, "operator"))?;
        let request = SigningRequest::Slash {
            chain_id: self.chain_id,
            registry: self.registry,
            order: slash,
            operator,
            evidence: evidence.evidence,
        };
        let mut next = order.clone();
        match self.order_signer.sign_request(&request).await {
            Ok(signature) => {
                next.signature = Some(signature.to_bytes());
                next.stage = stage::SIGNED.to_owned();
                next.last_error = None;
            }
            Err(SignerError::Refused(reason)) => {
                tracing::warn!(evidence = %order.evidence_hash, %reason, "the signer refused the slash");
                next.stage = stage::REFUSED.to_owned();
                next.last_error = Some(reason);
            }
            Err(error) => {
                // Unavailable (too few parties) or a session that aborted:
                // the same order is asked for again later.
                next.last_error = Some(error.to_string());
                next.next_attempt_at = now + self.retry_secs;
                self.store.save_slash_order(stage::ORDERED, &next).await?;
                return Ok(Outcome::Waiting);
            }
        }
        self.store.save_slash_order(stage::ORDERED, &next).await?;
        cairn_settlement::failpoint("slash_after_sign").await;
        Ok(Outcome::Moved)
    }

    /// `signed` → `submitted`: sends `Registry.slash`, unless the chain
    /// already used the nonce (an earlier send before a crash).
    async fn send(&self, order: &SlashOrderRow, now: i64) -> Result<Outcome, SlashError> {
        let slash = self.slash_of(order)?;
        let registry = Registry::new(self.registry, &self.rpc);
        if registry.slashNonceUsed(slash.nonce).call().await.map_err(rpc)? {
            return self.submitted(order, order.tx_hash).await;
        }
        if self.expired(&slash).await? {
            return self.next_attempt(order, stage::SIGNED, "the order expired unsent").await;
        }
        let signature =
            order.signature.ok_or(SlashError::Incomplete(order.evidence_hash, "signature"))?;
        let writer = Registry::new(self.registry, &self.sender);
        let call = writer.slash(Registry::Slash::from(&slash), signature.to_vec().into());
        match call.send().await {
            Ok(pending) => {
                let tx_hash = *pending.tx_hash();
                tracing::info!(evidence = %order.evidence_hash, tx = %tx_hash, "slash sent");
                cairn_settlement::failpoint("slash_before_tx_recorded").await;
                self.submitted(order, Some(tx_hash)).await
            }
            Err(error) => match error.as_decoded_interface_error::<RegistryErrors>() {
                Some(RegistryErrors::NonceUsed(_)) => self.submitted(order, order.tx_hash).await,
                Some(RegistryErrors::SlashExpired(_)) => {
                    self.next_attempt(order, stage::SIGNED, "the chain says the order expired")
                        .await
                }
                Some(decoded) => {
                    let mut next = order.clone();
                    next.stage = stage::FAILED.to_owned();
                    next.last_error =
                        Some(format!("Registry.slash refuses the order: {decoded:?}"));
                    self.store.save_slash_order(stage::SIGNED, &next).await?;
                    Ok(Outcome::Moved)
                }
                None => {
                    let mut next = order.clone();
                    next.last_error = Some(error.to_string());
                    next.next_attempt_at = now + self.retry_secs;
                    self.store.save_slash_order(stage::SIGNED, &next).await?;
                    Ok(Outcome::Waiting)
                }
            },
        }
    }

    async fn submitted(
        &self,
        order: &SlashOrderRow,
        tx_hash: Option<B256>,
    ) -> Result<Outcome, SlashError> {
        let mut next = order.clone();
        next.stage = stage::SUBMITTED.to_owned();
        next.tx_hash = tx_hash;
        next.last_error = None;
        self.store.save_slash_order(stage::SIGNED, &next).await?;
        cairn_settlement::failpoint("slash_after_submitted").await;
        Ok(Outcome::Moved)
    }

    /// `submitted` → `slashed` once the indexer recorded the order's
    /// `Slashed` event. A transaction the chain lost is sent again.
    async fn confirm(&self, order: &SlashOrderRow, now: i64) -> Result<Outcome, SlashError> {
        let slash = self.slash_of(order)?;
        if self.store.slash_indexed(&self.chain, &slash.nonce).await? {
            let mut next = order.clone();
            next.stage = stage::SLASHED.to_owned();
            next.last_error = None;
            self.store.save_slash_order(stage::SUBMITTED, &next).await?;
            tracing::info!(evidence = %order.evidence_hash, provider = %order.provider,
                amount = %order.amount, "slashed");
            return Ok(Outcome::Moved);
        }
        let registry = Registry::new(self.registry, &self.rpc);
        if registry.slashNonceUsed(slash.nonce).call().await.map_err(rpc)? {
            // Applied on chain; the indexer has not caught up yet.
            return Ok(Outcome::Waiting);
        }
        let lost = match order.tx_hash {
            Some(hash) => match self.rpc.get_transaction_receipt(hash).await.map_err(rpc)? {
                Some(receipt) => !receipt.status(),
                None => self.rpc.get_transaction_by_hash(hash).await.map_err(rpc)?.is_none(),
            },
            None => true,
        };
        if lost {
            let mut next = order.clone();
            next.stage = stage::SIGNED.to_owned();
            next.last_error = Some("the slash transaction was not mined; sending it again".into());
            next.next_attempt_at = now;
            self.store.save_slash_order(stage::SUBMITTED, &next).await?;
            return Ok(Outcome::Moved);
        }
        Ok(Outcome::Waiting)
    }

    /// Back to `uploaded` for a new order with the next nonce. Only called
    /// once the chain's clock is past the current order's deadline.
    async fn next_attempt(
        &self,
        order: &SlashOrderRow,
        from: &str,
        why: &str,
    ) -> Result<Outcome, SlashError> {
        let mut next = order.clone();
        next.attempt += 1;
        next.stage = stage::UPLOADED.to_owned();
        next.nonce = None;
        next.deadline = None;
        next.signature = None;
        next.tx_hash = None;
        next.last_error = Some(format!("{why}; issuing attempt {}", next.attempt));
        self.store.save_slash_order(from, &next).await?;
        Ok(Outcome::Moved)
    }

    /// Whether the chain's latest block is past the order's deadline (the
    /// contract refuses it from then on).
    async fn expired(&self, slash: &Slash) -> Result<bool, SlashError> {
        let block = self
            .rpc
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(rpc)?
            .ok_or_else(|| SlashError::Rpc("the node has no latest block".into()))?;
        Ok(block.header.timestamp > slash.deadline)
    }

    fn slash_of(&self, order: &SlashOrderRow) -> Result<Slash, SlashError> {
        let incomplete = |what| SlashError::Incomplete(order.evidence_hash, what);
        let receipt_id = order.receipt_id.as_deref().ok_or(incomplete("receipt"))?;
        Ok(Slash {
            provider: order.provider.parse().map_err(|_| incomplete("provider"))?,
            amount: order.amount,
            reason: order.reason,
            evidenceHash: order.evidence_hash,
            receiptId: receipt::receipt_id_bytes(receipt_id).ok_or(incomplete("receipt"))?,
            nonce: order.nonce.ok_or(incomplete("nonce"))?,
            deadline: order.deadline.ok_or(incomplete("deadline"))?,
        })
    }
}

/// The nonce of attempt `attempt` at slashing for `evidence_hash`: derived,
/// not counted, so it never depends on what else the registry has seen and
/// a restart rebuilds the same one.
pub fn order_nonce(chain_id: u64, registry: Address, evidence_hash: &B256, attempt: u64) -> U256 {
    let encoded = (
        "cairn-slash-v1".to_owned(),
        U256::from(chain_id),
        registry,
        *evidence_hash,
        U256::from(attempt),
    )
        .abi_encode();
    U256::from_be_bytes(keccak256(encoded).0)
}

/// Runs `slasher` until `stop` resolves, holding the chain's slasher role
/// (one process at a time steps the pipeline), resting `tick` when nothing
/// moved. `uploader` drains the outbox when no batcher in this process
/// does; the receipts wait in the outbox for whichever drains it.
pub async fn run(
    slasher: Slasher,
    uploader: Option<cairn_settlement::Uploader>,
    tick: std::time::Duration,
    stop: impl std::future::Future<Output = ()>,
) {
    let role = format!("slasher:{}", slasher.chain);
    let work = async {
        loop {
            let mut leadership = match slasher.store.try_lead(&role).await {
                Ok(Some(leadership)) => leadership,
                Ok(None) => {
                    tokio::time::sleep(tick).await;
                    continue;
                }
                Err(error) => {
                    tracing::warn!(%error, "cannot take the slasher role");
                    tokio::time::sleep(tick).await;
                    continue;
                }
            };
            while leadership.still_held().await {
                let now = unix_now();
                let mut moved = 0;
                if let Some(uploader) = &uploader {
                    match uploader.drain_once(now).await {
                        Ok(report) => moved += report.posted + report.confirmed,
                        Err(error) => tracing::warn!(%error, "evidence receipt upload pass failed"),
                    }
                }
                match slasher.step(now).await {
                    Ok(n) => moved += n,
                    Err(error) => tracing::warn!(%error, "slasher step failed; retrying"),
                }
                if moved == 0 {
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

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
