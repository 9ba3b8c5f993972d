//! The settlement ledger: reservations against deposits, single-use nonces,
//! and netting of accepted intents into one batch of balance deltas.
//!
//! An intent is accepted only if its amount fits the payer's available
//! balance (deposit − reserved), and the amount is reserved at once, so no
//! batch built from accepted intents can overdraw anyone. Accounts are
//! interned to dense indices on first sight, which keeps acceptance and
//! netting to array arithmetic on the hot path.

use alloy_primitives::{
    Address, B256, I256, U256,
    map::{HashMap, HashSet},
};
use alloy_sol_types::SolValue;
use serde::{Deserialize, Serialize};

use crate::{
    eip712::{BatchCommitment, Delta, PaymentIntent},
    merkle,
};

/// Most deltas one batch carries by default. `settleBatch` costs about
/// 9,700 gas per delta whose account already holds a balance and 14,800 per
/// first balance (docs/benchmarks.md): 1,000 deltas stay under 15 M gas,
/// half of a 30 M block, whatever the accounts.
pub const DEFAULT_MAX_DELTAS: usize = 1_000;

/// When a batch closes: at `max_intents`, when another intent might not fit
/// in `max_deltas` (one delta per account and asset it touches, so the
/// batch always fits one transaction), or once `window_seconds` have passed
/// with at least `min_intents` waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchPolicy {
    pub min_intents: usize,
    pub max_intents: usize,
    pub window_seconds: u64,
    pub max_deltas: usize,
}

impl BatchPolicy {
    /// `accounts`: distinct (account, asset) pairs the pending intents touch,
    /// the most deltas they can net to.
    pub fn should_close(
        &self,
        pending: usize,
        accounts: usize,
        window_start: u64,
        now: u64,
    ) -> bool {
        pending >= self.max_intents
            || (pending > 0 && !self.fits(accounts, 2))
            || (pending >= self.min_intents.max(1)
                && now.saturating_sub(window_start) >= self.window_seconds)
    }

    /// Whether `more` new (account, asset) pairs fit beside `accounts`.
    pub fn fits(&self, accounts: usize, more: usize) -> bool {
        accounts.saturating_add(more) <= self.max_deltas
    }
}

/// Seconds a spent nonce is remembered past its intent's expiry, so a clock
/// that steps back a little cannot make an expired intent acceptable again.
pub const NONCE_GRACE_SECONDS: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("payer and payee are the same account")]
    PayerIsPayee,
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("amount does not fit in 128 bits")]
    AmountTooLarge,
    #[error("intent expired at {valid_until}, now {now}")]
    Expired { valid_until: u64, now: u64 },
    #[error("asset {0} is not settled here")]
    AssetNotAllowed(Address),
    #[error("nonce {nonce} of payer {payer} was already used")]
    NonceUsed { payer: Address, nonce: U256 },
    #[error("amount {amount} exceeds the payer's available balance {available}")]
    InsufficientBalance { available: u128, amount: u128 },
    #[error("the open batch is full; close it before accepting more")]
    BatchFull,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("asset {0} is not settled here")]
    AssetNotAllowed(Address),
    #[error("deposits of asset {0} would exceed 2^127 - 1 in total")]
    DepositCap(Address),
    #[error("withdrawal of {amount} exceeds the available balance {available}")]
    InsufficientBalance { available: u128, amount: u128 },
    #[error("batch {got} is not the batch awaiting settlement ({expected:?})")]
    UnexpectedBatch { expected: Option<u64>, got: u64 },
    #[error("the open batch has no intents")]
    EmptyBatch,
}

/// Why intents cannot be assembled into a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssembleError {
    #[error("a batch needs at least one intent")]
    NoIntents,
    #[error("netting asset {asset} overflows 2^127 at intent {digest}")]
    AmountOverflow { asset: Address, digest: B256 },
}

/// Where an accepted intent will settle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub batch_id: u64,
    /// Position in arrival order within the batch (not its leaf index,
    /// which depends on the sorted order at close).
    pub position: usize,
}

/// Balance of one (account, asset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    pub deposit: u128,
    pub reserved: u128,
}

impl Balance {
    pub fn available(&self) -> u128 {
        self.deposit - self.reserved
    }
}

