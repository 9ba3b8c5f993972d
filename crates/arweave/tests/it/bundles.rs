use cairn_arweave::{BundleError, Tag, UnsignedItem, decode_bundle, encode_bundle};

fn items() -> Vec<cairn_arweave::DataItem> {
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x21; 32]);
    (0..4u8)
        .map(|i| {
            UnsignedItem {
                data: vec![i; 100 * usize::from(i)],
                tags: vec![Tag::new("N", i.to_string())],
                ..Default::default()
            }
            .sign_ed25519(&key)
            .unwrap()
        })
        .collect()
}

#[test]
fn bundles_round_trip_in_order() {
    let items = items();
    let bundle = encode_bundle(&items);
    assert_eq!(&bundle[..8], &4u64.to_le_bytes(), "little-endian count");
    assert_eq!(decode_bundle(&bundle, 10).unwrap(), items);
    assert_eq!(decode_bundle(&encode_bundle(&[]), 10).unwrap(), vec![]);
}

#[test]
fn broken_bundles_are_refused_with_the_reason() {
    let items = items();
    let bundle = encode_bundle(&items);
    assert_eq!(decode_bundle(&bundle, 3), Err(BundleError::TooManyItems(4, 3)));
    assert_eq!(decode_bundle(&bundle[..20], 10), Err(BundleError::Truncated("item count")));
    assert_eq!(decode_bundle(&bundle[..100], 10), Err(BundleError::Truncated("item headers")));
    assert_eq!(
        decode_bundle(&bundle[..bundle.len() - 1], 10),
        Err(BundleError::Truncated("items"))
    );
    let mut trailing = bundle.clone();
    trailing.push(0);
    assert_eq!(decode_bundle(&trailing, 10), Err(BundleError::TrailingBytes(1)));
    let mut wrong_id = bundle.clone();
    wrong_id[32 + 32] ^= 1; // first header's id
    assert_eq!(decode_bundle(&wrong_id, 10), Err(BundleError::IdMismatch(0)));
    let mut tampered = bundle.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1; // the last item's data
    assert!(matches!(decode_bundle(&tampered, 10), Err(BundleError::Item { index: 3, .. })));
    let mut huge = bundle.clone();
    huge[31] = 1; // count above 2^128
    assert_eq!(decode_bundle(&huge, 10), Err(BundleError::Oversized));
}
