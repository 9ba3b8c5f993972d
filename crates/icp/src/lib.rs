#![doc = include_str!("../README.md")]

pub mod agent;
pub mod canister;
pub mod error;
pub mod follower;
pub mod local;
pub mod signer;

pub use agent::{AgentCanister, AgentSettings, AgentTransport, CandidTransport, DEFAULT_TIMEOUT};
pub use cairn_registry_types as types;
pub use canister::{CallFuture, RegistryCanister};
pub use error::{IcpError, describe};
pub use follower::{EventFollower, EventPage, fetch_page};
pub use ic_agent::{Identity, identity};
pub use local::InProcessCanister;
pub use signer::{IcpSigner, batch_request, slash_request};
