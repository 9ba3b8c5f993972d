//! Files a party keeps: its key share and Paillier primes (secret, owner-only)
//! and the group's public key (public, for the deployer).

use std::{
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use alloy_primitives::Address;
use cggmp21::{KeyShare, PregeneratedPrimes, key_share::AnyKeyShare, supported_curves::Secp256k1};
use serde::{Deserialize, Serialize};

use crate::ThresholdError;

pub(crate) type Share = KeyShare<Secp256k1>;
pub type Primes = PregeneratedPrimes;

/// Writes `bytes` to `path` readable by its owner only: a temporary file
/// created with mode 600 and renamed over, so no reader ever sees a partial
/// or a world-readable file.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), ThresholdError> {
    let err = |source| ThresholdError::File { path: path.to_owned(), source };
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Reads a secret file, refusing it when group or others may read it.
pub(crate) fn read_private_file(path: &Path) -> Result<Vec<u8>, ThresholdError> {
    let err = |source| ThresholdError::File { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(err)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ThresholdError::Permissions { path: path.to_owned(), mode });
    }
    std::fs::read(path).map_err(err)
}

fn malformed(path: &Path, e: impl std::fmt::Display) -> ThresholdError {
    ThresholdError::Malformed { path: path.to_owned(), reason: e.to_string() }
}

pub fn write_share(path: &Path, share: &Share) -> Result<(), ThresholdError> {
    let bytes = serde_json::to_vec(share).map_err(|e| malformed(path, e))?;
    write_private_file(path, &bytes)
}

pub(crate) fn read_share_inner(path: &Path) -> Result<Share, ThresholdError> {
    let bytes = read_private_file(path)?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(path, e))
}

/// Reads a key share and returns the group public key it belongs to.
pub fn read_share(path: &Path) -> Result<GroupKey, ThresholdError> {
    let share = read_share_inner(path)?;
    Ok(GroupKey::of(&share))
}

/// Paillier safe primes for the auxiliary-info protocol. Generating them is
/// the slow part of key generation (tens of seconds per party), so tests
/// use committed fixtures.
pub fn generate_primes() -> Primes {
    PregeneratedPrimes::generate(&mut rand_core::OsRng)
}

pub fn read_primes(path: &Path) -> Result<Primes, ThresholdError> {
    let bytes = read_private_file(path)?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(path, e))
}

/// The group's public key, what the deployer sets as slasher and settlement signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupKey {
    /// Uncompressed SEC1, hex with `0x`.
    pub public_key: String,
    pub address: Address,
    pub threshold: u16,
    pub parties: u16,
}

impl GroupKey {
    pub(crate) fn of(share: &Share) -> Self {
        let point = share.shared_public_key;
        let mut public_key = [0u8; 65];
        public_key.copy_from_slice(point.to_bytes(false).as_bytes());
        Self {
            public_key: format!("0x{}", hex::encode(public_key)),
            address: cairn_signer::address_of(&public_key),
            threshold: share.min_signers(),
            parties: share.n(),
        }
    }

    pub fn public_key_bytes(&self) -> Result<[u8; 65], ThresholdError> {
        let bytes = hex::decode(self.public_key.trim_start_matches("0x"))
            .map_err(|e| ThresholdError::Config(format!("group public key: {e}")))?;
        bytes
            .try_into()
            .map_err(|_| ThresholdError::Config("group public key is not 65 bytes".into()))
    }
}

pub fn write_group_key(path: &Path, key: &GroupKey) -> Result<(), ThresholdError> {
    let bytes = serde_json::to_vec_pretty(key).expect("group key serialises");
    std::fs::write(path, bytes)
        .map_err(|source| ThresholdError::File { path: path.to_owned(), source })
}

pub fn read_group_key(path: &Path) -> Result<GroupKey, ThresholdError> {
    let bytes = std::fs::read(path)
        .map_err(|source| ThresholdError::File { path: PathBuf::from(path), source })?;
    serde_json::from_slice(&bytes).map_err(|e| malformed(path, e))
}
