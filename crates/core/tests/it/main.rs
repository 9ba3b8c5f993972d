//! Integration tests of cairn-core, one module per behaviour.

mod answers;
mod codec_fuzz;
mod eip712_vectors;
mod evidence_records;
mod ids;
mod intent_verification;
mod merkle_proofs;
mod netting_properties;
mod ratio;
mod registry_model;
mod signatures;

use alloy_primitives::Address;

/// A distinct, non-zero address per small integer.
pub(crate) fn addr(n: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&(n + 1).to_be_bytes());
    Address::from(bytes)
}
