//! An application that talks to a chain with no node URL in its code: the
//! endpoints come from a Cairn service, ranked, with failover; `--gateway`
//! sends every call through the service's gateway instead.
//!
//! ```text
//! CAIRN_SERVICE=http://127.0.0.1:8080/ cargo run -p cairn-client --example block_number -- eip155:31337 [--gateway]
//! ```

use std::sync::Arc;

use alloy::providers::Provider;
use cairn_client::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let chain = args.next().unwrap_or_else(|| "eip155:31337".to_owned());
    let through_gateway = args.any(|arg| arg == "--gateway");
    // Where Cairn is, not where a node is: the service ranks the nodes.
    let service: url::Url = std::env::var("CAIRN_SERVICE")
        .unwrap_or_else(|_| "http://127.0.0.1:8080/".to_owned())
        .parse()?;
    let client = Arc::new(Client::builder().service(service.clone()).build());
    let provider = if through_gateway {
        client.gateway_provider(&chain, service)
    } else {
        for endpoint in client.resolve(&chain, "rpc").await? {
            println!("#{} {} ({})", endpoint.rank, endpoint.url, endpoint.why);
        }
        client.evm_provider(&chain)
    };
    println!("{chain}: block {}", provider.get_block_number().await?);
    Ok(())
}
