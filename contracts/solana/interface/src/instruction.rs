//! Instruction data (tag byte, then fixed little-endian fields; strings as a
//! u16 length and bytes) and builders that list the accounts in the order the
//! processor reads them.

use solana_program::{
    instruction::{AccountMeta, Instruction},
    program_error::ProgramError,
    pubkey::Pubkey,
};
use solana_system_interface::program as system_program;

use crate::{
    CairnError, balance_address, config_address, endpoint_address, nonce_address, provider_address,
    settlement_address, settlement_vault_address,
    state::{MAX_CHAIN_LEN, MAX_KIND_LEN, MAX_URL_LEN, Reader},
    vault_address,
};

/// A slash order as the slasher signs it (see [`crate::digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashOrder {
    pub amount: u64,
    pub reason: u8,
    pub evidence_hash: [u8; 32],
    pub receipt_id: [u8; 32],
    /// Big-endian, as the EIP-712 `uint256`.
    pub nonce: [u8; 32],
    pub deadline: u64,
}

/// `cairn_core::eip712::BatchCommitment` with fixed-size fields, as the
/// settlement signer signs it (see [`crate::digest::batch_digest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchCommitment {
    pub batch_id: u64,
    pub prev_hash: [u8; 32],
    pub window_start: u64,
    pub window_end: u64,
    pub intents_root: [u8; 32],
    pub deltas_root: [u8; 32],
    pub intent_count: u32,
    pub delta_count: u32,
    pub receipt_id: [u8; 32],
}

impl BatchCommitment {
    /// Encoded length: the fields in order, little-endian.
    pub const LEN: usize = 8 + 32 + 8 + 8 + 32 + 32 + 4 + 4 + 32;

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.batch_id.to_le_bytes());
        out.extend_from_slice(&self.prev_hash);
        out.extend_from_slice(&self.window_start.to_le_bytes());
        out.extend_from_slice(&self.window_end.to_le_bytes());
        out.extend_from_slice(&self.intents_root);
        out.extend_from_slice(&self.deltas_root);
        out.extend_from_slice(&self.intent_count.to_le_bytes());
        out.extend_from_slice(&self.delta_count.to_le_bytes());
        out.extend_from_slice(&self.receipt_id);
    }

    pub fn decode(r: &mut Reader<'_>) -> Result<Self, ProgramError> {
        Ok(Self {
            batch_id: r.u64()?,
            prev_hash: r.array()?,
            window_start: r.u64()?,
            window_end: r.u64()?,
            intents_root: r.array()?,
            deltas_root: r.array()?,
            intent_count: r.u32()?,
            delta_count: r.u32()?,
            receipt_id: r.array()?,
        })
    }
}

