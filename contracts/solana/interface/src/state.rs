//! Account layouts. Byte 0 of every account is its kind, so one kind is never
//! read as another (type cosplay), and a zeroed account reads as
//! uninitialised.

use solana_program::{program_error::ProgramError, pubkey::Pubkey};

use crate::CairnError;

pub const KIND_CONFIG: u8 = 1;
pub const KIND_PROVIDER: u8 = 2;
pub const KIND_ENDPOINT: u8 = 3;
pub const KIND_NONCE: u8 = 4;
pub const KIND_SETTLEMENT: u8 = 5;
pub const KIND_BALANCE: u8 = 6;
pub const KIND_STAGED_BATCH: u8 = 7;

pub const MAX_CHAIN_LEN: usize = 41;
pub const MAX_KIND_LEN: usize = 32;
pub const MAX_URL_LEN: usize = 256;

/// Registry parameters and totals, at the `config` PDA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub bump: u8,
    pub vault_bump: u8,
    pub authority: Pubkey,
    pub stake_mint: Pubkey,
    /// The token account slashed stake goes to.
    pub treasury: Pubkey,
    /// The slasher's Ethereum address: the threshold key that signs `Slash`.
    pub slasher: [u8; 20],
    pub min_stake: u64,
    /// Seconds between `unbond` and the earliest `withdraw`.
    pub unbonding_delay: u64,
    pub total_staked: u64,
    pub slashed_total: u64,
}

impl Config {
    /// kind, bump, vault_bump, 3 keys, slasher, 4 u64.
    pub const LEN: usize = 3 + 32 * 3 + 20 + 8 * 4;

    pub fn pack(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u8(KIND_CONFIG);
        w.u8(self.bump);
        w.u8(self.vault_bump);
        w.bytes(self.authority.as_ref());
        w.bytes(self.stake_mint.as_ref());
        w.bytes(self.treasury.as_ref());
        w.bytes(&self.slasher);
        w.u64(self.min_stake);
        w.u64(self.unbonding_delay);
        w.u64(self.total_staked);
        w.u64(self.slashed_total);
    }

    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::kind(data, KIND_CONFIG, Self::LEN)?;
        Ok(Self {
            bump: r.u8()?,
            vault_bump: r.u8()?,
            authority: r.pubkey()?,
            stake_mint: r.pubkey()?,
            treasury: r.pubkey()?,
            slasher: r.array()?,
            min_stake: r.u64()?,
            unbonding_delay: r.u64()?,
            total_staked: r.u64()?,
            slashed_total: r.u64()?,
        })
    }
}

/// One provider's stake, at `["provider", provider]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    pub bump: u8,
    pub provider: Pubkey,
    /// Hot key that manages endpoints; stake stays with `provider`.
    pub operator: Pubkey,
    pub stake: u64,
    pub unbonding: u64,
    /// Unix seconds from which `withdraw` succeeds.
    pub release_at: u64,
    pub endpoint_count: u32,
}

impl Provider {
    pub const LEN: usize = 2 + 32 * 2 + 8 * 3 + 4;

    /// What a slash can still reach: bonded plus unbonding stake.
    pub fn slashable(&self) -> u64 {
        self.stake.saturating_add(self.unbonding)
    }

    pub fn pack(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u8(KIND_PROVIDER);
        w.u8(self.bump);
        w.bytes(self.provider.as_ref());
        w.bytes(self.operator.as_ref());
        w.u64(self.stake);
        w.u64(self.unbonding);
        w.u64(self.release_at);
        w.u32(self.endpoint_count);
    }

    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::kind(data, KIND_PROVIDER, Self::LEN)?;
        Ok(Self {
            bump: r.u8()?,
            provider: r.pubkey()?,
            operator: r.pubkey()?,
            stake: r.u64()?,
            unbonding: r.u64()?,
            release_at: r.u64()?,
            endpoint_count: r.u32()?,
        })
    }
}

