//! The commitment decoder takes bytes from outside (receipts, calldata):
//! arbitrary input must give an error, never a panic, and every encoded
//! commitment must decode to itself.

use alloy_primitives::B256;
use alloy_sol_types::SolValue;
use cairn_core::eip712::{BatchCommitment, Delta};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn arbitrary_bytes_never_panic_the_decoders(bytes in prop::collection::vec(any::<u8>(), 0..700)) {
        let _ = BatchCommitment::abi_decode(&bytes);
        let _ = BatchCommitment::abi_decode_validate(&bytes);
        let _ = <Vec<Delta>>::abi_decode(&bytes);
    }

    #[test]
    fn commitments_round_trip(batch_id: u64, window: (u64, u64), counts: (u32, u32), seeds: [u8; 4]) {
        let commitment = BatchCommitment {
            batchId: batch_id,
            prevHash: B256::repeat_byte(seeds[0]),
            windowStart: window.0,
            windowEnd: window.1,
            intentsRoot: B256::repeat_byte(seeds[1]),
            deltasRoot: B256::repeat_byte(seeds[2]),
            intentCount: counts.0,
            deltaCount: counts.1,
            receiptId: B256::repeat_byte(seeds[3]),
        };
        let encoded = commitment.abi_encode();
        prop_assert_eq!(BatchCommitment::abi_decode_validate(&encoded).unwrap(), commitment);
        // A truncated encoding is refused.
        prop_assert!(BatchCommitment::abi_decode(&encoded[..encoded.len() - 1]).is_err());
    }
}
