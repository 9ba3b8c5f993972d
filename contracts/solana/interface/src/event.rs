//! Events. Each state change logs one `sol_log_data` record of two fields:
//! the event name (ASCII) and its payload, packed like the accounts
//! (little-endian, fixed order, strings as u16 length and bytes). The
//! runtime prints it as `Program data: <base64 name> <base64 payload>`; an
//! indexer base64-decodes both and calls [`Event::decode`].

use solana_program::pubkey::Pubkey;

use crate::state::{MAX_CHAIN_LEN, MAX_KIND_LEN, MAX_URL_LEN, Reader};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Initialized {
        authority: Pubkey,
        stake_mint: Pubkey,
        treasury: Pubkey,
        slasher: [u8; 20],
        min_stake: u64,
        unbonding_delay: u64,
    },
    Registered {
        provider: Pubkey,
        operator: Pubkey,
        amount: u64,
    },
    EndpointAdded {
        provider: Pubkey,
        service_id: [u8; 32],
        chain: String,
        kind: String,
        url: String,
        metadata_hash: [u8; 32],
    },
    EndpointRemoved {
        provider: Pubkey,
        service_id: [u8; 32],
    },
    UnbondStarted {
        provider: Pubkey,
        amount: u64,
        release_at: u64,
    },
    Withdrawn {
        provider: Pubkey,
        amount: u64,
        exited: bool,
    },
    Slashed {
        provider: Pubkey,
        amount: u64,
        nonce: [u8; 32],
        reason: u8,
        receipt_id: [u8; 32],
    },
    VaultInitialized {
        authority: Pubkey,
        mint: Pubkey,
        signer: [u8; 20],
        withdrawal_delay: u64,
    },
    BalanceOpened {
        owner: Pubkey,
        mint: Pubkey,
    },
    Deposited {
        owner: Pubkey,
        mint: Pubkey,
        amount: u64,
        balance: u64,
    },
    WithdrawalRequested {
        owner: Pubkey,
        mint: Pubkey,
        amount: u64,
        ready_at: u64,
    },
    BalanceWithdrawn {
        owner: Pubkey,
        mint: Pubkey,
        amount: u64,
        balance: u64,
    },
    BatchSettled {
        batch_id: u64,
        commitment_hash: [u8; 32],
        intents_root: [u8; 32],
        deltas_root: [u8; 32],
        receipt_id: [u8; 32],
        window_start: u64,
        window_end: u64,
        intent_count: u32,
        delta_count: u32,
    },
    BalanceChanged {
        batch_id: u64,
        owner: Pubkey,
        mint: Pubkey,
        delta: i64,
        balance: u64,
    },
    /// A batch opened in staged form; its `BalanceChanged` events follow
    /// chunk by chunk, `BatchSettled` at finalisation.
    BatchStaged {
        batch_id: u64,
        commitment_hash: [u8; 32],
    },
    /// A staged batch was cancelled; its debits were refunded (each a
    /// positive `BalanceChanged`).
    BatchCancelled {
        batch_id: u64,
    },
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Event {
    pub fn name(&self) -> &'static [u8] {
        match self {
            Self::Initialized { .. } => b"Initialized",
            Self::Registered { .. } => b"Registered",
            Self::EndpointAdded { .. } => b"EndpointAdded",
            Self::EndpointRemoved { .. } => b"EndpointRemoved",
            Self::UnbondStarted { .. } => b"UnbondStarted",
            Self::Withdrawn { .. } => b"Withdrawn",
            Self::Slashed { .. } => b"Slashed",
            Self::VaultInitialized { .. } => b"VaultInitialized",
            Self::BalanceOpened { .. } => b"BalanceOpened",
            Self::Deposited { .. } => b"Deposited",
            Self::WithdrawalRequested { .. } => b"WithdrawalRequested",
            Self::BalanceWithdrawn { .. } => b"BalanceWithdrawn",
            Self::BatchSettled { .. } => b"BatchSettled",
            Self::BalanceChanged { .. } => b"BalanceChanged",
            Self::BatchStaged { .. } => b"BatchStaged",
            Self::BatchCancelled { .. } => b"BatchCancelled",
        }
    }

    pub fn payload(&self) -> Vec<u8> {
        let mut o = Vec::new();
        match self {
            Self::Initialized {
                authority,
                stake_mint,
                treasury,
                slasher,
                min_stake,
                unbonding_delay,
            } => {
                o.extend_from_slice(authority.as_ref());
                o.extend_from_slice(stake_mint.as_ref());
                o.extend_from_slice(treasury.as_ref());
                o.extend_from_slice(slasher);
                o.extend_from_slice(&min_stake.to_le_bytes());
                o.extend_from_slice(&unbonding_delay.to_le_bytes());
            }
            Self::Registered { provider, operator, amount } => {
                o.extend_from_slice(provider.as_ref());
                o.extend_from_slice(operator.as_ref());
                o.extend_from_slice(&amount.to_le_bytes());
            }
            Self::EndpointAdded { provider, service_id, chain, kind, url, metadata_hash } => {
                o.extend_from_slice(provider.as_ref());
                o.extend_from_slice(service_id);
                string(&mut o, chain);
                string(&mut o, kind);
                string(&mut o, url);
                o.extend_from_slice(metadata_hash);
            }
            Self::EndpointRemoved { provider, service_id } => {
                o.extend_from_slice(provider.as_ref());
                o.extend_from_slice(service_id);
            }
            Self::UnbondStarted { provider, amount, release_at } => {
                o.extend_from_slice(provider.as_ref());
                o.extend_from_slice(&amount.to_le_bytes());
                o.extend_from_slice(&release_at.to_le_bytes());
            }
            Self::Withdrawn { provider, amount, exited } => {
                o.extend_from_slice(provider.as_ref());
                o.extend_from_slice(&amount.to_le_bytes());
                o.push(u8::from(*exited));
            }
            Self::Slashed { provider, amount, nonce, reason, receipt_id } => {
                o.extend_from_slice(provider.as_ref());
                o.extend_from_slice(&amount.to_le_bytes());
                o.extend_from_slice(nonce);
                o.push(*reason);
                o.extend_from_slice(receipt_id);
            }
            Self::VaultInitialized { authority, mint, signer, withdrawal_delay } => {
                o.extend_from_slice(authority.as_ref());
                o.extend_from_slice(mint.as_ref());
                o.extend_from_slice(signer);
                o.extend_from_slice(&withdrawal_delay.to_le_bytes());
            }
            Self::BalanceOpened { owner, mint } => {
                o.extend_from_slice(owner.as_ref());
                o.extend_from_slice(mint.as_ref());
            }
            Self::Deposited { owner, mint, amount, balance }
            | Self::BalanceWithdrawn { owner, mint, amount, balance } => {
                o.extend_from_slice(owner.as_ref());
                o.extend_from_slice(mint.as_ref());
                o.extend_from_slice(&amount.to_le_bytes());
                o.extend_from_slice(&balance.to_le_bytes());
            }
            Self::WithdrawalRequested { owner, mint, amount, ready_at } => {
                o.extend_from_slice(owner.as_ref());
                o.extend_from_slice(mint.as_ref());
                o.extend_from_slice(&amount.to_le_bytes());
                o.extend_from_slice(&ready_at.to_le_bytes());
            }
            Self::BatchSettled {
                batch_id,
                commitment_hash,
                intents_root,
                deltas_root,
                receipt_id,
                window_start,
                window_end,
                intent_count,
                delta_count,
            } => {
                o.extend_from_slice(&batch_id.to_le_bytes());
                o.extend_from_slice(commitment_hash);
                o.extend_from_slice(intents_root);
                o.extend_from_slice(deltas_root);
                o.extend_from_slice(receipt_id);
                o.extend_from_slice(&window_start.to_le_bytes());
                o.extend_from_slice(&window_end.to_le_bytes());
                o.extend_from_slice(&intent_count.to_le_bytes());
                o.extend_from_slice(&delta_count.to_le_bytes());
            }
            Self::BalanceChanged { batch_id, owner, mint, delta, balance } => {
                o.extend_from_slice(&batch_id.to_le_bytes());
                o.extend_from_slice(owner.as_ref());
                o.extend_from_slice(mint.as_ref());
                o.extend_from_slice(&delta.to_le_bytes());
                o.extend_from_slice(&balance.to_le_bytes());
            }
            Self::BatchStaged { batch_id, commitment_hash } => {
                o.extend_from_slice(&batch_id.to_le_bytes());
                o.extend_from_slice(commitment_hash);
            }
            Self::BatchCancelled { batch_id } => o.extend_from_slice(&batch_id.to_le_bytes()),
        }
        o
    }

    /// Decodes the two fields of one `Program data:` record; `None` for a
    /// record that is not one of this program's events.
    pub fn decode(name: &[u8], payload: &[u8]) -> Option<Self> {
        let mut r = Reader::new(payload);
        let ev = match name {
            b"Initialized" => Self::Initialized {
                authority: r.pubkey().ok()?,
                stake_mint: r.pubkey().ok()?,
                treasury: r.pubkey().ok()?,
                slasher: r.array().ok()?,
                min_stake: r.u64().ok()?,
                unbonding_delay: r.u64().ok()?,
            },
            b"Registered" => Self::Registered {
                provider: r.pubkey().ok()?,
                operator: r.pubkey().ok()?,
                amount: r.u64().ok()?,
            },
            b"EndpointAdded" => Self::EndpointAdded {
                provider: r.pubkey().ok()?,
                service_id: r.array().ok()?,
                chain: r.short_string(MAX_CHAIN_LEN).ok()?,
                kind: r.short_string(MAX_KIND_LEN).ok()?,
                url: r.short_string(MAX_URL_LEN).ok()?,
                metadata_hash: r.array().ok()?,
            },
            b"EndpointRemoved" => {
                Self::EndpointRemoved { provider: r.pubkey().ok()?, service_id: r.array().ok()? }
            }
            b"UnbondStarted" => Self::UnbondStarted {
                provider: r.pubkey().ok()?,
                amount: r.u64().ok()?,
                release_at: r.u64().ok()?,
            },
            b"Withdrawn" => Self::Withdrawn {
                provider: r.pubkey().ok()?,
                amount: r.u64().ok()?,
                exited: r.u8().ok()? != 0,
            },
            b"Slashed" => Self::Slashed {
                provider: r.pubkey().ok()?,
                amount: r.u64().ok()?,
                nonce: r.array().ok()?,
                reason: r.u8().ok()?,
                receipt_id: r.array().ok()?,
            },
            b"VaultInitialized" => Self::VaultInitialized {
                authority: r.pubkey().ok()?,
                mint: r.pubkey().ok()?,
                signer: r.array().ok()?,
                withdrawal_delay: r.u64().ok()?,
            },
            b"BalanceOpened" => {
                Self::BalanceOpened { owner: r.pubkey().ok()?, mint: r.pubkey().ok()? }
            }
            b"Deposited" => Self::Deposited {
                owner: r.pubkey().ok()?,
                mint: r.pubkey().ok()?,
                amount: r.u64().ok()?,
                balance: r.u64().ok()?,
            },
            b"WithdrawalRequested" => Self::WithdrawalRequested {
                owner: r.pubkey().ok()?,
                mint: r.pubkey().ok()?,
                amount: r.u64().ok()?,
                ready_at: r.u64().ok()?,
            },
            b"BalanceWithdrawn" => Self::BalanceWithdrawn {
                owner: r.pubkey().ok()?,
                mint: r.pubkey().ok()?,
                amount: r.u64().ok()?,
                balance: r.u64().ok()?,
            },
            b"BatchSettled" => Self::BatchSettled {
                batch_id: r.u64().ok()?,
                commitment_hash: r.array().ok()?,
                intents_root: r.array().ok()?,
                deltas_root: r.array().ok()?,
                receipt_id: r.array().ok()?,
                window_start: r.u64().ok()?,
                window_end: r.u64().ok()?,
                intent_count: r.u32().ok()?,
                delta_count: r.u32().ok()?,
            },
            b"BalanceChanged" => Self::BalanceChanged {
                batch_id: r.u64().ok()?,
                owner: r.pubkey().ok()?,
                mint: r.pubkey().ok()?,
                delta: i64::from_le_bytes(r.array().ok()?),
                balance: r.u64().ok()?,
            },
            b"BatchStaged" => {
                Self::BatchStaged { batch_id: r.u64().ok()?, commitment_hash: r.array().ok()? }
            }
            b"BatchCancelled" => Self::BatchCancelled { batch_id: r.u64().ok()? },
            _ => return None,
        };
        r.is_empty().then_some(ev)
    }
}
