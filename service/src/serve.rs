//! `cairn serve`: the HTTP service over the configured store and chain.

use std::path::Path;

use alloy::providers::{Provider, ProviderBuilder};
use cairn_auth::JwtKey;
use cairn_bindings::{Deployment, Registry};
use cairn_config::Config;
use cairn_store::Store;

use crate::{
    CliError,
    http::{AppState, EvmChain},
};

/// File the session-signing secret lives in when none is configured.
pub const SESSION_KEY_FILE: &str = "session.key";

/// Builds the service's state from the configuration: opens the store,
/// reads the deployment, checks the chain and loads the session key.
pub async fn state_from_config(config: &Config) -> Result<AppState, CliError> {
    let deployment = crate::read_deployment(config)?;
    let chain = evm_chain(config, &deployment).await?;
    let store = Store::open_configured(config.store.url.as_deref(), &config.data_dir).await?;
    let key_path = config
        .auth
        .session_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join(SESSION_KEY_FILE));
    let secret = load_or_create_session_key(&key_path)?;
    let jwt = JwtKey::new(&secret, config.auth.issuer.clone()).map_err(|e| {
        CliError::BadArgument { flag: "auth.session_key_file", message: e.to_string() }
    })?;
    let mut gateway = config.gateway.clone();
    gateway.pricing.asset = Some(format!("{:#x}", pricing_asset(config, &deployment)?));
    Ok(AppState::with_gateway(
        store,
        jwt,
        config.auth.clone(),
        config.service.clone(),
        vec![chain],
        gateway,
    ))
}

/// `gateway.pricing.asset`, or the deployment's stake token when unset.
fn pricing_asset(
    config: &Config,
    deployment: &Deployment,
) -> Result<alloy::primitives::Address, CliError> {
    match config.gateway.pricing.asset.as_deref() {
        None => Ok(deployment.stake_token),
        Some(text) => text.parse().map_err(|_| CliError::BadArgument {
            flag: "gateway.pricing.asset",
            message: format!("`{text}` is not an address (0x and 40 hex digits)"),
        }),
    }
}

async fn evm_chain(config: &Config, deployment: &Deployment) -> Result<EvmChain, CliError> {
    let urls = checked_rpc_urls(config, deployment).await?;
    let rpc = failover_provider(&urls);
    let min_stake =
        Registry::new(deployment.registry, &rpc).minStake().call().await.map_err(|e| {
            CliError::Unreachable { url: urls[0].to_string(), message: e.to_string() }
        })?;
    Ok(EvmChain {
        chain_id: deployment.chain_id,
        registry: deployment.registry,
        settlement: deployment.settlement,
        min_stake: alloy::primitives::U256::from(min_stake),
        rpc,
        max_batch_deltas: config.settlement.max_deltas,
    })
}

/// The http(s) URLs of `evm.rpc_urls` that answer for the deployment's
/// chain. One that is unreachable now is kept (it may come back; the
/// failover ranks it last) but one serving another chain is an error, and
/// at least one must answer.
async fn checked_rpc_urls(
    config: &Config,
    deployment: &Deployment,
) -> Result<Vec<url::Url>, CliError> {
    let urls: Vec<url::Url> = config
        .evm
        .rpc_urls
        .iter()
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .cloned()
        .collect();
    let mut unreachable = None;
    let mut answered = false;
    for url in &urls {
        let rpc = ProviderBuilder::new().connect_http(url.clone());
        match rpc.get_chain_id().await {
            Ok(chain_id) if chain_id == config.evm.chain_id && chain_id == deployment.chain_id => {
                answered = true;
            }
            Ok(actual) => {
                return Err(CliError::WrongChain {
                    url: url.to_string(),
                    expected: config.evm.chain_id,
                    actual,
                });
            }
            Err(error) => {
                eprintln!("warning: {url} does not answer now ({error}); it stays in the failover");
                unreachable.get_or_insert((url.clone(), error.to_string()));
            }
        }
    }
    if !answered {
        return Err(match unreachable {
            Some((url, message)) => CliError::Unreachable { url: url.to_string(), message },
            None => CliError::BadArgument {
                flag: "evm.rpc_urls",
                message: "no http(s) RPC URL configured".into(),
            },
        });
    }
    Ok(urls)
}

