//! The program's errors, returned as `ProgramError::Custom(code)`. Codes are
//! stable: clients and the indexer match on the number.

use solana_program::program_error::ProgramError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[repr(u32)]
pub enum CairnError {
    #[error("instruction data does not decode")]
    InvalidInstruction = 0,
    #[error("a required signer did not sign")]
    MissingSigner = 1,
    #[error("an account is not at the address its seeds give")]
    WrongAddress = 2,
    #[error("an account is owned by the wrong program")]
    WrongOwner = 3,
    #[error("the account is already initialised")]
    AlreadyInitialized = 4,
    #[error("the account is not initialised or holds another kind")]
    NotInitialized = 5,
    #[error("a token account has the wrong mint or owner")]
    WrongTokenAccount = 6,
    #[error("stake is below the registry minimum")]
    BelowMinimum = 7,
    #[error("the caller is not the provider's operator")]
    NotOperator = 8,
    #[error("endpoint record is invalid")]
    InvalidEndpoint = 9,
    #[error("amount is zero")]
    ZeroAmount = 10,
    #[error("unbond exceeds bonded stake")]
    UnbondExceedsStake = 11,
    #[error("unbond leaves stake below the minimum")]
    UnbondLeavesBelowMinimum = 12,
    #[error("nothing is unbonding")]
    NothingUnbonding = 13,
    #[error("the unbonding delay has not passed")]
    StillUnbonding = 14,
    #[error("the slash order is signed by another key")]
    NotSlasher = 15,
    #[error("the slash order is past its deadline")]
    SlashExpired = 16,
    #[error("the slash nonce is used")]
    NonceUsed = 17,
    #[error("the slash exceeds slashable stake")]
    SlashExceedsSlashable = 18,
    #[error("arithmetic overflow")]
    Overflow = 19,
    #[error("the same account is passed twice where two are required")]
    DuplicateAccount = 20,
    #[error("the signature is malformed or high-s")]
    InvalidSignature = 21,
    #[error("the provider still has endpoints")]
    EndpointsRemain = 22,
    #[error("the account is not writable")]
    NotWritable = 23,
    #[error("the authority is not the program's upgrade authority")]
    NotUpgradeAuthority = 24,
    #[error("the mint is not the settlement vault's")]
    MintNotAllowed = 25,
    #[error("the amount exceeds the available balance")]
    InsufficientBalance = 26,
    #[error("no withdrawal is pending")]
    NoPendingWithdrawal = 27,
    #[error("the withdrawal delay has not passed")]
    WithdrawalNotReady = 28,
    #[error("the batch id is not the last settled id plus one")]
    WrongBatchId = 29,
    #[error("the batch does not name the last settled commitment")]
    WrongPrevHash = 30,
    #[error("the number of deltas or balance accounts is not the declared delta count")]
    WrongDeltaCount = 31,
    #[error("deltas are not strictly ordered by (mint, owner)")]
    DeltasNotSorted = 32,
    #[error("a delta is zero")]
    ZeroDelta = 33,
    #[error("the deltas of a mint do not sum to zero")]
    UnbalancedMint = 34,
    #[error("the deltas root is not the commitment's")]
    WrongDeltasRoot = 35,
    #[error("a delta would take a balance below zero")]
    Overdraft = 36,
    #[error("the batch window ends before it starts")]
    BadWindow = 37,
    #[error("the batch is signed by another key than the settlement signer")]
    NotSettlementSigner = 38,
    #[error("a staged batch is open")]
    StagedBatchOpen = 39,
    #[error("the staged batch is not in the phase this instruction needs")]
    WrongStage = 40,
    #[error("the signer is not the vault's authority")]
    NotAuthority = 41,
}

impl From<CairnError> for ProgramError {
    fn from(e: CairnError) -> Self {
        ProgramError::Custom(e as u32)
    }
}