#[derive(Debug, Clone, Copy)]
struct PendingIntent {
    digest: B256,
    payer: u32,
    payee: u32,
    asset: u32,
    amount: u128,
}

/// An intent as it stands in a closed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchIntent {
    pub digest: B256,
    pub payer: Address,
    pub payee: Address,
    pub asset: Address,
    pub amount: u128,
}

/// Everything a batch commits to except the receipt id, which is derived
/// from a receipt that itself contains this body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchBody {
    pub batch_id: u64,
    pub prev_hash: B256,
    pub window_start: u64,
    pub window_end: u64,
    pub intents_root: B256,
    pub deltas_root: B256,
    pub intent_count: u32,
    pub delta_count: u32,
}

impl BatchBody {
    pub fn commit(&self, receipt_id: B256) -> BatchCommitment {
        BatchCommitment {
            batchId: self.batch_id,
            prevHash: self.prev_hash,
            windowStart: self.window_start,
            windowEnd: self.window_end,
            intentsRoot: self.intents_root,
            deltasRoot: self.deltas_root,
            intentCount: self.intent_count,
            deltaCount: self.delta_count,
            receiptId: receipt_id,
        }
    }
}

/// A closed batch: intents sorted by digest, deltas sorted by (asset,
/// account), so the roots depend only on which intents are in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedBatch {
    pub body: BatchBody,
    pub intents: Vec<BatchIntent>,
    pub deltas: Vec<Delta>,
}

impl ClosedBatch {
    /// Merkle leaf of an intent: its EIP-712 digest.
    pub fn intent_leaf(digest: &B256) -> B256 {
        merkle::leaf_hash(digest.as_slice())
    }

    /// Merkle leaf of a delta: `abi.encode(Delta)`, as the contract rebuilds it.
    pub fn delta_leaf(delta: &Delta) -> B256 {
        merkle::leaf_hash(&delta.abi_encode())
    }

    pub fn intents_tree(&self) -> merkle::MerkleTree {
        merkle::MerkleTree::new(self.intents.iter().map(|i| Self::intent_leaf(&i.digest)).collect())
    }

    /// Closes a batch from its intents alone, without a [`Ledger`]: what a
    /// batcher working from the store does. Same result as
    /// [`Ledger::close_batch`] for the same intents, in any order: intents
    /// sorted by digest, deltas netted per (asset, account), zero deltas
    /// dropped, both roots built. Refused when there are no intents, or when
    /// a net amount would leave `i128` (and so `int256` of a `u128` ledger).
    pub fn assemble(
        batch_id: u64,
        prev_hash: B256,
        window_start: u64,
        window_end: u64,
        mut intents: Vec<BatchIntent>,
    ) -> Result<Self, AssembleError> {
        if intents.is_empty() {
            return Err(AssembleError::NoIntents);
        }
        intents.sort_unstable_by_key(|i| i.digest);
        let mut net: std::collections::BTreeMap<(Address, Address), i128> =
            std::collections::BTreeMap::new();
        for intent in &intents {
            // The ledger caps Σ deposits per asset at 2^127 - 1, so there every
            // sum fits; intents read from a store carry no such promise, so
            // here each step is checked.
            let overflow =
                || AssembleError::AmountOverflow { asset: intent.asset, digest: intent.digest };
            let amount = i128::try_from(intent.amount).map_err(|_| overflow())?;
            let payer = net.entry((intent.asset, intent.payer)).or_default();
            *payer = payer.checked_sub(amount).ok_or_else(overflow)?;
            let payee = net.entry((intent.asset, intent.payee)).or_default();
            *payee = payee.checked_add(amount).ok_or_else(overflow)?;
        }
        let deltas: Vec<Delta> = net
            .into_iter()
            .filter(|(_, amount)| *amount != 0)
            .map(|((asset, account), amount)| Delta {
                account,
                asset,
                amount: I256::try_from(amount).expect("i128 fits in int256"),
            })
            .collect();
        Ok(Self::seal(batch_id, prev_hash, window_start, window_end, intents, deltas))
    }

