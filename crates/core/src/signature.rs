//! Recovery of the address behind a 65-byte ECDSA signature over a digest.
//!
//! libsecp256k1 (the `secp256k1` crate) recovers about four times faster
//! than `k256` on this workload, and settlement verifies signatures in bulk,
//! so it is used here; single checks elsewhere may use alloy's k256 path.

use alloy_primitives::{Address, B256, keccak256};
use secp256k1::{
    Message, SECP256K1,
    ecdsa::{RecoverableSignature, RecoveryId},
};

/// Half the secp256k1 group order: an `s` above it is the malleated twin of
/// a valid signature and is refused, as Ethereum does since EIP-2.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature must be 65 bytes (r ‖ s ‖ v), got {0}")]
    Length(usize),
    #[error("signature v must be 27, 28, 0 or 1, got {0}")]
    RecoveryId(u8),
    #[error("signature s is in the upper half of the curve order (malleable)")]
    HighS,
    #[error("signature does not recover to a public key")]
    Unrecoverable,
}

/// The address that signed `digest`, from `r ‖ s ‖ v`.
pub fn recover_address(digest: &B256, signature: &[u8]) -> Result<Address, SignatureError> {
    let bytes: &[u8; 65] =
        signature.try_into().map_err(|_| SignatureError::Length(signature.len()))?;
    let v = match bytes[64] {
        27 | 28 => bytes[64] - 27,
        0 | 1 => bytes[64],
        other => return Err(SignatureError::RecoveryId(other)),
    };
    if bytes[32..64] > HALF_ORDER[..] {
        return Err(SignatureError::HighS);
    }
    let id = RecoveryId::try_from(i32::from(v)).map_err(|_| SignatureError::RecoveryId(v))?;
    let signature = RecoverableSignature::from_compact(&bytes[..64], id)
        .map_err(|_| SignatureError::Unrecoverable)?;
    let key = SECP256K1
        .recover_ecdsa(&Message::from_digest(digest.0), &signature)
        .map_err(|_| SignatureError::Unrecoverable)?;
    let uncompressed = key.serialize_uncompressed();
    Ok(Address::from_slice(&keccak256(&uncompressed[1..])[12..]))
}
