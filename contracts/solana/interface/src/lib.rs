//! What a client needs to talk to Cairn's Solana program, and nothing that
//! runs on chain: instruction data, account layouts, PDA seeds, the event log
//! format, errors, and the EIP-712 digest a slash order is signed over.
//!
//! Everything is hand-packed little-endian with fixed offsets (no borsh): the
//! layouts are small, a fixed layout is read without allocation on chain, and
//! an indexer in any language decodes it from the tables in the README.

pub mod digest;
pub mod error;
pub mod event;
pub mod instruction;
pub mod state;

pub use error::CairnError;

solana_program::declare_id!("CWYNsFLiJmJM7niHgkYHrrUsHVLK92j2hjvzuxM9j5Pe");

/// PDA seeds. Every program-owned account is found from these alone, so a
/// caller cannot substitute an account with the right layout but the wrong
/// address.
pub mod seeds {
    pub const CONFIG: &[u8] = b"config";
    pub const VAULT: &[u8] = b"vault";
    pub const PROVIDER: &[u8] = b"provider";
    pub const ENDPOINT: &[u8] = b"endpoint";
    pub const NONCE: &[u8] = b"nonce";
    /// The settlement vault's config (one per program).
    pub const SETTLEMENT: &[u8] = b"settlement";
    /// One payer's balance of one mint: `["balance", owner, mint]`.
    pub const BALANCE: &[u8] = b"balance";
    /// The settlement vault's token account of one mint: `["settlement_vault", mint]`.
    pub const SETTLEMENT_VAULT: &[u8] = b"settlement_vault";
    /// The one batch being staged over several transactions.
    pub const STAGED_BATCH: &[u8] = b"staged_batch";
}

use solana_program::pubkey::Pubkey;

/// The upgradeable BPF loader, which owns a deployed program's `ProgramData`.
pub const BPF_LOADER_UPGRADEABLE: Pubkey =
    solana_program::pubkey!("BPFLoaderUpgradeab1e11111111111111111111111");

/// The `ProgramData` account of `program_id`, which names its upgrade
/// authority: `initialize` must be signed by that authority, so nobody can
/// initialise a freshly deployed program before its deployer does.
pub fn program_data_address(program_id: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[program_id.as_ref()], &BPF_LOADER_UPGRADEABLE).0
}

pub fn config_address(program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::CONFIG], program_id)
}

pub fn vault_address(program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::VAULT], program_id)
}

pub fn provider_address(program_id: &Pubkey, provider: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::PROVIDER, provider.as_ref()], program_id)
}

pub fn endpoint_address(
    program_id: &Pubkey,
    provider: &Pubkey,
    service_id: &[u8; 32],
) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::ENDPOINT, provider.as_ref(), service_id], program_id)
}

pub fn nonce_address(program_id: &Pubkey, nonce: &[u8; 32]) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::NONCE, nonce], program_id)
}

pub fn settlement_address(program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::SETTLEMENT], program_id)
}

pub fn balance_address(program_id: &Pubkey, owner: &Pubkey, mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::BALANCE, owner.as_ref(), mint.as_ref()], program_id)
}

pub fn settlement_vault_address(program_id: &Pubkey, mint: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::SETTLEMENT_VAULT, mint.as_ref()], program_id)
}

pub fn staged_batch_address(program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[seeds::STAGED_BATCH], program_id)
}
