//! `cairn discover`: ranked endpoints for a chain, from the configured Cairn
//! services or, when none answers, from the registry on chain.

use std::time::Duration;

use cairn_bindings::Deployment;
use cairn_client::{Client, Source};
use cairn_config::Config;

use crate::{CliError, cli::DiscoverArgs};

pub(crate) async fn discover(config: &Config, args: &DiscoverArgs) -> Result<(), CliError> {
    args.chain
        .parse::<cairn_core::ChainId>()
        .map_err(|e| CliError::BadArgument { flag: "CHAIN", message: e.to_string() })?;
    let mut builder = Client::builder()
        .services(config.client.services.iter().cloned())
        .ttl(Duration::from_millis(config.client.cache_ttl_ms));
    let deployment_path = config.deployment_path();
    if deployment_path.exists()
        && let Ok(rpc) = crate::rpc_url(config, None)
    {
        let deployment = Deployment::read(&deployment_path)?;
        builder = builder.registry_fallback(rpc, deployment.registry, deployment.start_block);
    }
    let resolved = builder.build().resolve_with_source(&args.chain, &args.kind).await?;
    match &resolved.source {
        Source::Service(url) => eprintln!("from Cairn service {url}"),
        Source::Registry { rpc, registry } => {
            eprintln!("no Cairn service answered; read registry {registry} through {rpc}")
        }
    }
    // A script asking for endpoints learns from the exit status that there
    // are none; `--json` still prints the empty list on stdout.
    let none = || CliError::NoEndpoints { chain: args.chain.clone(), kind: args.kind.clone() };
    if args.json {
        let items: Vec<serde_json::Value> = resolved
            .endpoints
            .iter()
            .map(|e| {
                serde_json::json!({
                    "rank": e.rank, "url": e.url, "chain": e.chain, "kind": e.kind,
                    "provider": e.provider, "score": e.score, "why": e.why,
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(items));
        return if resolved.endpoints.is_empty() { Err(none()) } else { Ok(()) };
    }
    if resolved.endpoints.is_empty() {
        return Err(none());
    }
    for e in &resolved.endpoints {
        println!("{:>3}  {:<48}  score {:.4}  {}", e.rank, e.url, e.score, e.provider);
        println!("     {}", e.why);
    }
    Ok(())
}
