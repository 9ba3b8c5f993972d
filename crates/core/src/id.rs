//! Chain and account identifiers (CAIP-2, CAIP-10) and service ids.

use std::{fmt, str::FromStr};

use alloy_primitives::{B256, keccak256};
use alloy_sol_types::SolValue;
use serde::{Deserialize, Serialize};

/// Why an identifier did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("`{0}` is not a CAIP-2 chain id (namespace:reference)")]
    NotChainId(String),
    #[error("CAIP-2 namespace `{0}` must be 3–8 characters of a–z, 0–9 or -")]
    Namespace(String),
    #[error("CAIP-2 reference `{0}` must be 1–32 characters of a–z, A–Z, 0–9, - or _")]
    Reference(String),
    #[error("`{0}` is not a CAIP-10 account id (namespace:reference:address)")]
    NotAccountId(String),
    #[error("CAIP-10 address `{0}` must be 1–128 characters of a–z, A–Z, 0–9, -, ., or %")]
    Address(String),
}

/// A CAIP-2 chain id such as `eip155:1` or `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ChainId {
    namespace: String,
    reference: String,
}

impl ChainId {
    pub fn new(namespace: &str, reference: &str) -> Result<Self, IdError> {
        if !(3..=8).contains(&namespace.len())
            || !namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(IdError::Namespace(namespace.to_owned()));
        }
        if !(1..=32).contains(&reference.len())
            || !reference.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(IdError::Reference(reference.to_owned()));
        }
        Ok(Self { namespace: namespace.to_owned(), reference: reference.to_owned() })
    }

    /// `eip155:<chain id>`.
    pub fn eip155(chain_id: u64) -> Self {
        Self { namespace: "eip155".to_owned(), reference: chain_id.to_string() }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The numeric chain id of an `eip155` chain.
    pub fn evm_chain_id(&self) -> Option<u64> {
        (self.namespace == "eip155").then(|| self.reference.parse().ok()).flatten()
    }
}

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.namespace, self.reference)
    }
}

impl FromStr for ChainId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let (namespace, reference) =
            s.split_once(':').ok_or_else(|| IdError::NotChainId(s.to_owned()))?;
        Self::new(namespace, reference)
    }
}

impl TryFrom<String> for ChainId {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<ChainId> for String {
    fn from(id: ChainId) -> Self {
        id.to_string()
    }
}

/// A CAIP-10 account id: a chain and an address on it, such as
/// `eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId {
    chain: ChainId,
    address: String,
}

impl AccountId {
    pub fn new(chain: ChainId, address: &str) -> Result<Self, IdError> {
        if !(1..=128).contains(&address.len())
            || !address.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.%".contains(&b))
        {
            return Err(IdError::Address(address.to_owned()));
        }
        Ok(Self { chain, address: address.to_owned() })
    }

    /// An EVM account, with the address in its EIP-55 checksum form so two
    /// spellings of one account compare equal.
    pub fn evm(chain_id: u64, address: alloy_primitives::Address) -> Self {
        Self { chain: ChainId::eip155(chain_id), address: address.to_checksum(None) }
    }

    pub fn chain(&self) -> &ChainId {
        &self.chain
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.chain, self.address)
    }
}

impl FromStr for AccountId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let (chain, address) =
            s.rsplit_once(':').ok_or_else(|| IdError::NotAccountId(s.to_owned()))?;
        let chain = chain.parse().map_err(|_| IdError::NotAccountId(s.to_owned()))?;
        let account = Self::new(chain, address)?;
        // EVM addresses compare in checksum form; anything else as given.
        if account.chain.namespace == "eip155"
            && let Ok(evm) = address.parse::<alloy_primitives::Address>()
        {
            return Ok(Self { address: evm.to_checksum(None), ..account });
        }
        Ok(account)
    }
}

impl TryFrom<String> for AccountId {
    type Error = IdError;

    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(id: AccountId) -> Self {
        id.to_string()
    }
}

/// Identifier of a registered service: the hash of who serves what, where.
///
/// `keccak256(abi.encode(bytes provider, string chain, string kind, string url))`,
/// which the EVM registry computes the same way (`provider` is the address's
/// 20 bytes there, a public key's 32 on Solana).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServiceId(pub B256);

impl ServiceId {
    pub fn compute(provider: &[u8], chain: &ChainId, kind: &str, url: &str) -> Self {
        let encoded = (
            alloy_primitives::Bytes::copy_from_slice(provider),
            chain.to_string(),
            kind.to_owned(),
            url.to_owned(),
        )
            .abi_encode_params();
        Self(keccak256(encoded))
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
