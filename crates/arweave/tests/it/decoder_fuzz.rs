//! The decoder reads bytes fetched from gateways: no input may panic it.

use cairn_arweave::{DataItem, decode_tags};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(item) = DataItem::decode(&bytes) {
            prop_assert_eq!(item.encode(), bytes, "whatever decodes re-encodes to itself");
            let _ = item.verify();
        }
    }

    #[test]
    fn arbitrary_tag_sections_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), count in 0usize..200) {
        let _ = decode_tags(&bytes, count);
    }

    /// Random edits of a valid item: decode errors or a failed verification,
    /// never a panic, and never a different item that still verifies.
    #[test]
    fn edited_items_never_verify(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let raw = tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(crate::sample_item()).encode();
        let mut changed = raw.clone();
        for (index, byte) in edits {
            let i = index.index(raw.len());
            changed[i] = byte;
        }
        prop_assume!(changed != raw);
        if let Ok(item) = DataItem::decode(&changed) {
            prop_assert!(item.verify().is_err());
        }
    }
}
