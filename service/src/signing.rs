//! The signers `cairn serve` asks for slash orders and batch commitments:
//! one local key, the threshold group of `[threshold]`, or the ICP registry
//! canister of `[icp]`, checked against the address the contract expects
//! before anything runs.

use std::{path::Path, sync::Arc};

use alloy::primitives::Address;
use cairn_config::{Config, SignerKind};
use cairn_threshold::{GroupConfig, RequestSigner, ThresholdSigner, read_group_key};

use crate::{CliError, http::SignerSetup};

fn bad(flag: &'static str, message: impl Into<String>) -> CliError {
    CliError::BadArgument { flag, message: message.into() }
}

/// A typed-request signer of `kind`: the key at `local_key` for `local`,
/// the `[threshold]` group for `threshold`, the `[icp]` canister for `icp`.
/// `role` names the config key that chose it, for errors.
pub(crate) async fn request_signer(
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
        SignerKind::Icp => {
            let icp = &config.icp;
            let needs = |flag: &'static str, what: &str| {
                bad(flag, format!("{role} = \"icp\" needs {what}"))
            };
            let url = icp
                .replica_url
                .as_ref()
                .ok_or_else(|| needs("icp.replica_url", "the replica or boundary node to call"))?;
            let canister_id = icp
                .canister_id
                .as_deref()
                .ok_or_else(|| needs("icp.canister_id", "the registry canister's principal"))?;
            let identity_file = icp.identity_file.as_deref().ok_or_else(|| {
                needs("icp.identity_file", "the service's secp256k1 identity (PEM)")
            })?;
            let settings = cairn_icp::AgentSettings {
                replica_url: url.as_str(),
                canister_id,
                identity_file,
                timeout: std::time::Duration::from_millis(icp.timeout_ms),
                fetch_root_key: icp.fetch_root_key,
            };
            let unreachable = |e: cairn_icp::IcpError| match e {
                cairn_icp::IcpError::Config(message) => bad("icp", message),
                other => CliError::Unreachable { url: url.to_string(), message: other.to_string() },
            };
            let canister =
                cairn_icp::AgentCanister::connect(&settings).await.map_err(unreachable)?;
            let signer =
                cairn_icp::IcpSigner::connect(Arc::new(canister)).await.map_err(unreachable)?;
            let setup =
                SignerSetup { kind: "icp", address: RequestSigner::address(&signer), group: None };
            Ok((Arc::new(signer), setup))
        }
    }
}

/// Refuses a signer whose address is not the one the contract checks
/// signatures against (`on_chain`, as the contract's getter answered):
/// every order or batch it signed would revert.
pub(crate) fn expect_on_chain(
    role: &'static str,
    what: &str,
    signer: Address,
    on_chain: Result<Address, alloy::contract::Error>,
) -> Result<(), CliError> {
    let on_chain = on_chain.map_err(|e| CliError::Unreachable {
        url: "evm.rpc_urls".into(),
        message: e.to_string(),
    })?;
    if signer == on_chain {
        return Ok(());
    }
    Err(bad(role, format!("the signer's address {signer} is not the contract's {what} {on_chain}")))
}