/// One endpoint, at `["endpoint", provider, service_id]`. Strings are stored
/// with a u16 length and the fixed maximum reserved, so every endpoint
/// account has one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub bump: u8,
    pub provider: Pubkey,
    pub service_id: [u8; 32],
    pub chain: String,
    pub kind: String,
    pub url: String,
    pub metadata_hash: [u8; 32],
}

impl Endpoint {
    pub const LEN: usize =
        2 + 32 * 3 + (2 + MAX_CHAIN_LEN) + (2 + MAX_KIND_LEN) + (2 + MAX_URL_LEN);

    pub fn pack(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u8(KIND_ENDPOINT);
        w.u8(self.bump);
        w.bytes(self.provider.as_ref());
        w.bytes(&self.service_id);
        w.bytes(&self.metadata_hash);
        w.string(&self.chain, MAX_CHAIN_LEN);
        w.string(&self.kind, MAX_KIND_LEN);
        w.string(&self.url, MAX_URL_LEN);
    }

    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::kind(data, KIND_ENDPOINT, Self::LEN)?;
        let bump = r.u8()?;
        let provider = r.pubkey()?;
        let service_id = r.array()?;
        let metadata_hash = r.array()?;
        Ok(Self {
            bump,
            provider,
            service_id,
            metadata_hash,
            chain: r.string(MAX_CHAIN_LEN)?,
            kind: r.string(MAX_KIND_LEN)?,
            url: r.string(MAX_URL_LEN)?,
        })
    }
}

/// The settlement vault, at the `settlement` PDA. One mint per program: the
/// vault's token account is still a per-mint PDA (`["settlement_vault",
/// mint]`) and deltas carry their mint, so allowing more mints later adds
/// accounts without changing any layout or the leaf encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    pub bump: u8,
    pub vault_bump: u8,
    pub authority: Pubkey,
    /// The settlement signer's Ethereum address (the threshold key that signs
    /// `BatchCommitment`).
    pub signer: [u8; 20],
    /// The one mint payers deposit and batches move.
    pub mint: Pubkey,
    /// Seconds between `request_withdrawal` and the earliest `withdraw_balance`.
    pub withdrawal_delay: u64,
    pub last_batch_id: u64,
    /// EIP-712 digest of the last settled commitment (zero before the first).
    pub last_commitment_hash: [u8; 32],
    /// Σ balances: what the vault owes, equal to what its token account holds.
    pub total_balance: u64,
    /// A staged batch is open: no other batch may begin or settle until it
    /// is applied or cancelled.
    pub staging: bool,
}

impl Settlement {
    /// kind, bump, vault_bump, authority, signer, mint, 3 u64, hash, staging.
    pub const LEN: usize = 3 + 32 + 20 + 32 + 8 * 3 + 32 + 1;

    pub fn pack(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u8(KIND_SETTLEMENT);
        w.u8(self.bump);
        w.u8(self.vault_bump);
        w.bytes(self.authority.as_ref());
        w.bytes(&self.signer);
        w.bytes(self.mint.as_ref());
        w.u64(self.withdrawal_delay);
        w.u64(self.last_batch_id);
        w.bytes(&self.last_commitment_hash);
        w.u64(self.total_balance);
        w.u8(u8::from(self.staging));
    }

    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::kind(data, KIND_SETTLEMENT, Self::LEN)?;
        Ok(Self {
            bump: r.u8()?,
            vault_bump: r.u8()?,
            authority: r.pubkey()?,
            signer: r.array()?,
            mint: r.pubkey()?,
            withdrawal_delay: r.u64()?,
            last_batch_id: r.u64()?,
            last_commitment_hash: r.array()?,
            total_balance: r.u64()?,
            staging: r.u8()? != 0,
        })
    }
}

/// One owner's balance of one mint, at `["balance", owner, mint]`, with its
/// pending withdrawal. Batches debit and credit `amount`; a pending
/// withdrawal stays debitable (as `Settlement.sol`) and is paid capped at
/// what is left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub bump: u8,
    pub owner: Pubkey,
    pub mint: Pubkey,
    pub amount: u64,
    pub pending: u64,
    /// Unix seconds from which the pending withdrawal can be taken.
    pub ready_at: u64,
}