/// Most deltas one `settle_batch` can carry: each costs 8 bytes of data and
/// one 32-byte account key of a 1232-byte transaction (see the program README
/// for larger batches).
pub const MAX_DELTAS_PER_TX: usize = 19;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryInstruction {
    /// Accounts: payer (s, w), authority (s), config (w), stake mint,
    /// vault (w), treasury, system program, token program, the program's
    /// `ProgramData` (whose upgrade authority must be `authority`).
    Initialize { min_stake: u64, unbonding_delay: u64, slasher: [u8; 20] },
    /// Accounts: provider (s, w), config (w), provider PDA (w),
    /// provider's token account (w), vault (w), token program, system program.
    Register { amount: u64, operator: Pubkey },
    /// Accounts: operator (s, w), provider PDA (w), endpoint PDA (w), system program.
    AddEndpoint { chain: String, kind: String, url: String, metadata_hash: [u8; 32] },
    /// Accounts: operator (s, w), provider PDA (w), endpoint PDA (w).
    RemoveEndpoint { service_id: [u8; 32] },
    /// Accounts: provider (s), config, provider PDA (w).
    Unbond { amount: u64 },
    /// Accounts: provider (s, w), config (w), provider PDA (w), vault (w),
    /// provider's token account (w), token program.
    Withdraw,
    /// Accounts: payer (s, w), config (w), provider PDA (w), vault (w),
    /// treasury (w), nonce PDA (w), token program, system program.
    Slash { provider: Pubkey, order: SlashOrder, signature: [u8; 64], recovery_id: u8 },
    /// Accounts: payer (s, w), authority (s), settlement (w), mint,
    /// settlement vault (w), system program, token program, `ProgramData`.
    InitializeVault { signer: [u8; 20], withdrawal_delay: u64 },
    /// Accounts: payer (s, w), settlement, balance PDA of (owner, mint) (w),
    /// system program. Opens an empty balance so a batch can credit an
    /// owner who never deposited.
    OpenBalance { owner: Pubkey },
    /// Accounts: owner (s, w), settlement (w), balance PDA (w), owner's token
    /// account (w), settlement vault (w), token program, system program.
    /// Opens the balance PDA if it does not exist.
    Deposit { amount: u64 },
    /// Accounts: owner (s), settlement, balance PDA (w).
    RequestWithdrawal { amount: u64 },
    /// Accounts: owner (s), settlement (w), balance PDA (w), settlement vault
    /// (w), owner's token account (w), token program.
    WithdrawBalance,
    /// Accounts: settlement (w), then one balance PDA (w) per delta, in the
    /// deltas' order. The i-th delta applies to the i-th balance; its owner
    /// and mint (for ordering and the leaf) are read from that account.
    SettleBatch {
        commitment: BatchCommitment,
        signature: [u8; 64],
        recovery_id: u8,
        deltas: Vec<i64>,
    },
    /// Staged form, for batches past one transaction. Accounts: payer (s, w),
    /// settlement (w), staged batch PDA (w), system program. Makes every
    /// commitment check of `settle_batch` once and opens the staged batch.
    BeginBatch { commitment: BatchCommitment, signature: [u8; 64], recovery_id: u8 },
    /// Accounts: payer (s, w), settlement, staged batch (w), system program,
    /// then one balance PDA (w) per delta. The next deltas in batch order:
    /// checked as `settle_batch` checks them, debits taken at once.
    StageDeltas { deltas: Vec<i64> },
    /// Accounts: settlement (w), staged batch (w). All deltas staged, the
    /// last mint sums to zero and the root matches: the batch is settled.
    FinalizeBatch,
    /// Accounts: settlement (w), staged batch (w), the staged batch's payer
    /// (w), then the balance PDAs of the next credits in batch order.
    /// Applies credits of a finalised batch; the last call closes it.
    ApplyStaged,
    /// Accounts: authority (s), settlement (w), staged batch (w), the staged
    /// batch's payer (w), then the balance PDAs of the next debits in batch
    /// order. Refunds the debits of an unfinalised batch; the last call
    /// closes it and frees the batch id.
    CancelBatch,
}

