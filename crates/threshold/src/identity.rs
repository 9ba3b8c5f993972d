//! Static identity keys: every protocol message is signed by its sender's,
//! and a receiver accepts it only when it recovers to the identity the group
//! config lists for that sender.

use std::path::Path;

use alloy_primitives::{Address, B256, keccak256};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};

use crate::{ThresholdError, share::read_private_file};

#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    address: Address,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identity({})", self.address)
    }
}

impl Identity {
    pub fn from_secret(secret: &[u8; 32]) -> Result<Self, ThresholdError> {
        let key = SigningKey::from_bytes(secret.into())
            .map_err(|e| ThresholdError::Config(format!("identity key: {e}")))?;
        let address = address_of(key.verifying_key());
        Ok(Self { key, address })
    }

    pub fn generate() -> Self {
        let key = SigningKey::random(&mut rand_core::OsRng);
        let address = address_of(key.verifying_key());
        Self { key, address }
    }

    pub fn address(&self) -> Address {
        self.address
    }

    pub fn secret_hex(&self) -> String {
        format!("0x{}", hex::encode(self.key.to_bytes()))
    }

    pub(crate) fn sign(&self, digest: B256) -> [u8; 65] {
        let (sig, id) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            .expect("a 32-byte prehash always signs");
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = id.to_byte();
        out
    }
}

/// The address `signature` over `digest` recovers to, if any.
pub(crate) fn recover(digest: B256, signature: &[u8]) -> Option<Address> {
    if signature.len() != 65 {
        return None;
    }
    let sig = Signature::from_slice(&signature[..64]).ok()?;
    let id = RecoveryId::from_byte(signature[64])?;
    let key = VerifyingKey::recover_from_prehash(digest.as_slice(), &sig, id).ok()?;
    Some(address_of(&key))
}

fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

/// Reads an identity key file (hex secret), refused when others may read it.
pub fn read_identity(path: &Path) -> Result<Identity, ThresholdError> {
    let bytes = read_private_file(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let raw = hex::decode(text.trim().trim_start_matches("0x")).map_err(|e| {
        ThresholdError::Malformed { path: path.to_owned(), reason: format!("not hex: {e}") }
    })?;
    let secret: [u8; 32] = raw.try_into().map_err(|_| ThresholdError::Malformed {
        path: path.to_owned(),
        reason: "an identity key is 32 bytes".into(),
    })?;
    Identity::from_secret(&secret)
}
