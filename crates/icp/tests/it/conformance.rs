//! Conformance on anvil: a signature the registry canister's signing path
//! produces, asked for through `IcpSigner`, is what `Registry.slash` and
//! `Settlement.settleBatch` accept, and only for the message signed
//! (`cairn_test_utils::conformance`, which every signer backend passes).

use cairn_icp::IcpSigner;
use cairn_signer::{RequestSigner, SignerError};
use cairn_test_utils::conformance::{
    signatures_are_accepted_on_chain_and_only_for_the_message_signed, slash_request,
};

use crate::support::{TOKEN, install};

#[tokio::test(flavor = "multi_thread")]
async fn canister_signatures_are_accepted_on_chain_and_only_for_the_message_signed() {
    let (_canister, as_service) = install();
    let signer = IcpSigner::connect(as_service).await.unwrap();
    let run = signatures_are_accepted_on_chain_and_only_for_the_message_signed(&signer).await;
    let again = slash_request(1, TOKEN, run.provider, run.chain_id, run.deployment.registry);
    match signer.sign_request(&again).await {
        Err(SignerError::Refused(reason)) => assert!(reason.contains("Nonce"), "{reason}"),
        other => panic!("a reused nonce must be refused, got {other:?}"),
    }
}