impl Balance {
    pub const LEN: usize = 2 + 32 * 2 + 8 * 3;

    pub fn pack(&self, out: &mut [u8]) {
        let mut w = Writer::new(out);
        w.u8(KIND_BALANCE);
        w.u8(self.bump);
        w.bytes(self.owner.as_ref());
        w.bytes(self.mint.as_ref());
        w.u64(self.amount);
        w.u64(self.pending);
        w.u64(self.ready_at);
    }

    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::kind(data, KIND_BALANCE, Self::LEN)?;
        Ok(Self {
            bump: r.u8()?,
            owner: r.pubkey()?,
            mint: r.pubkey()?,
            amount: r.u64()?,
            pending: r.u64()?,
            ready_at: r.u64()?,
        })
    }
}

pub const STAGE_STAGING: u8 = 0;
pub const STAGE_FINALIZED: u8 = 1;
pub const STAGE_CANCELLING: u8 = 2;

/// A batch staged over several transactions, at `["staged_batch"]`: a fixed
/// header ([`StagedBatch::HEADER_LEN`]) followed by one 40-byte entry per
/// staged delta (balance account, `i64` delta), appended chunk by chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedBatch {
    pub bump: u8,
    pub stage: u8,
    /// Who paid the rent; gets it back when the account closes.
    pub payer: Pubkey,
    pub commitment: crate::instruction::BatchCommitment,
    pub digest: [u8; 32],
    /// Deltas staged so far.
    pub seen: u32,
    pub last_mint: Pubkey,
    pub last_owner: Pubkey,
    /// Σδ of the current mint so far.
    pub sum: i64,
    pub frontier: crate::digest::MerkleFrontier,
    /// Entries already credited (after finalisation) or refunded (when cancelling).
    pub cursor: u32,
}

impl StagedBatch {
    pub const HEADER_LEN: usize = 3
        + 32
        + crate::instruction::BatchCommitment::LEN
        + 32
        + 4
        + 64
        + 8
        + 8
        + 32 * crate::digest::FRONTIER_LEVELS
        + 4;
    pub const ENTRY_LEN: usize = 40;

    pub fn pack(&self, out: &mut [u8]) {
        let mut c = Vec::with_capacity(crate::instruction::BatchCommitment::LEN);
        self.commitment.encode(&mut c);
        let mut w = Writer::new(out);
        w.u8(KIND_STAGED_BATCH);
        w.u8(self.bump);
        w.u8(self.stage);
        w.bytes(self.payer.as_ref());
        w.bytes(&c);
        w.bytes(&self.digest);
        w.u32(self.seen);
        w.bytes(self.last_mint.as_ref());
        w.bytes(self.last_owner.as_ref());
        w.bytes(&self.sum.to_le_bytes());
        w.u64(self.frontier.count);
        for peak in &self.frontier.peaks {
            w.bytes(peak);
        }
        w.u32(self.cursor);
    }

    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let mut r = Reader::kind(data, KIND_STAGED_BATCH, Self::HEADER_LEN)?;
        let bump = r.u8()?;
        let stage = r.u8()?;
        let payer = r.pubkey()?;
        let commitment = crate::instruction::BatchCommitment::decode(&mut r)?;
        let digest = r.array()?;
        let seen = r.u32()?;
        let last_mint = r.pubkey()?;
        let last_owner = r.pubkey()?;
        let sum = i64::from_le_bytes(r.array()?);
        let mut frontier = crate::digest::MerkleFrontier { count: r.u64()?, ..Default::default() };
        for peak in frontier.peaks.iter_mut() {
            *peak = r.array()?;
        }
        let cursor = r.u32()?;
        Ok(Self {
            bump,
            stage,
            payer,
            commitment,
            digest,
            seen,
            last_mint,
            last_owner,
            sum,
            frontier,
            cursor,
        })
    }

    /// Entry `i` of `data` (the whole account): balance account and delta.
    pub fn entry(data: &[u8], i: u32) -> Result<(Pubkey, i64), ProgramError> {
        let at = Self::HEADER_LEN + Self::ENTRY_LEN * i as usize;
        let e = data.get(at..at + Self::ENTRY_LEN).ok_or(CairnError::NotInitialized)?;
        let mut r = Reader::new(e);
        Ok((r.pubkey()?, i64::from_le_bytes(r.array()?)))
    }

    pub fn write_entry(data: &mut [u8], i: u32, balance: &Pubkey, delta: i64) {
        let at = Self::HEADER_LEN + Self::ENTRY_LEN * i as usize;
        data[at..at + 32].copy_from_slice(balance.as_ref());
        data[at + 32..at + 40].copy_from_slice(&delta.to_le_bytes());
    }
}

