//! What a call to the registry canister can end in besides its answer.

use cairn_registry_types::RegistryError;
use cairn_signer::SignerError;

/// A failed call to the registry canister. Only [`IcpError::Canister`] is
/// the canister's own verdict; everything else means its answer was never
/// seen, so a caller may retry.
#[derive(Debug, thiserror::Error)]
pub enum IcpError {
    /// The canister ran the call and refused it with one of its stable codes.
    #[error("canister refused: {}", describe(.0))]
    Canister(RegistryError),
    /// The replica could not be reached, or the call did not finish in time.
    #[error("replica unavailable: {0}")]
    Transport(String),
    /// The replica answered that the canister rejected or trapped on the
    /// message (stopped, out of cycles, a panic): not a policy decision.
    #[error("canister rejected the message (code {code}): {message}")]
    Rejected { code: String, message: String },
    /// The reply did not decode as the type `registry.did` promises.
    #[error("cannot decode the canister's reply to {method}: {reason}")]
    Candid { method: &'static str, reason: String },
    /// The client was set up wrongly (bad URL, canister id, identity).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The event log skipped or repeated an id: a follower must not go on
    /// from a log it cannot account for.
    #[error("event log out of order: expected event {expected}, got {got}")]
    EventGap { expected: u64, got: u64 },
}

impl From<RegistryError> for IcpError {
    fn from(error: RegistryError) -> Self {
        Self::Canister(error)
    }
}

impl From<IcpError> for SignerError {
    /// The canister's policy verdicts become `Refused` with its reason; a
    /// failed management-canister signing call and everything about the
    /// transport are `Unavailable`, which callers retry.
    fn from(error: IcpError) -> Self {
        match error {
            IcpError::Canister(RegistryError::Signing(reason)) => {
                SignerError::Unavailable(format!("threshold ECDSA call failed: {reason}"))
            }
            IcpError::Canister(refusal) => SignerError::Refused(describe(&refusal)),
            other => SignerError::Unavailable(other.to_string()),
        }
    }
}

/// The canister's refusal as text that starts with its stable code (the
/// candid variant's name), so logs and callers can match on it.
pub fn describe(error: &RegistryError) -> String {
    match error {
        RegistryError::Unauthorised => "Unauthorised: the caller may not do this".into(),
        RegistryError::InvalidArgument(why) => format!("InvalidArgument: {why}"),
        RegistryError::DigestMismatch { rebuilt } => format!(
            "DigestMismatch: the canister rebuilt 0x{} from the request's fields",
            hex::encode(rebuilt)
        ),
        RegistryError::NonceUsed => "NonceUsed: this slash nonce was already signed".into(),
        RegistryError::AmountOverPolicy { max } => {
            format!("AmountOverPolicy: the amount must be between 1 and {max}")
        }
        RegistryError::ReasonNotAllowed => {
            "ReasonNotAllowed: the reason code is not in the signing policy".into()
        }
        RegistryError::MissingEvidence => {
            "MissingEvidence: the evidence hash or receipt id is zero".into()
        }
        RegistryError::RateLimited { retry_after_secs } => format!(
            "RateLimited: too many slashes for this provider; retry after {retry_after_secs} s"
        ),
        RegistryError::BadDeadline => {
            "BadDeadline: the deadline is past or farther out than the policy allows".into()
        }
        RegistryError::BatchOutOfOrder { expected_batch_id, expected_prev_hash } => format!(
            "BatchOutOfOrder: expected batch {expected_batch_id} after 0x{}",
            hex::encode(expected_prev_hash)
        ),
        RegistryError::InvalidName(why) => format!("InvalidName: {why}"),
        RegistryError::NameTaken => "NameTaken: the name is claimed and not expired".into(),
        RegistryError::NameExpired => "NameExpired: the name has expired".into(),
        RegistryError::NameNotFound => "NameNotFound: no such name".into(),
        RegistryError::BadSignature => "BadSignature: the claim's signature does not verify".into(),
        RegistryError::ClaimExpired => "ClaimExpired: the signed claim is no longer valid".into(),
        RegistryError::InvalidRecord(why) => format!("InvalidRecord: {why}"),
        RegistryError::AlreadyRegistered => "AlreadyRegistered: provider already registered".into(),
        RegistryError::NotRegistered => "NotRegistered: no such provider".into(),
        RegistryError::EndpointNotFound => "EndpointNotFound: no such endpoint".into(),
        RegistryError::TooManyEndpoints => {
            "TooManyEndpoints: the provider's limit is reached".into()
        }
        RegistryError::NoStakeLedger => "NoStakeLedger: the canister has no stake ledger".into(),
        RegistryError::Ledger(why) => format!("Ledger: {why}"),
        RegistryError::Signing(why) => format!("Signing: {why}"),
    }
}