    /// Builds both roots over intents sorted by digest and deltas sorted by
    /// (asset, account).
    fn seal(
        batch_id: u64,
        prev_hash: B256,
        window_start: u64,
        window_end: u64,
        intents: Vec<BatchIntent>,
        deltas: Vec<Delta>,
    ) -> Self {
        let intent_leaves: Vec<B256> =
            intents.iter().map(|i| Self::intent_leaf(&i.digest)).collect();
        let delta_leaves: Vec<B256> = deltas.iter().map(Self::delta_leaf).collect();
        let body = BatchBody {
            batch_id,
            prev_hash,
            window_start,
            window_end: window_end.max(window_start),
            intents_root: merkle::root(&intent_leaves),
            deltas_root: merkle::root(&delta_leaves),
            intent_count: u32::try_from(intents.len())
                .expect("batches hold far fewer than 2^32 intents"),
            delta_count: u32::try_from(deltas.len()).expect("deltas are at most twice the intents"),
        };
        Self { body, intents, deltas }
    }
}

/// The ledger of one settlement contract.
#[derive(Debug, Clone)]
pub struct Ledger {
    policy: BatchPolicy,
    assets: Vec<Address>,
    account_index: HashMap<Address, u32>,
    accounts: Vec<Address>,
    /// `accounts.len() × assets.len()`, row per account.
    balances: Vec<Balance>,
    /// Σ deposits per asset, kept ≤ i128::MAX so no delta can overflow.
    asset_deposits: Vec<u128>,
    /// (payer, nonce) → the intent's `validUntil`, for pruning.
    used_nonces: HashMap<(u32, U256), u64>,
    pending: Vec<PendingIntent>,
    /// (account, asset) pairs the pending intents touch: the most deltas
    /// the open batch can net to.
    pending_pairs: HashSet<(u32, u32)>,
    open_batch: u64,
    window_start: u64,
    /// The batch closed and not yet settled: its reservations are released
    /// only when the chain confirms it.
    unsettled: Option<ClosedBatch>,
    net: Vec<i128>,
    /// Which netting run last wrote each `net` slot, so slots are cleared
    /// lazily rather than all at every run.
    net_stamp: Vec<u64>,
    net_runs: u64,
}

impl Ledger {
    /// A ledger whose next batch is `next_batch_id`, opening its window at `now`.
    pub fn new(policy: BatchPolicy, assets: Vec<Address>, next_batch_id: u64, now: u64) -> Self {
        let mut unique: HashSet<Address> = HashSet::default();
        let assets: Vec<Address> = assets.into_iter().filter(|a| unique.insert(*a)).collect();
        let asset_count = assets.len();
        Self {
            policy,
            assets,
            account_index: HashMap::default(),
            accounts: Vec::new(),
            balances: Vec::new(),
            asset_deposits: vec![0; asset_count],
            used_nonces: HashMap::default(),
            pending: Vec::new(),
            pending_pairs: HashSet::default(),
            open_batch: next_batch_id,
            window_start: now,
            unsettled: None,
            net: Vec::new(),
            net_stamp: Vec::new(),
            net_runs: 0,
        }
    }

    pub fn policy(&self) -> &BatchPolicy {
        &self.policy
    }