/// A used slash nonce: the account's existence is the record.
pub const NONCE_LEN: usize = 2;

/// Writes fixed-offset little-endian fields; the buffers are sized by the
/// `LEN` constants, so a short buffer is a bug in this crate, not bad input.
#[derive(Debug)]
pub struct Writer<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut [u8]) -> Self {
        Self { out, at: 0 }
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }
    /// u16 length, the bytes, then zeros up to `max`.
    pub fn string(&mut self, s: &str, max: usize) {
        self.bytes(&(s.len() as u16).to_le_bytes());
        self.bytes(s.as_bytes());
        let pad = max - s.len();
        self.out[self.at..self.at + pad].fill(0);
        self.at += pad;
    }
}

/// Reads what [`Writer`] wrote; every short or malformed input is an error.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    fn kind(data: &'a [u8], kind: u8, len: usize) -> Result<Self, ProgramError> {
        if data.len() < len || data[0] != kind {
            return Err(CairnError::NotInitialized.into());
        }
        Ok(Self { data: &data[1..] })
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ProgramError> {
        if self.data.len() < n {
            return Err(CairnError::InvalidInstruction.into());
        }
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        Ok(head)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], ProgramError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, ProgramError> {
        Ok(self.take(1)?[0])
    }
    pub fn u16(&mut self) -> Result<u16, ProgramError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32, ProgramError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, ProgramError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn pubkey(&mut self) -> Result<Pubkey, ProgramError> {
        Ok(Pubkey::new_from_array(self.array()?))
    }
    /// A u16-length string of at most `max` bytes with `max` reserved.
    fn string(&mut self, max: usize) -> Result<String, ProgramError> {
        let len = self.u16()? as usize;
        let field = self.take(max)?;
        let bytes = field.get(..len).ok_or(CairnError::NotInitialized)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CairnError::NotInitialized.into())
    }
    /// A u16-length string sent in instruction data (no padding).
    pub fn short_string(&mut self, max: usize) -> Result<String, ProgramError> {
        let len = self.u16()? as usize;
        if len > max {
            return Err(CairnError::InvalidEndpoint.into());
        }
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CairnError::InvalidEndpoint.into())
    }
}

/// Most endpoints one provider may hold, so enumeration stays bounded.
pub const MAX_ENDPOINTS: u32 = 16;

/// The endpoint rules of `cairn_core::registry::validate_endpoint` and the
/// CAIP-2 rules of `cairn_core::id::ChainId`, without allocation for the
/// program; the interface tests check both accept and reject the same inputs.
pub fn validate_endpoint(chain: &str, kind: &str, url: &str) -> Result<(), CairnError> {
    let bad = Err(CairnError::InvalidEndpoint);
    let Some((namespace, reference)) = chain.split_once(':') else { return bad };
    if !(3..=8).contains(&namespace.len())
        || !namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || !(1..=32).contains(&reference.len())
        || !reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return bad;
    }
    if kind.is_empty()
        || kind.len() > MAX_KIND_LEN
        || !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return bad;
    }
    if url.len() > MAX_URL_LEN || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return bad;
    }
    let rest = ["http://", "https://", "ws://", "wss://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    match rest {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => Ok(()),
        _ => bad,
    }
}
