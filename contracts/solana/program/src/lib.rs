//! Cairn's registry as a Solana program: providers stake SPL tokens into a
//! program-owned vault, list endpoints, unbond and withdraw after a delay,
//! and are slashed by orders the slasher's Ethereum key signs over the same
//! EIP-712 `Slash` as the EVM registry; payers deposit into a settlement
//! vault whose balances move by netted batches the settlement key signs over
//! the EVM `BatchCommitment`. Layouts, seeds, events and errors
//! live in `cairn-solana-interface`; this crate is only the processor.
//!
//! Only `core`/`alloc` APIs are used, so `cargo build-sbf --features
//! bpf-entrypoint` builds it for the chain; here it runs natively under
//! solana-program-test.

use cairn_solana_interface::instruction::RegistryInstruction;
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

mod checks;
mod instructions;

#[cfg(feature = "bpf-entrypoint")]
solana_program::entrypoint!(process_instruction);

pub fn process_instruction(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    data: &[u8],
) -> ProgramResult {
    match RegistryInstruction::unpack(data)? {
        RegistryInstruction::Initialize { min_stake, unbonding_delay, slasher } => {
            instructions::initialize::process(
                program_id,
                accounts,
                min_stake,
                unbonding_delay,
                slasher,
            )
        }
        RegistryInstruction::Register { amount, operator } => {
            instructions::register::process(program_id, accounts, amount, operator)
        }
        RegistryInstruction::AddEndpoint { chain, kind, url, metadata_hash } => {
            instructions::add_endpoint::process(
                program_id,
                accounts,
                &chain,
                &kind,
                &url,
                metadata_hash,
            )
        }
        RegistryInstruction::RemoveEndpoint { service_id } => {
            instructions::remove_endpoint::process(program_id, accounts, service_id)
        }
        RegistryInstruction::Unbond { amount } => {
            instructions::unbond::process(program_id, accounts, amount)
        }
        RegistryInstruction::Withdraw => instructions::withdraw::process(program_id, accounts),
        RegistryInstruction::Slash { provider, order, signature, recovery_id } => {
            instructions::slash::process(
                program_id,
                accounts,
                &provider,
                &order,
                &signature,
                recovery_id,
            )
        }
        RegistryInstruction::InitializeVault { signer, withdrawal_delay } => {
            instructions::initialize_vault::process(program_id, accounts, signer, withdrawal_delay)
        }
        RegistryInstruction::OpenBalance { owner } => {
            instructions::open_balance::process(program_id, accounts, &owner)
        }
        RegistryInstruction::Deposit { amount } => {
            instructions::deposit::process(program_id, accounts, amount)
        }
        RegistryInstruction::RequestWithdrawal { amount } => {
            instructions::request_withdrawal::process(program_id, accounts, amount)
        }
        RegistryInstruction::WithdrawBalance => {
            instructions::withdraw_balance::process(program_id, accounts)
        }
        RegistryInstruction::SettleBatch { commitment, signature, recovery_id, deltas } => {
            instructions::settle_batch::process(
                program_id,
                accounts,
                &commitment,
                &signature,
                recovery_id,
                &deltas,
            )
        }
        RegistryInstruction::BeginBatch { commitment, signature, recovery_id } => {
            instructions::begin_batch::process(
                program_id,
                accounts,
                &commitment,
                &signature,
                recovery_id,
            )
        }
        RegistryInstruction::StageDeltas { deltas } => {
            instructions::stage_deltas::process(program_id, accounts, &deltas)
        }
        RegistryInstruction::FinalizeBatch => {
            instructions::finalize_batch::process(program_id, accounts)
        }
        RegistryInstruction::ApplyStaged => {
            instructions::apply_staged::process(program_id, accounts)
        }
        RegistryInstruction::CancelBatch => {
            instructions::cancel_batch::process(program_id, accounts)
        }
    }
}
