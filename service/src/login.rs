//! `cairn login`: SIWE with a local key against a Cairn service; prints the
//! session token (alone on stdout, so `TOKEN=$(cairn login …)` works).

use alloy::signers::SignerSync;
use cairn_auth::{SiweMessage, Timestamp};
use cairn_config::Config;
use serde_json::{Value, json};

use crate::{CliError, cli::LoginArgs};

/// Environment variable read when no `--key-file` is given.
pub(crate) const LOGIN_KEY_VAR: &str = "CAIRN_LOGIN_KEY";

/// How long the signed message stays valid: long enough for one round trip.
const MESSAGE_LIFETIME_SECS: i64 = 300;

pub(crate) async fn login(config: &Config, args: &LoginArgs) -> Result<(), CliError> {
    let signer = crate::load_signer(args.key_file.as_deref(), LOGIN_KEY_VAR, "wallet")?;
    let base = crate::service_url(config, args.service.as_deref())?;
    let domain = match &args.domain {
        Some(domain) => domain.clone(),
        None => match (base.host_str(), base.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => {
                return Err(CliError::BadArgument {
                    flag: "--service",
                    message: format!("`{base}` has no host"),
                });
            }
        },
    };
    let http = reqwest::Client::new();
    let issued = post_json(
        &http,
        &base,
        "v1/auth/nonce",
        json!({ "domain": domain, "uri": base.as_str() }),
        "sign-in",
    )
    .await?;
    let nonce = issued["nonce"].as_str().unwrap_or_default().to_owned();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let message = SiweMessage {
        scheme: Some(base.scheme().to_owned()),
        domain,
        address: signer.address(),
        statement: Some(config.auth.statement.clone()),
        uri: base.to_string(),
        version: "1".to_owned(),
        chain_id: config.evm.chain_id,
        nonce,
        issued_at: Timestamp::from_unix(now),
        expiration_time: Some(Timestamp::from_unix(now + MESSAGE_LIFETIME_SECS)),
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    };
    let signature = signer
        .sign_hash_sync(&message.eip191_hash())
        .map_err(|e| CliError::Rejected { action: "sign-in", reason: e.to_string() })?;
    let session = post_json(
        &http,
        &base,
        "v1/auth/siwe",
        json!({
            "message": message.to_string(),
            "signature": format!("0x{}", alloy::hex::encode(signature.as_bytes())),
        }),
        "sign-in",
    )
    .await?;
    eprintln!(
        "signed in as {} until unix time {}",
        session["account"].as_str().unwrap_or_default(),
        session["expires_at"]
    );
    println!("{}", session["token"].as_str().unwrap_or_default());
    Ok(())
}

/// POSTs JSON to a Cairn service; a problem document becomes an error
/// naming its code, refusing `action`.
pub(crate) async fn post_json(
    http: &reqwest::Client,
    base: &url::Url,
    path: &str,
    body: Value,
    action: &'static str,
) -> Result<Value, CliError> {
    let url = base
        .join(path)
        .map_err(|e| CliError::BadArgument { flag: "--service", message: e.to_string() })?;
    let response = http
        .post(url.clone())
        .json(&body)
        .send()
        .await
        .map_err(|e| CliError::Unreachable { url: url.to_string(), message: e.to_string() })?;
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(CliError::Rejected {
            action,
            reason: format!(
                "{} ({status}): {}",
                value["code"].as_str().unwrap_or("unknown"),
                value["detail"].as_str().unwrap_or_default()
            ),
        });
    }
    Ok(value)
}