impl RegistryInstruction {
    pub fn pack(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Self::Initialize { min_stake, unbonding_delay, slasher } => {
                out.push(0);
                out.extend_from_slice(&min_stake.to_le_bytes());
                out.extend_from_slice(&unbonding_delay.to_le_bytes());
                out.extend_from_slice(slasher);
            }
            Self::Register { amount, operator } => {
                out.push(1);
                out.extend_from_slice(&amount.to_le_bytes());
                out.extend_from_slice(operator.as_ref());
            }
            Self::AddEndpoint { chain, kind, url, metadata_hash } => {
                out.push(2);
                for s in [chain, kind, url] {
                    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
                out.extend_from_slice(metadata_hash);
            }
            Self::RemoveEndpoint { service_id } => {
                out.push(3);
                out.extend_from_slice(service_id);
            }
            Self::Unbond { amount } => {
                out.push(4);
                out.extend_from_slice(&amount.to_le_bytes());
            }
            Self::Withdraw => out.push(5),
            Self::Slash { provider, order, signature, recovery_id } => {
                out.push(6);
                out.extend_from_slice(provider.as_ref());
                out.extend_from_slice(&order.amount.to_le_bytes());
                out.push(order.reason);
                out.extend_from_slice(&order.evidence_hash);
                out.extend_from_slice(&order.receipt_id);
                out.extend_from_slice(&order.nonce);
                out.extend_from_slice(&order.deadline.to_le_bytes());
                out.extend_from_slice(signature);
                out.push(*recovery_id);
            }
            Self::InitializeVault { signer, withdrawal_delay } => {
                out.push(7);
                out.extend_from_slice(signer);
                out.extend_from_slice(&withdrawal_delay.to_le_bytes());
            }
            Self::OpenBalance { owner } => {
                out.push(8);
                out.extend_from_slice(owner.as_ref());
            }
            Self::Deposit { amount } => {
                out.push(9);
                out.extend_from_slice(&amount.to_le_bytes());
            }
            Self::RequestWithdrawal { amount } => {
                out.push(10);
                out.extend_from_slice(&amount.to_le_bytes());
            }
            Self::WithdrawBalance => out.push(11),
            Self::SettleBatch { commitment: c, signature, recovery_id, deltas } => {
                out.push(12);
                c.encode(&mut out);
                out.extend_from_slice(signature);
                out.push(*recovery_id);
                for d in deltas {
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
            Self::BeginBatch { commitment: c, signature, recovery_id } => {
                out.push(13);
                c.encode(&mut out);
                out.extend_from_slice(signature);
                out.push(*recovery_id);
            }
            Self::StageDeltas { deltas } => {
                out.push(14);
                for d in deltas {
                    out.extend_from_slice(&d.to_le_bytes());
                }
            }
            Self::FinalizeBatch => out.push(15),
            Self::ApplyStaged => out.push(16),
            Self::CancelBatch => out.push(17),
        }
        out
    }

    /// Decodes instruction data; trailing bytes are rejected so one
    /// instruction has one encoding.
    pub fn unpack(data: &[u8]) -> Result<Self, ProgramError> {
        let (&tag, rest) = data.split_first().ok_or(CairnError::InvalidInstruction)?;
        let mut r = Reader::new(rest);
        let ix = match tag {
            0 => Self::Initialize {
                min_stake: r.u64()?,
                unbonding_delay: r.u64()?,
                slasher: r.array()?,
            },
            1 => Self::Register { amount: r.u64()?, operator: r.pubkey()? },
            2 => Self::AddEndpoint {
                chain: r.short_string(MAX_CHAIN_LEN)?,
                kind: r.short_string(MAX_KIND_LEN)?,
                url: r.short_string(MAX_URL_LEN)?,
                metadata_hash: r.array()?,
            },
            3 => Self::RemoveEndpoint { service_id: r.array()? },
            4 => Self::Unbond { amount: r.u64()? },
            5 => Self::Withdraw,
            6 => Self::Slash {
                provider: r.pubkey()?,
                order: SlashOrder {
                    amount: r.u64()?,
                    reason: r.u8()?,
                    evidence_hash: r.array()?,
                    receipt_id: r.array()?,
                    nonce: r.array()?,
                    deadline: r.u64()?,
                },
                signature: r.array()?,
                recovery_id: r.u8()?,
            },
            7 => Self::InitializeVault { signer: r.array()?, withdrawal_delay: r.u64()? },
            8 => Self::OpenBalance { owner: r.pubkey()? },
            9 => Self::Deposit { amount: r.u64()? },
            10 => Self::RequestWithdrawal { amount: r.u64()? },
            11 => Self::WithdrawBalance,
            12 => {
                let commitment = BatchCommitment::decode(&mut r)?;
                let signature = r.array()?;
                let recovery_id = r.u8()?;
                Self::SettleBatch { commitment, signature, recovery_id, deltas: deltas(&mut r)? }
            }
            13 => Self::BeginBatch {
                commitment: BatchCommitment::decode(&mut r)?,
                signature: r.array()?,
                recovery_id: r.u8()?,
            },
            14 => Self::StageDeltas { deltas: deltas(&mut r)? },
            15 => Self::FinalizeBatch,
            16 => Self::ApplyStaged,
            17 => Self::CancelBatch,
            _ => return Err(CairnError::InvalidInstruction.into()),
        };
        if !r.is_empty() {
            return Err(CairnError::InvalidInstruction.into());
        }
        Ok(ix)
    }
}

/// The rest of the data as whole i64s: a partial one is malformed data.
fn deltas(r: &mut Reader<'_>) -> Result<Vec<i64>, ProgramError> {
    let mut deltas = Vec::new();
    while !r.is_empty() {
        deltas.push(i64::from_le_bytes(r.array()?));
    }
    Ok(deltas)
}

fn ix(program_id: &Pubkey, data: RegistryInstruction, accounts: Vec<AccountMeta>) -> Instruction {
    Instruction { program_id: *program_id, accounts, data: data.pack() }
}

#[allow(clippy::too_many_arguments)]
pub fn initialize(
    program_id: &Pubkey,
    payer: &Pubkey,
    authority: &Pubkey,
    stake_mint: &Pubkey,
    treasury: &Pubkey,
    min_stake: u64,
    unbonding_delay: u64,
    slasher: [u8; 20],
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::Initialize { min_stake, unbonding_delay, slasher },
        vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new_readonly(*authority, true),
            AccountMeta::new(config_address(program_id).0, false),
            AccountMeta::new_readonly(*stake_mint, false),
            AccountMeta::new(vault_address(program_id).0, false),
            AccountMeta::new_readonly(*treasury, false),
            AccountMeta::new_readonly(system_program::ID, false),
            AccountMeta::new_readonly(spl_token_id(), false),
            AccountMeta::new_readonly(crate::program_data_address(program_id), false),
        ],
    )
}

