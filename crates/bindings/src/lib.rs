#![doc = include_str!("../README.md")]
// The generated constructors take as many arguments as the Solidity ones do.
#![allow(clippy::too_many_arguments)]

mod deploy;

pub use deploy::{DeployError, DeployParams, Deployment, deploy};

// Generated from the Foundry artifacts in `artifacts/` (`scripts/bindings`
// writes them; `scripts/bindings --check` fails when they drift).
alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Registry,
    "artifacts/Registry.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    Settlement,
    "artifacts/Settlement.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    DevToken,
    "artifacts/DevToken.json"
);

// Never deployed: the service runs its creation code in an `eth_call` to
// check ERC-1271 and ERC-6492 signatures (see the contract's comment).
alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    SignatureValidator,
    "artifacts/SignatureValidator.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    DevWallet,
    "artifacts/DevWallet.json"
);

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug, PartialEq, Eq)]
    DevWalletFactory,
    "artifacts/DevWalletFactory.json"
);

// The contracts' structs and `cairn-core`'s EIP-712 twins are one shape
// (the differential test checks their hashes); these conversions keep call
// sites from copying fields.

impl From<&cairn_core::eip712::Slash> for Registry::Slash {
    fn from(s: &cairn_core::eip712::Slash) -> Self {
        Self {
            provider: s.provider,
            amount: s.amount,
            reason: s.reason,
            evidenceHash: s.evidenceHash,
            receiptId: s.receiptId,
            nonce: s.nonce,
            deadline: s.deadline,
        }
    }
}

impl From<&cairn_core::eip712::BatchCommitment> for Settlement::BatchCommitment {
    fn from(c: &cairn_core::eip712::BatchCommitment) -> Self {
        Self {
            batchId: c.batchId,
            prevHash: c.prevHash,
            windowStart: c.windowStart,
            windowEnd: c.windowEnd,
            intentsRoot: c.intentsRoot,
            deltasRoot: c.deltasRoot,
            intentCount: c.intentCount,
            deltaCount: c.deltaCount,
            receiptId: c.receiptId,
        }
    }
}

impl From<&cairn_core::eip712::Delta> for Settlement::Delta {
    fn from(d: &cairn_core::eip712::Delta) -> Self {
        Self { account: d.account, asset: d.asset, amount: d.amount }
    }
}