/// One provider over every URL, sending each request to one node and moving
/// to the next only when that node fails (`cairn_client::StickyTransport`).
/// The settlement submitter reads its nonce, sends and polls the receipt
/// through this provider: asking every node at once and taking the first
/// answer would mix nodes' views within one submission.
pub(crate) fn failover_provider(urls: &[url::Url]) -> alloy::providers::DynProvider {
    if let [url] = urls {
        return ProviderBuilder::new().connect_http(url.clone()).erased();
    }
    cairn_client::StickyTransport::new(urls.to_vec()).provider()
}

/// Reads the session secret (hex), creating a random one (mode 600) on
/// first start.
pub fn load_or_create_session_key(path: &Path) -> Result<Vec<u8>, CliError> {
    let bad = |message: String| CliError::BadArgument { flag: "auth.session_key_file", message };
    if !path.exists() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| bad(format!("cannot create {}: {e}", parent.display())))?;
        }
        let secret = alloy::primitives::B256::random();
        write_private(path, &alloy::hex::encode(secret))
            .map_err(|e| bad(format!("cannot write {}: {e}", path.display())))?;
        eprintln!("created a session key at {}", path.display());
    }
    let key = cairn_signer::read_key_file(path).map_err(|e| bad(e.to_string()))?;
    Ok(key.to_vec())
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

