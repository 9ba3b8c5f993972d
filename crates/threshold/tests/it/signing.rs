//! 2-of-3 and 3-of-5 signing over loopback, with parties down.

use alloy_primitives::Address;
use cairn_signer::{Signer, SignerError};
use cairn_threshold::{Policy, RequestSigner, ThresholdError};

use crate::support::{REGISTRY, group, recover, slash};

#[tokio::test(flavor = "multi_thread")]
async fn two_of_three_signs_with_one_party_down() {
    let (_dir, mut parties, signer) = group(2, 3, Policy::default()).await;
    parties.stop(0);
    let request = slash(1, Address::repeat_byte(0x01), 31337, REGISTRY);
    let signature = signer.sign_request(&request).await.unwrap();
    assert_eq!(recover(&signature, request.digest()), signer.group_key().address);
    // The same through the trait the service holds.
    let request = slash(2, Address::repeat_byte(0x02), 31337, REGISTRY);
    let signature = RequestSigner::sign_request(&signer, &request).await.unwrap();
    assert_eq!(recover(&signature, request.digest()), Signer::address(&signer));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_parties_down_is_unavailable() {
    let (_dir, mut parties, signer) = group(2, 3, Policy::default()).await;
    parties.stop(0);
    parties.stop(2);
    let request = slash(1, Address::repeat_byte(0x01), 31337, REGISTRY);
    let err = signer.sign_request(&request).await.unwrap_err();
    assert!(matches!(err, ThresholdError::Unavailable(_)), "{err}");
    let err = RequestSigner::sign_request(&signer, &request).await.unwrap_err();
    assert!(matches!(err, SignerError::Unavailable(_)), "{err}");
    // Back up, the same request signs: nothing was recorded for it.
    parties.restart(2).await.unwrap();
    let signature = signer.sign_request(&request).await.unwrap();
    assert_eq!(recover(&signature, request.digest()), signer.group_key().address);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opaque_digest_is_refused() {
    let (_dir, _parties, signer) = group(2, 3, Policy::default()).await;
    let err = signer.sign_digest(alloy_primitives::B256::repeat_byte(7)).await.unwrap_err();
    assert!(matches!(err, SignerError::Refused(_)), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_of_five_signs_with_two_parties_down() {
    let (_dir, mut parties, signer) = group(3, 5, Policy::default()).await;
    parties.stop(1);
    parties.stop(3);
    let request = slash(1, Address::repeat_byte(0x01), 31337, REGISTRY);
    let signature = signer.sign_request(&request).await.unwrap();
    assert_eq!(recover(&signature, request.digest()), signer.group_key().address);
    parties.stop(4);
    let err = signer
        .sign_request(&slash(2, Address::repeat_byte(0x02), 31337, REGISTRY))
        .await
        .unwrap_err();
    assert!(matches!(err, ThresholdError::Unavailable(_)), "{err}");
}
