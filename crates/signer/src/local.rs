//! A key held in this process: the development default and the signer of
//! tests. Production slashes and batches go through a threshold backend.

use std::{fmt, path::Path};

use alloy_primitives::{Address, B256};
use k256::ecdsa::SigningKey;

use crate::{SignFuture, Signature, Signer, SignerError, address_of};

/// 32 secret bytes from 64 hex digits, with or without `0x`.
pub fn parse_key_hex(text: &str) -> Result<[u8; 32], SignerError> {
    let text = text.trim();
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let mut secret = [0u8; 32];
    hex::decode_to_slice(digits, &mut secret)
        .map_err(|_| SignerError::InvalidKey("expected 64 hex digits".into()))?;
    Ok(secret)
}

/// The secret in a key file holding its hex form. On Unix the file must not
/// be readable by group or others, as ssh requires of private keys.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], SignerError> {
    let read_err = |source| SignerError::KeyFile { path: path.to_owned(), source };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(read_err)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(SignerError::KeyFilePermissions {
                path: path.to_owned(),
                mode: mode & 0o777,
            });
        }
    }
    parse_key_hex(&std::fs::read_to_string(path).map_err(read_err)?)
}

pub struct LocalSigner {
    key: SigningKey,
    public_key: [u8; 65],
    address: Address,
}

impl LocalSigner {
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, SignerError> {
        let key = SigningKey::from_bytes(secret.into())
            .map_err(|_| SignerError::InvalidKey("not a valid secp256k1 scalar".into()))?;
        let point = key.verifying_key().to_encoded_point(false);
        let public_key: [u8; 65] =
            point.as_bytes().try_into().expect("an uncompressed SEC1 point is 65 bytes");
        Ok(Self { key, public_key, address: address_of(&public_key) })
    }

    /// A key from 64 hex digits, with or without `0x`.
    pub fn from_hex(text: &str) -> Result<Self, SignerError> {
        Self::from_bytes(&parse_key_hex(text)?)
    }

    /// A key from a file holding its hex form (see [`read_key_file`]).
    pub fn from_file(path: &Path) -> Result<Self, SignerError> {
        Self::from_bytes(&read_key_file(path)?)
    }

    fn sign_now(&self, digest: &B256) -> Result<Signature, SignerError> {
        // k256 signs deterministically (RFC 6979) and normalises s to the
        // lower half, so the result is the canonical Ethereum signature.
        let (signature, recovery) = self
            .key
            .sign_prehash_recoverable(digest.as_slice())
            .map_err(|e| SignerError::Refused(e.to_string()))?;
        let bytes = signature.to_bytes();
        Ok(Signature {
            r: B256::from_slice(&bytes[..32]),
            s: B256::from_slice(&bytes[32..]),
            v: 27 + recovery.to_byte(),
        })
    }
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Signer for LocalSigner {
    fn public_key(&self) -> [u8; 65] {
        self.public_key
    }

    fn address(&self) -> Address {
        self.address
    }

    fn sign_digest(&self, digest: B256) -> SignFuture<'_> {
        let result = self.sign_now(&digest);
        Box::pin(async move { result })
    }
}
