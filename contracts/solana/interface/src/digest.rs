//! The EIP-712 digests the program checks, built from bytes with the
//! runtime's keccak so the program needs no alloy. The rules are the ones in
//! `cairn_core::eip712` (the same `Slash` type, the registry domain with this
//! program's id as its salt); this crate's tests check both give the same
//! digest, so the rule has one definition and this is its on-chain form.

use solana_program::{keccak::hashv, pubkey::Pubkey};

use crate::instruction::{BatchCommitment, SlashOrder};

pub const DOMAIN_TYPE: &[u8] = b"EIP712Domain(string name,string version,bytes32 salt)";
pub const SLASH_TYPE: &[u8] = b"Slash(address provider,uint256 amount,uint8 reason,bytes32 evidenceHash,bytes32 receiptId,uint256 nonce,uint64 deadline)";
pub const REGISTRY_DOMAIN_NAME: &[u8] = b"Cairn Registry";
pub const DOMAIN_VERSION: &[u8] = b"1";
pub const BATCH_COMMITMENT_TYPE: &[u8] = b"BatchCommitment(uint64 batchId,bytes32 prevHash,uint64 windowStart,uint64 windowEnd,bytes32 intentsRoot,bytes32 deltasRoot,uint32 intentCount,uint32 deltaCount,bytes32 receiptId)";
pub const SETTLEMENT_DOMAIN_NAME: &[u8] = b"Cairn Settlement";
/// Merkle leaf and inner-node prefixes of `cairn_core::merkle`.
pub const LEAF_PREFIX: u8 = 0x00;
pub const NODE_PREFIX: u8 = 0x01;

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    hashv(parts).to_bytes()
}

fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The 20-byte identity a Solana provider has inside a `Slash` (whose
/// `provider` is an `address`): the last 20 bytes of keccak256 of its public
/// key, the way Ethereum derives an address from a key.
pub fn provider_eth_address(provider: &Pubkey) -> [u8; 20] {
    let h = keccak(&[provider.as_ref()]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// Domain separator: name and version as on EVM; no chain id or contract
/// address (Solana has neither), the program id as salt instead.
pub fn registry_domain_separator(program_id: &Pubkey) -> [u8; 32] {
    keccak(&[
        &keccak(&[DOMAIN_TYPE]),
        &keccak(&[REGISTRY_DOMAIN_NAME]),
        &keccak(&[DOMAIN_VERSION]),
        program_id.as_ref(),
    ])
}

pub fn slash_struct_hash(provider: &Pubkey, order: &SlashOrder) -> [u8; 32] {
    let mut provider_word = [0u8; 32];
    provider_word[12..].copy_from_slice(&provider_eth_address(provider));
    keccak(&[
        &keccak(&[SLASH_TYPE]),
        &provider_word,
        &word(order.amount),
        &word(u64::from(order.reason)),
        &order.evidence_hash,
        &order.receipt_id,
        &order.nonce,
        &word(order.deadline),
    ])
}

/// What the slasher signs for `order` against `provider` on this program.
pub fn slash_digest(program_id: &Pubkey, provider: &Pubkey, order: &SlashOrder) -> [u8; 32] {
    keccak(&[
        b"\x19\x01",
        &registry_domain_separator(program_id),
        &slash_struct_hash(provider, order),
    ])
}

/// `ServiceId` of `cairn_core::id`: keccak256 of
/// `abi.encode(bytes provider, string chain, string kind, string url)`, the
/// provider being its 32-byte public key.
pub fn service_id(provider: &Pubkey, chain: &str, kind: &str, url: &str) -> [u8; 32] {
    let parts: [&[u8]; 4] = [provider.as_ref(), chain.as_bytes(), kind.as_bytes(), url.as_bytes()];
    let mut encoded =
        Vec::with_capacity(4 * 32 + parts.iter().map(|p| 64 + p.len()).sum::<usize>());
    let mut offset = 4 * 32;
    for p in parts {
        encoded.extend_from_slice(&word(offset as u64));
        offset += 32 + p.len().div_ceil(32) * 32;
    }
    for p in parts {
        encoded.extend_from_slice(&word(p.len() as u64));
        encoded.extend_from_slice(p);
        encoded.resize(encoded.len() + (32 - p.len() % 32) % 32, 0);
    }
    keccak(&[&encoded])
}

/// The Ethereum address of an uncompressed secp256k1 key (64 bytes, x ‖ y).
pub fn eth_address_of_key(key: &[u8; 64]) -> [u8; 20] {
    let h = keccak(&[key]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// Domain separator of `BatchCommitment` on this program: the settlement
/// name and version as on EVM, the program id as salt
/// (`cairn_core::eip712::solana_settlement_domain`).
pub fn settlement_domain_separator(program_id: &Pubkey) -> [u8; 32] {
    keccak(&[
        &keccak(&[DOMAIN_TYPE]),
        &keccak(&[SETTLEMENT_DOMAIN_NAME]),
        &keccak(&[DOMAIN_VERSION]),
        program_id.as_ref(),
    ])
}

pub fn batch_struct_hash(c: &BatchCommitment) -> [u8; 32] {
    keccak(&[
        &keccak(&[BATCH_COMMITMENT_TYPE]),
        &word(c.batch_id),
        &c.prev_hash,
        &word(c.window_start),
        &word(c.window_end),
        &c.intents_root,
        &c.deltas_root,
        &word(u64::from(c.intent_count)),
        &word(u64::from(c.delta_count)),
        &c.receipt_id,
    ])
}

/// What the settlement signer signs for `commitment` on this program; also
/// the hash the next batch names as `prev_hash`.
pub fn batch_digest(program_id: &Pubkey, commitment: &BatchCommitment) -> [u8; 32] {
    keccak(&[b"\x19\x01", &settlement_domain_separator(program_id), &batch_struct_hash(commitment)])
}

/// The `int256` word of a delta: two's complement, big-endian, sign-extended.
pub fn int256_word(v: i64) -> [u8; 32] {
    let mut w = if v < 0 { [0xff; 32] } else { [0u8; 32] };
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// Merkle leaf of one Solana delta: `keccak256(0x00 ‖ owner ‖ mint ‖
/// int256(amount))`, i.e. the leaf of `cairn_core::merkle` over
/// `abi.encode(bytes32 owner, bytes32 mint, int256 amount)`. The EVM leaf
/// encodes `(address, address, int256)`; Solana keys are 32 bytes, so the
/// two chains' leaves differ only in those two words.
pub fn delta_leaf(owner: &Pubkey, mint: &Pubkey, amount: i64) -> [u8; 32] {
    keccak(&[&[LEAF_PREFIX], owner.as_ref(), mint.as_ref(), &int256_word(amount)])
}

pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    keccak(&[&[NODE_PREFIX], left, right])
}

/// Root over leaf hashes, the rule of `cairn_core::merkle::root`: pairs left
/// to right, an odd last node carried up unchanged, zero for no leaves.
/// Reduces `leaves` in place so the program allocates nothing more.
pub fn merkle_root(leaves: &mut [[u8; 32]]) -> [u8; 32] {
    let mut width = leaves.len();
    if width == 0 {
        return [0u8; 32];
    }
    while width > 1 {
        let mut next = 0;
        let mut i = 0;
        while i < width {
            leaves[next] =
                if i + 1 < width { node_hash(&leaves[i], &leaves[i + 1]) } else { leaves[i] };
            next += 1;
            i += 2;
        }
        width = next;
    }
    leaves[0]
}

/// The deltas root of a batch: leaves in the order given (which a valid
/// batch has strictly increasing by (mint, owner)).
pub fn deltas_root(deltas: &[(Pubkey, Pubkey, i64)]) -> [u8; 32] {
    let mut leaves: Vec<[u8; 32]> =
        deltas.iter().map(|(owner, mint, amount)| delta_leaf(owner, mint, *amount)).collect();
    merkle_root(&mut leaves)
}

/// Levels a [`MerkleFrontier`] keeps: enough for 2³² leaves (a batch's
/// `delta_count` is a `u32`).
pub const FRONTIER_LEVELS: usize = 33;

/// The deltas root built one leaf at a time, for a batch staged over several
/// transactions: it keeps one peak per level (the root of a full subtree of
/// 2^level leaves), like a binary counter, so its size does not grow with the
/// batch. Folding the peaks right to left gives the same root as
/// [`merkle_root`]'s left-to-right pairing with the odd node carried up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleFrontier {
    pub count: u64,
    pub peaks: [[u8; 32]; FRONTIER_LEVELS],
}

impl Default for MerkleFrontier {
    fn default() -> Self {
        Self { count: 0, peaks: [[0u8; 32]; FRONTIER_LEVELS] }
    }
}

impl MerkleFrontier {
    /// Adds the next leaf hash; `None` past 2³² leaves.
    pub fn push(&mut self, leaf: [u8; 32]) -> Option<()> {
        if self.count >= 1u64 << (FRONTIER_LEVELS - 1) {
            return None;
        }
        let mut node = leaf;
        let mut level = 0;
        // Each trailing one bit of the count is a full subtree to merge with.
        while (self.count >> level) & 1 == 1 {
            node = node_hash(&self.peaks[level], &node);
            level += 1;
        }
        self.peaks[level] = node;
        self.count += 1;
        Some(())
    }

    /// The root over every leaf pushed so far.
    pub fn root(&self) -> [u8; 32] {
        let mut acc: Option<[u8; 32]> = None;
        for level in 0..FRONTIER_LEVELS {
            if (self.count >> level) & 1 == 1 {
                acc = Some(match acc {
                    None => self.peaks[level],
                    Some(right) => node_hash(&self.peaks[level], &right),
                });
            }
        }
        acc.unwrap_or([0u8; 32])
    }
}
