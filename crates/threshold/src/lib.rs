#![doc = include_str!("../README.md")]

mod config;
mod coordinator;
pub mod harness;
mod identity;
mod net;
mod party;
mod policy;
mod share;

pub use cairn_signer::{RequestSigner, SignedCommitment, SigningRequest};
pub use config::{GroupConfig, PartyConfig, PartyEntry};
pub use coordinator::{KeygenOutcome, ThresholdSigner, keygen};
pub use identity::{Identity, read_identity};
pub use net::{
    Envelope, Frame, PartyStatus, Reply, SessionKind, SessionOutcome, request_reply, send_frame,
};
pub use party::{Party, RunningParty};
pub use policy::{Policy, PolicyRecord, check_request};
pub use share::{
    GroupKey, Primes, generate_primes, read_group_key, read_primes, read_share, write_group_key,
    write_private_file, write_share,
};

/// Everything that goes wrong in a party or a coordinator.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    /// Fewer than `t` parties answered: retry later.
    #[error("threshold signer unavailable: {0}")]
    Unavailable(String),
    /// A party checked the request against its own policy and will not sign.
    #[error("party {party} refused: {reason}")]
    Refused { party: u16, reason: String },
    /// The protocol started but did not finish (a party stopped, sent
    /// garbage, or timed out). `party` names the culprit when it is known.
    #[error("signing session aborted{}: {reason}", party.map(|p| format!(" by party {p}")).unwrap_or_default())]
    Aborted { party: Option<u16>, reason: String },
    #[error("config: {0}")]
    Config(String),
    #[error("{path}: {source}")]
    File {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is readable by other users (mode {mode:o}); restrict it to the owner (chmod 600)"
    )]
    Permissions { path: std::path::PathBuf, mode: u32 },
    #[error("{path}: {reason}")]
    Malformed { path: std::path::PathBuf, reason: String },
    #[error("network: {0}")]
    Network(String),
}

impl From<ThresholdError> for cairn_signer::SignerError {
    fn from(e: ThresholdError) -> Self {
        match e {
            ThresholdError::Refused { .. } => Self::Refused(e.to_string()),
            // An aborted session may succeed with another set of parties or later.
            _ => Self::Unavailable(e.to_string()),
        }
    }
}

/// Unix seconds now.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