    pub fn open_batch_id(&self) -> u64 {
        self.open_batch
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    pub fn window_start(&self) -> u64 {
        self.window_start
    }

    pub fn should_close(&self, now: u64) -> bool {
        self.policy.should_close(
            self.pending.len(),
            self.pending_accounts(),
            self.window_start,
            now,
        )
    }

    pub fn unsettled(&self) -> Option<&ClosedBatch> {
        self.unsettled.as_ref()
    }

    pub fn balance(&self, account: &Address, asset: &Address) -> Balance {
        match (self.account_index.get(account), self.asset_slot(asset)) {
            (Some(&a), Some(s)) => self.balances[self.slot(a, s)],
            _ => Balance::default(),
        }
    }

    pub fn is_nonce_used(&self, payer: &Address, nonce: &U256) -> bool {
        self.account_index.get(payer).is_some_and(|&p| self.used_nonces.contains_key(&(p, *nonce)))
    }

    /// Credits a deposit seen on-chain.
    pub fn deposit(
        &mut self,
        account: Address,
        asset: Address,
        amount: u128,
    ) -> Result<(), LedgerError> {
        let s = self.asset_slot(&asset).ok_or(LedgerError::AssetNotAllowed(asset))?;
        let total = self.asset_deposits[s]
            .checked_add(amount)
            .filter(|t| *t <= i128::MAX as u128)
            .ok_or(LedgerError::DepositCap(asset))?;
        let a = self.intern(account);
        let slot = self.slot(a, s);
        self.balances[slot].deposit += amount;
        self.asset_deposits[s] = total;
        Ok(())
    }

    /// Debits a withdrawal; only what is not reserved can leave.
    pub fn withdraw(
        &mut self,
        account: &Address,
        asset: &Address,
        amount: u128,
    ) -> Result<(), LedgerError> {
        let s = self.asset_slot(asset).ok_or(LedgerError::AssetNotAllowed(*asset))?;
        let available = self.balance(account, asset).available();
        if amount > available {
            return Err(LedgerError::InsufficientBalance { available, amount });
        }
        if amount == 0 {
            return Ok(());
        }
        let slot = self.slot(self.account_index[account], s);
        self.balances[slot].deposit -= amount;
        self.asset_deposits[s] -= amount;
        Ok(())
    }

    /// Accepts an intent whose signature the caller has verified and whose
    /// EIP-712 digest is `digest`, reserving its amount.
    pub fn accept(
        &mut self,
        intent: &PaymentIntent,
        digest: B256,
        now: u64,
    ) -> Result<Accepted, IntentError> {
        if intent.payer == intent.payee {
            return Err(IntentError::PayerIsPayee);
        }
        let amount = intent.amount_u128().ok_or(IntentError::AmountTooLarge)?;
        if amount == 0 {
            return Err(IntentError::ZeroAmount);
        }
        if intent.validUntil < now {
            return Err(IntentError::Expired { valid_until: intent.validUntil, now });
        }
        let s = self.asset_slot(&intent.asset).ok_or(IntentError::AssetNotAllowed(intent.asset))?;
        if self.pending.len() >= self.policy.max_intents {
            return Err(IntentError::BatchFull);
        }
        let new_pairs = [intent.payer, intent.payee]
            .iter()
            .filter(|account| !self.pending_touches(**account, s as u32))
            .count();
        if !self.policy.fits(self.pending_accounts(), new_pairs) {
            return Err(IntentError::BatchFull);
        }
        let Some(&payer) = self.account_index.get(&intent.payer) else {
            return Err(IntentError::InsufficientBalance { available: 0, amount });
        };
        if self.used_nonces.contains_key(&(payer, intent.nonce)) {
            return Err(IntentError::NonceUsed { payer: intent.payer, nonce: intent.nonce });
        }
        let payer_slot = self.slot(payer, s);
        let available = self.balances[payer_slot].available();
        if amount > available {
            return Err(IntentError::InsufficientBalance { available, amount });
        }
        let payee = self.intern(intent.payee);
        self.balances[payer_slot].reserved += amount;
        self.used_nonces.insert((payer, intent.nonce), intent.validUntil);
        self.pending.push(PendingIntent { digest, payer, payee, asset: s as u32, amount });
        self.pending_pairs.insert((payer, s as u32));
        self.pending_pairs.insert((payee, s as u32));
        Ok(Accepted { batch_id: self.open_batch, position: self.pending.len() - 1 })
    }

    /// Distinct (account, asset) pairs the pending intents touch.
    fn pending_accounts(&self) -> usize {
        self.pending_pairs.len()
    }

    fn pending_touches(&self, account: Address, asset: u32) -> bool {
        self.account_index.get(&account).is_some_and(|i| self.pending_pairs.contains(&(*i, asset)))
    }

    /// The deltas the open batch would settle if it closed now.
    pub fn pending_deltas(&mut self) -> Vec<Delta> {
        let pending = std::mem::take(&mut self.pending);
        let deltas = self.net_deltas(&pending);
        self.pending = pending;
        deltas
    }

    /// Closes the open batch: nets its intents into deltas, builds both
    /// roots and opens the next batch. Reservations stay until
    /// [`Ledger::settle`] confirms the batch on-chain, and only one batch
    /// can await settlement at a time, so batch ids stay contiguous.
    pub fn close_batch(&mut self, prev_hash: B256, now: u64) -> Result<&ClosedBatch, LedgerError> {
        if let Some(waiting) = &self.unsettled {
            return Err(LedgerError::UnexpectedBatch {
                expected: Some(waiting.body.batch_id),
                got: self.open_batch,
            });
        }
        if self.pending.is_empty() {
            return Err(LedgerError::EmptyBatch);
        }
        let mut pending = std::mem::take(&mut self.pending);
        self.pending_pairs.clear();
        let deltas = self.net_deltas(&pending);
        pending.sort_unstable_by_key(|i| i.digest);
        let intents = pending
            .iter()
            .map(|i| BatchIntent {
                digest: i.digest,
                payer: self.accounts[i.payer as usize],
                payee: self.accounts[i.payee as usize],
                asset: self.assets[i.asset as usize],
                amount: i.amount,
            })
            .collect();
        let closed =
            ClosedBatch::seal(self.open_batch, prev_hash, self.window_start, now, intents, deltas);
        self.open_batch += 1;
        self.window_start = closed.body.window_end;
        self.prune_nonces(now);
        Ok(self.unsettled.insert(closed))
    }

    /// Applies the batch the chain has confirmed: each payer's reservation
    /// becomes a debit, each payee is credited.
    pub fn settle(&mut self, batch_id: u64) -> Result<ClosedBatch, LedgerError> {
        let expected = self.unsettled.as_ref().map(|b| b.body.batch_id);
        if expected != Some(batch_id) {
            return Err(LedgerError::UnexpectedBatch { expected, got: batch_id });
        }
        let batch = self.unsettled.take().expect("checked");
        for intent in &batch.intents {
            let s = self.asset_slot(&intent.asset).expect("accepted assets are allowed");
            let payer = self.slot(self.account_index[&intent.payer], s);
            let payee = self.slot(self.account_index[&intent.payee], s);
            self.balances[payer].reserved -= intent.amount;
            self.balances[payer].deposit -= intent.amount;
            self.balances[payee].deposit += intent.amount;
        }
        Ok(batch)
    }

    /// Net change per (account, asset), sorted by (asset, account), zero
    /// entries dropped. Σ per asset is zero by construction: each intent
    /// adds its amount once and subtracts it once.
    fn net_deltas(&mut self, pending: &[PendingIntent]) -> Vec<Delta> {
        let slots = self.balances.len();
        self.net.resize(slots, 0);
        self.net_stamp.resize(slots, 0);
        self.net_runs += 1;
        let stamp = self.net_runs;
        let mut touched = Vec::new();
        let asset_count = self.assets.len();
        for intent in pending {
            let amount = intent.amount as i128;
            for (account, signed) in [(intent.payer, -amount), (intent.payee, amount)] {
                let slot = account as usize * asset_count + intent.asset as usize;
                if self.net_stamp[slot] != stamp {
                    self.net_stamp[slot] = stamp;
                    self.net[slot] = 0;
                    touched.push(slot);
                }
                self.net[slot] += signed;
            }
        }
        let mut deltas: Vec<(Address, Address, i128)> = touched
            .into_iter()
            .filter(|&slot| self.net[slot] != 0)
            .map(|slot| {
                (self.assets[slot % asset_count], self.accounts[slot / asset_count], self.net[slot])
            })
            .collect();
        deltas.sort_unstable_by_key(|d| (d.0, d.1));
        deltas
            .into_iter()
            .map(|(asset, account, amount)| Delta {
                account,
                asset,
                amount: I256::try_from(amount).expect("i128 fits in int256"),
            })
            .collect()
    }

    fn prune_nonces(&mut self, now: u64) {
        self.used_nonces
            .retain(|_, valid_until| valid_until.saturating_add(NONCE_GRACE_SECONDS) >= now);
    }

    fn asset_slot(&self, asset: &Address) -> Option<usize> {
        self.assets.iter().position(|a| a == asset)
    }

    fn slot(&self, account: u32, asset_slot: usize) -> usize {
        account as usize * self.assets.len() + asset_slot
    }

    fn intern(&mut self, account: Address) -> u32 {
        if let Some(&index) = self.account_index.get(&account) {
            return index;
        }
        let index = u32::try_from(self.accounts.len()).expect("fewer than 2^32 accounts");
        self.accounts.push(account);
        self.account_index.insert(account, index);
        self.balances.extend(std::iter::repeat_n(Balance::default(), self.assets.len()));
        index
    }
}
