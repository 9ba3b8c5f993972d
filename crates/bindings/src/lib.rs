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