pub fn register(
    program_id: &Pubkey,
    provider: &Pubkey,
    provider_token: &Pubkey,
    operator: &Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::Register { amount, operator: *operator },
        vec![
            AccountMeta::new(*provider, true),
            AccountMeta::new(config_address(program_id).0, false),
            AccountMeta::new(provider_address(program_id, provider).0, false),
            AccountMeta::new(*provider_token, false),
            AccountMeta::new(vault_address(program_id).0, false),
            AccountMeta::new_readonly(spl_token_id(), false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    )
}

pub fn add_endpoint(
    program_id: &Pubkey,
    operator: &Pubkey,
    provider: &Pubkey,
    chain: &str,
    kind: &str,
    url: &str,
    metadata_hash: [u8; 32],
) -> Instruction {
    let service_id = crate::digest::service_id(provider, chain, kind, url);
    ix(
        program_id,
        RegistryInstruction::AddEndpoint {
            chain: chain.into(),
            kind: kind.into(),
            url: url.into(),
            metadata_hash,
        },
        vec![
            AccountMeta::new(*operator, true),
            AccountMeta::new(provider_address(program_id, provider).0, false),
            AccountMeta::new(endpoint_address(program_id, provider, &service_id).0, false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    )
}

pub fn remove_endpoint(
    program_id: &Pubkey,
    operator: &Pubkey,
    provider: &Pubkey,
    service_id: [u8; 32],
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::RemoveEndpoint { service_id },
        vec![
            AccountMeta::new(*operator, true),
            AccountMeta::new(provider_address(program_id, provider).0, false),
            AccountMeta::new(endpoint_address(program_id, provider, &service_id).0, false),
        ],
    )
}

pub fn unbond(program_id: &Pubkey, provider: &Pubkey, amount: u64) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::Unbond { amount },
        vec![
            AccountMeta::new_readonly(*provider, true),
            AccountMeta::new_readonly(config_address(program_id).0, false),
            AccountMeta::new(provider_address(program_id, provider).0, false),
        ],
    )
}

