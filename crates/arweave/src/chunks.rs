//! The `data_root` of an Arweave L1 transaction: the data cut into chunks
//! and hashed into Arweave's chunk Merkle tree, as a gateway checks it
//! before accepting the transaction.
//!
//! Chunks are 256 KiB, except that the last two are evened out when the
//! final one would be under 32 KiB. A leaf is
//! `sha256(sha256(chunk_hash) ‖ sha256(note(end)))`, a branch
//! `sha256(sha256(left) ‖ sha256(right) ‖ sha256(note(left_end)))`, where
//! `note` is a 32-byte big-endian offset; an odd node is carried up.

use sha2::{Digest, Sha256};

pub const MAX_CHUNK_SIZE: usize = 256 * 1024;
pub const MIN_CHUNK_SIZE: usize = 32 * 1024;

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn note(offset: usize) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[24..].copy_from_slice(&(offset as u64).to_be_bytes());
    bytes
}

/// Byte ranges of the chunks `data` is cut into (one empty chunk for empty
/// data).
pub fn chunk_ranges(len: usize) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut rest = len;
    while rest >= MAX_CHUNK_SIZE {
        let mut size = MAX_CHUNK_SIZE;
        let next = rest - MAX_CHUNK_SIZE;
        if next > 0 && next < MIN_CHUNK_SIZE {
            size = rest.div_ceil(2);
        }
        ranges.push(start..start + size);
        start += size;
        rest -= size;
    }
    ranges.push(start..start + rest);
    ranges
}

struct Node {
    id: [u8; 32],
    end: usize,
}

/// The transaction `data_root` of `data`.
pub fn data_root(data: &[u8]) -> [u8; 32] {
    let mut level: Vec<Node> = chunk_ranges(data.len())
        .into_iter()
        .map(|range| {
            let chunk_hash = sha256(&[&data[range.clone()]]);
            Node {
                id: sha256(&[&sha256(&[&chunk_hash]), &sha256(&[&note(range.end)])]),
                end: range.end,
            }
        })
        .collect();
    while level.len() > 1 {
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        let mut nodes = level.into_iter();
        while let Some(left) = nodes.next() {
            match nodes.next() {
                Some(right) => next.push(Node {
                    id: sha256(&[
                        &sha256(&[&left.id]),
                        &sha256(&[&right.id]),
                        &sha256(&[&note(left.end)]),
                    ]),
                    end: right.end,
                }),
                None => next.push(left),
            }
        }
        level = next;
    }
    level.pop().map_or([0; 32], |root| root.id)
}
