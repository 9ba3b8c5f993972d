//! The signer group as every party and coordinator sees it, and one party's
//! own settings. TOML on disk.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use crate::{ThresholdError, policy::Policy};

/// One party of the group: where it listens and the address of its static
/// identity key, which signs every message it sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyEntry {
    pub index: u16,
    pub addr: SocketAddr,
    pub identity: Address,
}

/// The group: `threshold` of the `parties` sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    pub threshold: u16,
    pub parties: Vec<PartyEntry>,
    /// How long a session may run before every party gives up on it.
    #[serde(default = "default_session_timeout_ms")]
    pub session_timeout_ms: u64,
    /// Keygen's limit: auxiliary info with fresh primes takes minutes on small machines.
    #[serde(default = "default_keygen_timeout_ms")]
    pub keygen_timeout_ms: u64,
    /// How long a coordinator waits to reach a party.
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
}

fn default_session_timeout_ms() -> u64 {
    20_000
}
fn default_keygen_timeout_ms() -> u64 {
    900_000
}
fn default_connect_timeout_ms() -> u64 {
    1_000
}

impl GroupConfig {
    /// Reads and validates a `group.toml`.
    pub fn read(path: &std::path::Path) -> Result<Self, ThresholdError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ThresholdError::File { path: path.to_owned(), source })?;
        let group: Self = toml::from_str(&text)
            .map_err(|e| ThresholdError::Config(format!("{}: {e}", path.display())))?;
        group.validate()?;
        Ok(group)
    }

    pub fn validate(&self) -> Result<(), ThresholdError> {
        let n = self.parties.len();
        if self.threshold < 2 || usize::from(self.threshold) > n {
            return Err(ThresholdError::Config(format!(
                "threshold {} must be between 2 and the number of parties ({n})",
                self.threshold
            )));
        }
        for (i, party) in self.parties.iter().enumerate() {
            if usize::from(party.index) != i {
                return Err(ThresholdError::Config(format!(
                    "parties must be listed by index 0..{n}; entry {i} has index {}",
                    party.index
                )));
            }
        }
        Ok(())
    }

    pub fn session_timeout(&self) -> Duration {
        Duration::from_millis(self.session_timeout_ms)
    }

    pub fn keygen_timeout(&self) -> Duration {
        Duration::from_millis(self.keygen_timeout_ms)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    pub fn party(&self, index: u16) -> Option<&PartyEntry> {
        self.parties.get(usize::from(index))
    }
}

/// One party process's configuration (`cairn signer party --config FILE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyConfig {
    pub index: u16,
    /// The party's static identity key (hex secp256k1 secret, mode 600).
    pub identity_key_file: PathBuf,
    /// Where its key share is (written by keygen).
    pub share_file: PathBuf,
    /// Pregenerated Paillier primes for keygen; generated on the spot when absent.
    #[serde(default)]
    pub primes_file: Option<PathBuf>,
    /// The party's record of what it signed.
    pub record_file: PathBuf,
    #[serde(default)]
    pub policy: Policy,
    pub group: GroupConfig,
}

impl PartyConfig {
    pub fn from_toml(text: &str) -> Result<Self, ThresholdError> {
        let config: Self =
            toml::from_str(text).map_err(|e| ThresholdError::Config(e.to_string()))?;
        config.group.validate()?;
        if config.group.party(config.index).is_none() {
            return Err(ThresholdError::Config(format!(
                "index {} is not in the group",
                config.index
            )));
        }
        Ok(config)
    }

    pub fn read(path: &std::path::Path) -> Result<Self, ThresholdError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ThresholdError::File { path: path.to_owned(), source })?;
        Self::from_toml(&text)
    }
}