pub fn withdraw(program_id: &Pubkey, provider: &Pubkey, provider_token: &Pubkey) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::Withdraw,
        vec![
            AccountMeta::new(*provider, true),
            AccountMeta::new(config_address(program_id).0, false),
            AccountMeta::new(provider_address(program_id, provider).0, false),
            AccountMeta::new(vault_address(program_id).0, false),
            AccountMeta::new(*provider_token, false),
            AccountMeta::new_readonly(spl_token_id(), false),
        ],
    )
}

pub fn slash(
    program_id: &Pubkey,
    payer: &Pubkey,
    provider: &Pubkey,
    treasury: &Pubkey,
    order: SlashOrder,
    signature: [u8; 64],
    recovery_id: u8,
) -> Instruction {
    let nonce_pda = nonce_address(program_id, &order.nonce).0;
    ix(
        program_id,
        RegistryInstruction::Slash { provider: *provider, order, signature, recovery_id },
        vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(config_address(program_id).0, false),
            AccountMeta::new(provider_address(program_id, provider).0, false),
            AccountMeta::new(vault_address(program_id).0, false),
            AccountMeta::new(*treasury, false),
            AccountMeta::new(nonce_pda, false),
            AccountMeta::new_readonly(spl_token_id(), false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
pub fn initialize_vault(
    program_id: &Pubkey,
    payer: &Pubkey,
    authority: &Pubkey,
    mint: &Pubkey,
    signer: [u8; 20],
    withdrawal_delay: u64,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::InitializeVault { signer, withdrawal_delay },
        vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new_readonly(*authority, true),
            AccountMeta::new(settlement_address(program_id).0, false),
            AccountMeta::new_readonly(*mint, false),
            AccountMeta::new(settlement_vault_address(program_id, mint).0, false),
            AccountMeta::new_readonly(system_program::ID, false),
            AccountMeta::new_readonly(spl_token_id(), false),
            AccountMeta::new_readonly(crate::program_data_address(program_id), false),
        ],
    )
}

pub fn open_balance(
    program_id: &Pubkey,
    payer: &Pubkey,
    owner: &Pubkey,
    mint: &Pubkey,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::OpenBalance { owner: *owner },
        vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new_readonly(settlement_address(program_id).0, false),
            AccountMeta::new(balance_address(program_id, owner, mint).0, false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    )
}

pub fn deposit(
    program_id: &Pubkey,
    owner: &Pubkey,
    owner_token: &Pubkey,
    mint: &Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::Deposit { amount },
        vec![
            AccountMeta::new(*owner, true),
            AccountMeta::new(settlement_address(program_id).0, false),
            AccountMeta::new(balance_address(program_id, owner, mint).0, false),
            AccountMeta::new(*owner_token, false),
            AccountMeta::new(settlement_vault_address(program_id, mint).0, false),
            AccountMeta::new_readonly(spl_token_id(), false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    )
}

pub fn request_withdrawal(
    program_id: &Pubkey,
    owner: &Pubkey,
    mint: &Pubkey,
    amount: u64,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::RequestWithdrawal { amount },
        vec![
            AccountMeta::new_readonly(*owner, true),
            AccountMeta::new_readonly(settlement_address(program_id).0, false),
            AccountMeta::new(balance_address(program_id, owner, mint).0, false),
        ],
    )
}

pub fn withdraw_balance(
    program_id: &Pubkey,
    owner: &Pubkey,
    owner_token: &Pubkey,
    mint: &Pubkey,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::WithdrawBalance,
        vec![
            AccountMeta::new_readonly(*owner, true),
            AccountMeta::new(settlement_address(program_id).0, false),
            AccountMeta::new(balance_address(program_id, owner, mint).0, false),
            AccountMeta::new(settlement_vault_address(program_id, mint).0, false),
            AccountMeta::new(*owner_token, false),
            AccountMeta::new_readonly(spl_token_id(), false),
        ],
    )
}

