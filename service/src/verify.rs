//! `cairn verify-batch`: a settled batch checked against its receipt on
//! Arweave and against the chain, trusting neither Cairn's store nor its
//! service.

use alloy::providers::{Provider, ProviderBuilder};
use cairn_config::Config;
use cairn_settlement::Gateway;

use crate::{CliError, cli::VerifyBatchArgs};

pub(crate) async fn verify_batch(config: &Config, args: &VerifyBatchArgs) -> Result<(), CliError> {
    let deployment = crate::read_deployment(config)?;
    let gateways: Vec<Gateway> = if args.gateways.is_empty() {
        config.arweave.gateways.clone()
    } else {
        args.gateways.clone()
    }
    .into_iter()
    .map(Gateway::new)
    .collect();
    if gateways.is_empty() {
        return Err(CliError::BadArgument {
            flag: "--gateway",
            message: "no Arweave gateway: give --gateway or set arweave.gateways".into(),
        });
    }
    let url = crate::rpc_url(config, args.rpc.as_deref())?;
    let rpc = ProviderBuilder::new().connect_http(url.clone()).erased();
    let chain_id = rpc
        .get_chain_id()
        .await
        .map_err(|e| CliError::Unreachable { url: url.to_string(), message: e.to_string() })?;
    if chain_id != deployment.chain_id {
        return Err(CliError::WrongChain {
            url: url.to_string(),
            expected: deployment.chain_id,
            actual: chain_id,
        });
    }
    let report = cairn_settlement::verify_batch(
        &rpc,
        chain_id,
        deployment.settlement,
        deployment.start_block,
        &gateways,
        args.id,
    )
    .await?;
    println!(
        "batch {} settled in {} (block {}) on eip155:{chain_id}, contract {}",
        report.batch_id, report.settled_tx, report.settled_block, deployment.settlement
    );
    println!("receipt {} read from {}", report.receipt_id, report.receipt_url);
    for check in &report.checks {
        println!(
            "  {}  {:<18} {}",
            if check.passed { "ok  " } else { "FAIL" },
            check.name,
            check.detail
        );
    }
    let failed = report.checks.iter().filter(|c| !c.passed).count();
    if failed > 0 {
        return Err(CliError::VerificationFailed { batch_id: report.batch_id, failed });
    }
    println!("verified: batch {} agrees with its receipt and the chain", report.batch_id);
    Ok(())
}
