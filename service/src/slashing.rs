//! Building the slashing pipeline (`cairn_slasher`) `cairn serve` runs, and
//! `cairn slash status`.

use std::sync::Arc;

use alloy::{
    network::EthereumWallet,
    primitives::U256,
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use cairn_bindings::Registry;
use cairn_config::Config;

use crate::{CliError, http::AppState, serve::settlement_key_path};

fn bad(flag: &'static str, message: impl Into<String>) -> CliError {
    CliError::BadArgument { flag, message: message.into() }
}

fn amount(flag: &'static str, text: &str) -> Result<U256, CliError> {
    U256::from_str_radix(text, 10)
        .map_err(|_| bad(flag, format!("`{text}` is not a decimal amount of base units")))
}

/// The pipeline of the served deployment when `slashing.enabled`, checked
/// before anything runs: the order signer must be the registry's slasher,
/// or every order would be refused on chain.
pub(crate) async fn slasher(
    config: &Config,
    state: &AppState,
) -> Result<Option<cairn_slasher::Slasher>, CliError> {
    let settings = &config.slashing;
    if !settings.enabled {
        return Ok(None);
    }
    let chain =
        state.chains.first().ok_or_else(|| bad("slashing.enabled", "no chain to slash on"))?;
    if config.arweave.gateways.is_empty() {
        return Err(bad(
            "arweave.gateways",
            "slashing.enabled needs at least one Arweave gateway: a slash names its evidence \
             receipt, which must be stored first",
        ));
    }
    let schedule = cairn_slasher::Schedule {
        conflicting_answers: amount(
            "slashing.conflicting_answers_amount",
            &settings.conflicting_answers_amount,
        )?,
        quorum_mismatch: amount(
            "slashing.quorum_mismatch_amount",
            &settings.quorum_mismatch_amount,
        )?,
    };
    let local_key = settings.key_file.clone().unwrap_or_else(|| settlement_key_path(config));
    let (order_signer, setup) =
        crate::signing::request_signer(config, settings.signer, &local_key, "slashing.signer")
            .await?;
    state.set_slash_signer(setup);
    let slasher_on_chain = Registry::new(chain.registry, &chain.rpc).slasher().call().await;
    crate::signing::expect_on_chain(
        "slashing.signer",
        "slasher",
        order_signer.address(),
        slasher_on_chain,
    )?;
    let receipt_secret = cairn_signer::read_key_file(&settlement_key_path(config))?;
    let receipt_signer = Arc::new(cairn_signer::LocalSigner::from_bytes(&receipt_secret)?);
    let sender_path =
        settings.sender_key_file.clone().unwrap_or_else(|| settlement_key_path(config));
    let sender_secret = cairn_signer::read_key_file(&sender_path)?;
    let sender_key = PrivateKeySigner::from_bytes(&alloy::primitives::B256::from(sender_secret))
        .map_err(|e| CliError::Signer(cairn_signer::SignerError::InvalidKey(e.to_string())))?;
    // Nonces asked of the node for every transaction: the settlement
    // submitter may send from the same account.
    let sender = ProviderBuilder::default()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .with_chain_id(chain.chain_id)
        .wallet(EthereumWallet::from(sender_key))
        .connect_provider(chain.rpc.clone())
        .erased();
    let seconds = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    Ok(Some(cairn_slasher::Slasher {
        store: state.store.clone(),
        chain: chain.caip2(),
        chain_id: chain.chain_id,
        registry: chain.registry,
        rpc: chain.rpc.clone(),
        sender,
        receipt_signer,
        order_signer,
        schedule,
        deadline_secs: settings.deadline_secs,
        retry_secs: seconds(settings.retry_secs),
        provider_window_secs: seconds(settings.provider_window_secs),
    }))
}

/// `cairn slash status`: the service's `GET /v1/slashes`, as a table.
pub(crate) async fn status(
    config: &Config,
    args: &crate::cli::SlashStatusArgs,
) -> Result<(), CliError> {
    let service = match &args.service {
        Some(url) => url.clone(),
        None => config
            .client
            .services
            .first()
            .cloned()
            .ok_or_else(|| bad("--service", "no service given and client.services is empty"))?,
    };
    let mut url =
        service.join("v1/slashes").map_err(|e| bad("--service", format!("{service}: {e}")))?;
    url.query_pairs_mut().append_pair("limit", "200");
    if let Some(provider) = &args.provider {
        url.query_pairs_mut().append_pair("provider", provider);
    }
    let unreachable =
        |e: reqwest::Error| CliError::Unreachable { url: url.to_string(), message: e.to_string() };
    let response = reqwest::get(url.clone()).await.map_err(unreachable)?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(unreachable)?;
    if !status.is_success() {
        let detail = body["detail"].as_str().unwrap_or("no detail").to_owned();
        return Err(CliError::Rejected {
            action: "slash status",
            reason: format!("{status}: {detail}"),
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body).expect("JSON prints"));
        return Ok(());
    }
    let items = body["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!("no slash orders at {service}");
        return Ok(());
    }
    println!("{:<18} {:<44} {:<24} {:<68} note", "stage", "provider", "amount", "evidence");
    for item in &items {
        let text = |key: &str| item[key].as_str().unwrap_or("-").to_owned();
        let note = match (item["tx_hash"].as_str(), item["last_error"].as_str()) {
            (Some(tx), _) => format!("tx {tx}"),
            (None, Some(error)) => error.to_owned(),
            (None, None) => item["receipt_url"].as_str().unwrap_or("").to_owned(),
        };
        let provider = match text("provider") {
            p if p.is_empty() => format!("(operator {})", text("operator")),
            p => p,
        };
        println!(
            "{:<18} {:<44} {:<24} {:<68} {note}",
            text("stage"),
            provider,
            text("amount"),
            text("evidence_hash")
        );
    }
    Ok(())
}
