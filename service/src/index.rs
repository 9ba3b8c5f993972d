//! `cairn index`.

use std::sync::Arc;

use cairn_config::Config;
use cairn_indexer::{Contracts, Indexer, IndexerSettings, Metrics};
use cairn_store::Store;

use crate::{CliError, cli::IndexArgs};

pub(crate) async fn index(config: &Config, args: &IndexArgs) -> Result<(), CliError> {
    let path = config.deployment_path();
    let deployment = crate::read_deployment(config)?;
    if deployment.chain_id != config.evm.chain_id {
        return Err(CliError::WrongChain {
            url: path.display().to_string(),
            expected: config.evm.chain_id,
            actual: deployment.chain_id,
        });
    }
    let store = Store::open_configured(config.store.url.as_deref(), &config.data_dir).await?;
    let chain = format!("eip155:{}", config.evm.chain_id);
    let settings = IndexerSettings {
        chain: chain.clone(),
        contracts: Contracts { registry: deployment.registry, settlement: deployment.settlement },
        start_block: deployment.start_block,
        finality_depth: config.evm.finality_depth,
        tuning: config.indexer.clone(),
    };
    let metrics = Arc::new(Metrics::default());
    let mut indexer = Indexer::new(store.clone(), &config.evm.rpc_urls, settings, metrics.clone());
    eprintln!(
        "indexing {chain} (registry {}, settlement {}) into {:?}",
        deployment.registry,
        deployment.settlement,
        store.backend()
    );
    if args.once {
        let head = indexer.catch_up().await?;
        let events = metrics.events.load(std::sync::atomic::Ordering::Relaxed);
        println!("indexed {chain} to block {head} ({events} events)");
    } else {
        let listener = tokio::net::TcpListener::bind(config.indexer.metrics_listen)
            .await
            .map_err(|e| CliError::Listen { address: config.indexer.metrics_listen, source: e })?;
        eprintln!("metrics at http://{}/metrics", config.indexer.metrics_listen);
        let metrics_chain = chain.clone();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let (metrics, chain) = (metrics.clone(), metrics_chain.clone());
                async move { metrics.render(&chain) }
            }),
        );
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let result = indexer
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await;
        server.abort();
        result?;
        eprintln!("indexer stopped");
    }
    store.close().await;
    Ok(())
}
