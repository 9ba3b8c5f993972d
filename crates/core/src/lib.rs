#![doc = include_str!("../README.md")]

pub mod eip712;
pub mod id;
pub mod intent;
pub mod merkle;
pub mod netting;
pub mod registry;
pub mod signature;

pub use id::{AccountId, ChainId, IdError, ServiceId};
