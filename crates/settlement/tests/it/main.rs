//! The settlement steps against real stores (a SQLite file and a fresh
//! PostgreSQL database).

mod outbox;
mod pipeline;
mod receipt;
mod restarts;
mod upload;

/// Indexes `deployment` on `anvil` up to the head into `store`, every block
/// final at once.
pub(crate) async fn index(
    store: &cairn_store::Store,
    anvil: &alloy::node_bindings::AnvilInstance,
    deployment: &cairn_bindings::Deployment,
) {
    let settings = cairn_indexer::IndexerSettings {
        chain: "eip155:31337".into(),
        contracts: cairn_indexer::Contracts {
            registry: deployment.registry,
            settlement: deployment.settlement,
        },
        start_block: deployment.start_block,
        finality_depth: 0,
        tuning: cairn_config::IndexerConfig::default(),
    };
    cairn_indexer::Indexer::new(
        store.clone(),
        &[anvil.endpoint_url()],
        settings,
        std::sync::Arc::new(cairn_indexer::Metrics::default()),
    )
    .catch_up()
    .await
    .expect("indexed");
}
