//! The signers `cairn serve` asks for slash orders and batch commitments:
//! one local key, or the threshold group of `[threshold]`, checked against
//! the address the contract expects before anything runs.

use std::{path::Path, sync::Arc};

use alloy::primitives::Address;
use cairn_config::{Config, SignerKind};
use cairn_threshold::{GroupConfig, RequestSigner, ThresholdSigner, read_group_key};

use crate::{CliError, http::SignerSetup};

fn bad(flag: &'static str, message: impl Into<String>) -> CliError {
    CliError::BadArgument { flag, message: message.into() }
}

/// A typed-request signer of `kind`: the key at `local_key` for `local`,
/// the `[threshold]` group for `threshold`. `role` names the config key
/// that chose it, for errors.
pub(crate) fn request_signer(
    config: &Config,
    kind: SignerKind,
    local_key: &Path,
    role: &'static str,
) -> Result<(Arc<dyn RequestSigner>, SignerSetup), CliError> {
    match kind {
        SignerKind::Local => {
            let secret = cairn_signer::read_key_file(local_key)?;
            let signer = cairn_signer::LocalSigner::from_bytes(&secret)?;
            let setup = SignerSetup {
                kind: "local",
                address: RequestSigner::address(&signer),
                group: None,
            };
            Ok((Arc::new(signer), setup))
        }
        SignerKind::Threshold => {
            let threshold = &config.threshold;
            let group = threshold.group_file.as_ref().ok_or_else(|| {
                bad(
                    "threshold.group_file",
                    format!("{role} = \"threshold\" needs the group.toml of `cairn signer init`"),
                )
            })?;
            let key = threshold.group_key_file.as_ref().ok_or_else(|| {
                bad(
                    "threshold.group_key_file",
                    format!(
                        "{role} = \"threshold\" needs the group key `cairn signer keygen` wrote"
                    ),
                )
            })?;
            let group = GroupConfig::read(group)?;
            let signer = ThresholdSigner::new(group.clone(), read_group_key(key)?)?;
            let setup = SignerSetup {
                kind: "threshold",
                address: RequestSigner::address(&signer),
                group: Some(group),
            };
            Ok((Arc::new(signer), setup))
        }
    }
}

/// Refuses a signer whose address is not the one the contract checks
/// signatures against: every order or batch it signed would revert.
pub(crate) fn expect_on_chain(
    role: &'static str,
    what: &str,
    signer: Address,
    on_chain: Address,
) -> Result<(), CliError> {
    if signer == on_chain {
        return Ok(());
    }
    Err(bad(role, format!("the signer's address {signer} is not the contract's {what} {on_chain}")))
}
