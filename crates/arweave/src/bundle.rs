//! ANS-104 bundles: several data items in one binary, the form an Arweave
//! gateway unbundles from the data of an L1 transaction (tagged
//! `Bundle-Format: binary`, `Bundle-Version: 2.0.0`).
//!
//! Layout: the item count as a 32-byte little-endian integer; then per item
//! its byte length (32 bytes, little-endian) and its id (32 bytes); then the
//! items, in the same order.

use crate::{DataItem, ItemError};

const WORD: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bundle ends inside its {0}")]
    Truncated(&'static str),
    #[error("bundle declares {0} items; at most {1} are accepted")]
    TooManyItems(u128, usize),
    #[error("a 32-byte length or count does not fit in memory")]
    Oversized,
    #[error("item {index}: {source}")]
    Item {
        index: usize,
        #[source]
        source: ItemError,
    },
    #[error("item {0}'s id in the header is not the id of its bytes")]
    IdMismatch(usize),
    #[error("{0} bytes follow the last item")]
    TrailingBytes(usize),
}

fn word(value: usize) -> [u8; WORD] {
    let mut bytes = [0u8; WORD];
    bytes[..8].copy_from_slice(&(value as u64).to_le_bytes());
    bytes
}

fn read_word(bytes: &[u8]) -> Result<u128, BundleError> {
    // Anything above 2^128 cannot describe real data; treat it as oversized.
    if bytes[16..].iter().any(|b| *b != 0) {
        return Err(BundleError::Oversized);
    }
    Ok(u128::from_le_bytes(bytes[..16].try_into().expect("16 bytes")))
}

/// The bundle of `items`, in order.
pub fn encode_bundle(items: &[DataItem]) -> Vec<u8> {
    let encoded: Vec<Vec<u8>> = items.iter().map(DataItem::encode).collect();
    let total = WORD + items.len() * 2 * WORD + encoded.iter().map(Vec::len).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&word(items.len()));
    for (item, bytes) in items.iter().zip(&encoded) {
        out.extend_from_slice(&word(bytes.len()));
        out.extend_from_slice(&item.id());
    }
    for bytes in &encoded {
        out.extend_from_slice(bytes);
    }
    out
}

/// Reads a bundle of at most `max_items`, checking that every item decodes,
/// verifies, and carries the id its header gives.
pub fn decode_bundle(bytes: &[u8], max_items: usize) -> Result<Vec<DataItem>, BundleError> {
    let count = read_word(bytes.get(..WORD).ok_or(BundleError::Truncated("item count"))?)?;
    if count > max_items as u128 {
        return Err(BundleError::TooManyItems(count, max_items));
    }
    let count = count as usize;
    let headers_end = WORD + count * 2 * WORD;
    let headers = bytes.get(WORD..headers_end).ok_or(BundleError::Truncated("item headers"))?;
    let mut offset = headers_end;
    let mut items = Vec::with_capacity(count);
    for (index, header) in headers.chunks_exact(2 * WORD).enumerate() {
        let len =
            usize::try_from(read_word(&header[..WORD])?).map_err(|_| BundleError::Oversized)?;
        let end = offset.checked_add(len).ok_or(BundleError::Oversized)?;
        let item_bytes = bytes.get(offset..end).ok_or(BundleError::Truncated("items"))?;
        let item =
            DataItem::decode(item_bytes).map_err(|source| BundleError::Item { index, source })?;
        item.verify().map_err(|source| BundleError::Item { index, source })?;
        if item.id()[..] != header[WORD..] {
            return Err(BundleError::IdMismatch(index));
        }
        items.push(item);
        offset = end;
    }
    if offset != bytes.len() {
        return Err(BundleError::TrailingBytes(bytes.len() - offset));
    }
    Ok(items)
}