pub(crate) async fn serve(config: &Config) -> Result<(), CliError> {
    // Checked before anything is opened or asked, like the configuration.
    let prober_settings = prober_settings(config)?;
    let state = state_from_config(config).await?;
    let address = config.service.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| CliError::Listen { address, source })?;
    let local = listener.local_addr().map_err(|source| CliError::Listen { address, source })?;
    eprintln!("serving on http://{local} (API description at http://{local}/openapi.json)");
    if config.gateway.enabled {
        let quorum = &config.gateway.quorum;
        eprintln!(
            "JSON-RPC gateway at http://{local}/v1/rpc/{{chain}}: {}-of-{} agreement on {} methods, hedging {}",
            quorum.k,
            quorum.n,
            quorum.methods.len(),
            if config.gateway.hedging.enabled { "on" } else { "off" }
        );
        if config.gateway.metering.enabled {
            let pricing = &config.gateway.pricing;
            eprintln!(
                "metering signed-in wallets' calls (GET /v1/usage): read {}, heavy {}, write {} per call of {}",
                pricing.read,
                pricing.heavy,
                pricing.write,
                pricing.asset.as_deref().unwrap_or("the stake token")
            );
        }
    }
    let store = state.store.clone();
    let stopping = state.clone();
    let (stop_batcher, batcher_stopped) = tokio::sync::oneshot::channel::<()>();
    let batcher = match batcher(config, &state).await? {
        Some((pipeline, uploader)) => {
            eprintln!(
                "batcher on: close at {} intents or every {} s with at least {}; on-chain settlement {}",
                config.settlement.max_intents,
                config.settlement.window_seconds,
                config.settlement.min_intents,
                if config.settlement.onchain { "on" } else { "off" }
            );
            let bundlers: Vec<&str> = uploader.bundlers.iter().map(|b| b.base().as_str()).collect();
            let gateways: Vec<&str> = uploader.gateways.iter().map(|g| g.base().as_str()).collect();
            if !bundlers.is_empty() {
                eprintln!("receipts go to bundlers {} first", bundlers.join(", "));
            }
            eprintln!(
                "receipts go to {} (wallet {})",
                gateways.join(", "),
                uploader.wallet.address()
            );
            let tick = std::time::Duration::from_millis(config.settlement.tick_ms);
            Some(tokio::spawn(cairn_settlement::run(pipeline, Some(uploader), tick, async {
                let _ = batcher_stopped.await;
            })))
        }
        None => None,
    };
    let (stop_prober, prober_stopped) = tokio::sync::oneshot::channel::<()>();
    let prober = match prober_settings.map(|settings| prober(settings, &state)) {
        Some(prober) => {
            eprintln!(
                "prober on: every endpoint every {} ms (jitter {} ms, timeout {} ms)",
                config.prober.interval_ms, config.prober.jitter_ms, config.prober.timeout_ms
            );
            Some(tokio::spawn(prober.run(async {
                let _ = prober_stopped.await;
            })))
        }
        None => None,
    };
    let (stop_slasher, slasher_stopped) = tokio::sync::oneshot::channel::<()>();
    let slasher = match crate::slashing::slasher(config, &state).await? {
        Some(slasher) => {
            eprintln!(
                "slasher on: evidence → receipt on Arweave → order signed by {} ({:?}) → Registry.slash at {}",
                slasher.order_signer.address(),
                config.slashing.signer,
                slasher.registry
            );
            // Receipts wait in the outbox for whichever loop drains it: the
            // batcher's when it runs here, else the slasher's own.
            let uploader =
                if batcher.is_none() { Some(uploader(config, &state.store)?) } else { None };
            let tick = std::time::Duration::from_millis(config.slashing.tick_ms);
            Some(tokio::spawn(cairn_slasher::run(slasher, uploader, tick, async {
                let _ = slasher_stopped.await;
            })))
        }
        None => None,
    };
    let served = crate::http::serve(listener, state, cairn_sidecar::shutdown_signal()).await;
    let _ = stop_slasher.send(());
    if let Some(slasher) = slasher {
        let _ = slasher.await;
    }
    // A round in flight is dropped, not awaited: a probe can take up to its
    // timeout, and what it would record the next start measures again.
    let _ = stop_prober.send(());
    if let Some(prober) = prober {
        let _ = prober.await;
    }
    let _ = stop_batcher.send(());
    if let Some(batcher) = batcher {
        let _ = batcher.await;
    }
    stopping.flush_usage().await;
    served.map_err(|source| CliError::Listen { address, source })?;
    store.close().await;
    eprintln!("service stopped");
    Ok(())
}

/// The prober's settings when `prober.enabled`.
fn prober_settings(config: &Config) -> Result<Option<cairn_prober::Settings>, CliError> {
    if !config.prober.enabled {
        return Ok(None);
    }
    cairn_prober::Settings::from_config(&config.prober)
        .map(Some)
        .map_err(|e| CliError::BadArgument { flag: "prober", message: e.to_string() })
}

/// The prober `cairn serve` runs over the served registries.
fn prober(settings: cairn_prober::Settings, state: &AppState) -> cairn_prober::Prober {
    let registries = state
        .chains
        .iter()
        .map(|chain| cairn_prober::Registry { chain: chain.caip2(), min_stake: chain.min_stake })
        .collect();
    cairn_prober::Prober::new(state.store.clone(), registries, settings)
}

