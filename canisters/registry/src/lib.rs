#![doc = include_str!("../README.md")]

pub mod env;
pub mod memory;
pub mod names;
pub mod providers;
pub mod signer;
pub mod state;

pub use cairn_registry_types as types;
pub use env::{Caller, Clock, EcdsaSigner, Env, StakeLedger};
pub use providers::add_stake;
pub use signer::{ethereum_address, public_key, sign_batch, sign_slash};
pub use state::{Dump, State};
