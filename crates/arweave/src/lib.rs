#![doc = include_str!("../README.md")]

mod bundle;
pub mod chunks;
mod deep_hash;
mod item;
mod tags;
pub mod transaction;

pub use bundle::{BundleError, decode_bundle, encode_bundle};
pub use deep_hash::{Chunk, deep_hash};
pub use item::{DEFAULT_MAX_ITEM_BYTES, DataItem, SignatureType, UnsignedItem};
pub use tags::{
    MAX_TAG_BYTES, MAX_TAG_NAME_BYTES, MAX_TAG_VALUE_BYTES, MAX_TAGS, Tag, decode_tags, encode_tags,
};

/// Why bytes are not a valid data item, or an item could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("item is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("item ends inside its {0}")]
    Truncated(&'static str),
    #[error("unknown signature type {0}")]
    UnknownSignatureType(u16),
    #[error("signature type {0} is not supported for signing or verification here")]
    UnsupportedSignatureType(u16),
    #[error("{field} presence byte is {byte}, not 0 or 1")]
    PresenceByte { field: &'static str, byte: u8 },
    #[error("{0} tags; at most 128 are allowed")]
    TooManyTags(usize),
    #[error("tag section of {0} bytes exceeds 4096")]
    TagBytes(usize),
    #[error("tag name of {0} bytes; names are 1–1024 bytes")]
    TagName(usize),
    #[error("tag value of {0} bytes; values are 1–3072 bytes")]
    TagValue(usize),
    #[error("item declares {declared} tags but holds {found}")]
    TagCount { declared: usize, found: usize },
    #[error("bad tag encoding: {0}")]
    TagEncoding(&'static str),
    #[error("owner is not a valid public key for its signature type")]
    Owner,
    #[error("signature does not verify against the owner")]
    Signature,
    #[error("the signer's key does not match the owner it declared")]
    SignerMismatch,
    #[error("signer failed: {0}")]
    Signer(String),
}

/// `base64url` without padding, Arweave's text form of ids and keys.
pub fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads [`base64url`] text back; `None` if it is not.
pub fn from_base64url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}
