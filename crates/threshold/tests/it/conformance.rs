//! Conformance on anvil: a threshold signature over a typed request is what
//! `Registry.slash` and `Settlement.settleBatch` accept, and nothing else is
//! (`cairn_test_utils::conformance`, which every signer backend passes); and
//! the parties refuse to sign a nonce again.

use cairn_test_utils::conformance::{
    signatures_are_accepted_on_chain_and_only_for_the_message_signed, slash_request,
};
use cairn_threshold::{Policy, ThresholdError};

use crate::support::group;

#[tokio::test(flavor = "multi_thread")]
async fn threshold_signatures_are_accepted_on_chain_and_only_for_the_message_signed() {
    let (_dir, _parties, signer) =
        group(2, 3, Policy { max_slashes_per_provider: 10, ..Policy::default() }).await;
    let run = signatures_are_accepted_on_chain_and_only_for_the_message_signed(&signer).await;
    let again =
        slash_request(1, 10u128.pow(18), run.provider, run.chain_id, run.deployment.registry);
    match signer.sign_request(&again).await {
        Err(ThresholdError::Refused { reason, .. }) => {
            assert!(reason.contains("nonce 1"), "{reason}")
        }
        other => panic!("a reused nonce must be refused, got {other:?}"),
    }
}