/// The settlement pipeline and receipt uploader `cairn serve` runs when
/// `settlement.enabled`.
async fn batcher(
    config: &Config,
    state: &AppState,
) -> Result<Option<(cairn_settlement::Pipeline, cairn_settlement::Uploader)>, CliError> {
    if !config.settlement.enabled {
        return Ok(None);
    }
    let chain = state.chains.first().ok_or_else(|| CliError::BadArgument {
        flag: "settlement.enabled",
        message: "no chain to settle on".into(),
    })?;
    let uploader = uploader(config, &state.store)?;
    let key_path = settlement_key_path(config);
    let secret = cairn_signer::read_key_file(&key_path)?;
    let receipt_signer = std::sync::Arc::new(cairn_signer::LocalSigner::from_bytes(&secret)?);
    let (settlement_signer, setup) = crate::signing::request_signer(
        config,
        config.settlement.signer,
        &key_path,
        "settlement.signer",
    )
    .await?;
    state.set_settlement_signer(setup);
    if config.settlement.onchain {
        let on_chain = cairn_bindings::Settlement::new(chain.settlement, &chain.rpc)
            .settlementSigner()
            .call()
            .await;
        crate::signing::expect_on_chain(
            "settlement.signer",
            "settlement signer",
            settlement_signer.address(),
            on_chain,
        )?;
    }
    let submitter = if config.settlement.onchain {
        let key = alloy::signers::local::PrivateKeySigner::from_bytes(
            &alloy::primitives::B256::from(secret),
        )
        .map_err(|e| CliError::Signer(cairn_signer::SignerError::InvalidKey(e.to_string())))?;
        Some(cairn_settlement::Submitter::over(
            chain.rpc.clone(),
            key,
            chain.chain_id,
            chain.settlement,
            cairn_settlement::FeePolicy {
                bump_after_secs: i64::try_from(config.settlement.bump_after_secs)
                    .unwrap_or(i64::MAX),
                bump_percent: u128::from(config.settlement.bump_percent),
            },
        ))
    } else {
        None
    };
    let pipeline = cairn_settlement::Pipeline {
        store: state.store.clone(),
        chain: chain.caip2(),
        domain: cairn_core::eip712::settlement_domain(chain.chain_id, chain.settlement),
        policy: cairn_core::netting::BatchPolicy {
            min_intents: config.settlement.min_intents,
            max_intents: config.settlement.max_intents,
            window_seconds: config.settlement.window_seconds,
            max_deltas: config.settlement.max_deltas,
        },
        receipt_signer,
        settlement_signer,
        max_receipt_bytes: config.settlement.max_receipt_bytes,
        submitter,
    };
    Ok(Some((pipeline, uploader)))
}

/// The key that signs receipts, sends settlements and, with a local
/// settlement signer, signs commitments (`settlement.signer_key_file`, else
/// `settlement.key` in the data directory); the slasher's defaults too.
pub(crate) fn settlement_key_path(config: &Config) -> std::path::PathBuf {
    config
        .settlement
        .signer_key_file
        .clone()
        .unwrap_or_else(|| config.data_dir.join("settlement.key"))
}

/// The receipt uploader: a batch settles only once its receipt is stored,
/// so the batcher does not start without somewhere to store it.
fn uploader(config: &Config, store: &Store) -> Result<cairn_settlement::Uploader, CliError> {
    let arweave = &config.arweave;
    if arweave.gateways.is_empty() {
        return Err(CliError::BadArgument {
            flag: "arweave.gateways",
            message: "settlement.enabled needs at least one Arweave gateway: a batch settles \
                      only once its receipt is stored"
                .into(),
        });
    }
    let path =
        arweave.wallet_file.clone().unwrap_or_else(|| config.data_dir.join("arweave-wallet.json"));
    let bad = |message: String| CliError::BadArgument { flag: "arweave.wallet_file", message };
    let jwk = std::fs::read_to_string(&path)
        .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    let wallet = cairn_arweave::transaction::Wallet::from_jwk(&jwk)
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let seconds = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    Ok(cairn_settlement::Uploader {
        store: store.clone(),
        bundlers: arweave.bundlers.iter().cloned().map(cairn_settlement::Bundler::new).collect(),
        gateways: arweave.gateways.iter().cloned().map(cairn_settlement::Gateway::new).collect(),
        wallet,
        initial_backoff_secs: seconds(arweave.initial_backoff_secs),
        max_backoff_secs: seconds(arweave.max_backoff_secs),
        confirm_attempts: arweave.confirm_attempts,
    })
}
