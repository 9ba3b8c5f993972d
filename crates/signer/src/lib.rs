#![doc = include_str!("../README.md")]

mod local;
mod request;

use std::{fmt, future::Future, pin::Pin};

use alloy_primitives::{Address, B256};
use alloy_sol_types::{Eip712Domain, SolStruct};

pub use cairn_core::signature::SignatureError;
pub use local::{LocalSigner, parse_key_hex, read_key_file};
pub use request::{RequestSigner, SignedCommitment, SigningRequest};

/// A secp256k1 signature in Ethereum's form: `r ‖ s ‖ v`, `s` in the lower
/// half of the group order, `v` 27 or 28.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature {
    pub r: B256,
    pub s: B256,
    pub v: u8,
}

impl Signature {
    pub fn to_bytes(&self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[..32].copy_from_slice(self.r.as_slice());
        out[32..64].copy_from_slice(self.s.as_slice());
        out[64] = self.v;
        out
    }

    /// Reads `r ‖ s ‖ v` (`v` 27/28, or 0/1 as some tools write it).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignatureError> {
        let bytes: &[u8; 65] = bytes.try_into().map_err(|_| SignatureError::Length(bytes.len()))?;
        let v = match bytes[64] {
            0 | 1 => bytes[64] + 27,
            27 | 28 => bytes[64],
            other => return Err(SignatureError::RecoveryId(other)),
        };
        Ok(Self { r: B256::from_slice(&bytes[..32]), s: B256::from_slice(&bytes[32..64]), v })
    }

    /// The address whose key made this signature over `digest`. High-`s`
    /// signatures are refused, as the contracts refuse them.
    pub fn recover(&self, digest: B256) -> Result<Address, SignatureError> {
        cairn_core::signature::recover_address(&digest, &self.to_bytes())
    }
}

/// `0x`-prefixed hex of the 65 bytes, as wallets and `cast` print it.
impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("0x{}", hex::encode(self.to_bytes())))
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let bytes = hex::decode(text.trim_start_matches("0x")).map_err(serde::de::Error::custom)?;
        Self::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(0x{})", hex::encode(self.to_bytes()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The backend cannot be reached or has too few parties; retrying later
    /// may succeed.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    /// The backend looked at the request and will not sign it.
    #[error("signer refused: {0}")]
    Refused(String),
    #[error("invalid signing key: {0}")]
    InvalidKey(String),
    #[error("cannot read key file {path}: {source}")]
    KeyFile {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "key file {path} is readable by other users (mode {mode:o}); restrict it to the owner (chmod 600)"
    )]
    KeyFilePermissions { path: std::path::PathBuf, mode: u32 },
}

/// A future returned by [`Signer::sign_digest`]: boxed so that `dyn Signer`
/// works, and `Send` so a service can await it on any worker.
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<Signature, SignerError>> + Send + 'a>>;

/// Something that holds (a share of) an Ethereum key and signs 32-byte
/// digests with it. Backends may be slow and remote (threshold parties, an
/// ICP canister): callers await, and must treat `Unavailable` as retryable.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The uncompressed SEC1 public key (`0x04 ‖ x ‖ y`). ANS-104 receipts
    /// carry it as their owner, inside the signed bytes, so it must be
    /// known before signing.
    fn public_key(&self) -> [u8; 65];

    /// The address signatures recover to.
    fn address(&self) -> Address {
        address_of(&self.public_key())
    }

    fn sign_digest(&self, digest: B256) -> SignFuture<'_>;
}

/// The Ethereum address of an uncompressed SEC1 public key.
pub fn address_of(public_key: &[u8; 65]) -> Address {
    Address::from_slice(&alloy_primitives::keccak256(&public_key[1..])[12..])
}

/// Signs an EIP-712 message under `domain`.
pub async fn sign_typed<T: SolStruct>(
    signer: &dyn Signer,
    message: &T,
    domain: &Eip712Domain,
) -> Result<Signature, SignerError> {
    signer.sign_digest(message.eip712_signing_hash(domain)).await
}