/// `deltas` as (owner, mint, amount), in the batch's order; the balance PDA
/// of each is passed in the same order.
pub fn settle_batch(
    program_id: &Pubkey,
    commitment: BatchCommitment,
    signature: [u8; 64],
    recovery_id: u8,
    deltas: &[(Pubkey, Pubkey, i64)],
) -> Instruction {
    let mut accounts = vec![AccountMeta::new(settlement_address(program_id).0, false)];
    accounts.extend(deltas.iter().map(|(owner, mint, _)| {
        AccountMeta::new(balance_address(program_id, owner, mint).0, false)
    }));
    ix(
        program_id,
        RegistryInstruction::SettleBatch {
            commitment,
            signature,
            recovery_id,
            deltas: deltas.iter().map(|d| d.2).collect(),
        },
        accounts,
    )
}

fn balance_metas(program_id: &Pubkey, mint: &Pubkey, owners: &[Pubkey]) -> Vec<AccountMeta> {
    owners.iter().map(|o| AccountMeta::new(balance_address(program_id, o, mint).0, false)).collect()
}

pub fn begin_batch(
    program_id: &Pubkey,
    payer: &Pubkey,
    commitment: BatchCommitment,
    signature: [u8; 64],
    recovery_id: u8,
) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::BeginBatch { commitment, signature, recovery_id },
        vec![
            AccountMeta::new(*payer, true),
            AccountMeta::new(settlement_address(program_id).0, false),
            AccountMeta::new(crate::staged_batch_address(program_id).0, false),
            AccountMeta::new_readonly(system_program::ID, false),
        ],
    )
}

/// The next `deltas` (owner, mint, amount) of the staged batch, in order.
pub fn stage_deltas(
    program_id: &Pubkey,
    payer: &Pubkey,
    deltas: &[(Pubkey, Pubkey, i64)],
) -> Instruction {
    let mut accounts = vec![
        AccountMeta::new(*payer, true),
        AccountMeta::new_readonly(settlement_address(program_id).0, false),
        AccountMeta::new(crate::staged_batch_address(program_id).0, false),
        AccountMeta::new_readonly(system_program::ID, false),
    ];
    accounts.extend(deltas.iter().map(|(owner, mint, _)| {
        AccountMeta::new(balance_address(program_id, owner, mint).0, false)
    }));
    ix(
        program_id,
        RegistryInstruction::StageDeltas { deltas: deltas.iter().map(|d| d.2).collect() },
        accounts,
    )
}

pub fn finalize_batch(program_id: &Pubkey) -> Instruction {
    ix(
        program_id,
        RegistryInstruction::FinalizeBatch,
        vec![
            AccountMeta::new(settlement_address(program_id).0, false),
            AccountMeta::new(crate::staged_batch_address(program_id).0, false),
        ],
    )
}

/// Credits the next `owners` (the batch's credited owners, in batch order).
pub fn apply_staged(
    program_id: &Pubkey,
    staged_payer: &Pubkey,
    mint: &Pubkey,
    owners: &[Pubkey],
) -> Instruction {
    let mut accounts = vec![
        AccountMeta::new(settlement_address(program_id).0, false),
        AccountMeta::new(crate::staged_batch_address(program_id).0, false),
        AccountMeta::new(*staged_payer, false),
    ];
    accounts.extend(balance_metas(program_id, mint, owners));
    ix(program_id, RegistryInstruction::ApplyStaged, accounts)
}

/// Refunds the next `owners` (the batch's debited owners staged so far, in order).
pub fn cancel_batch(
    program_id: &Pubkey,
    authority: &Pubkey,
    staged_payer: &Pubkey,
    mint: &Pubkey,
    owners: &[Pubkey],
) -> Instruction {
    let mut accounts = vec![
        AccountMeta::new_readonly(*authority, true),
        AccountMeta::new(settlement_address(program_id).0, false),
        AccountMeta::new(crate::staged_batch_address(program_id).0, false),
        AccountMeta::new(*staged_payer, false),
    ];
    accounts.extend(balance_metas(program_id, mint, owners));
    ix(program_id, RegistryInstruction::CancelBatch, accounts)
}

/// The SPL Token program (not Token-2022: the vault is a classic token account).
pub fn spl_token_id() -> Pubkey {
    solana_program::pubkey!("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
}
