//! The commitment Merkle tree, identical to `contracts/evm/src/lib/MerkleRoot.sol`.
//!
//! Leaves hash as `keccak256(0x00 ‖ data)` and inner nodes as
//! `keccak256(0x01 ‖ left ‖ right)`, so an inner node never passes for a
//! leaf. Nodes pair left to right and an odd node at the end of a level is
//! carried up unchanged: padding with a copy would give `[a, b, c]` and
//! `[a, b, c, c]` one root. The empty tree's root is zero.

use alloy_primitives::{B256, Keccak256};
use serde::{Deserialize, Serialize};

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

pub fn leaf_hash(data: &[u8]) -> B256 {
    let mut hasher = Keccak256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize()
}

pub fn node_hash(left: &B256, right: &B256) -> B256 {
    let mut hasher = Keccak256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize()
}

/// Root over leaf hashes, in the order given.
pub fn root(leaves: &[B256]) -> B256 {
    let mut level = leaves.to_vec();
    if level.is_empty() {
        return B256::ZERO;
    }
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
}

fn next_level(level: &[B256]) -> Vec<B256> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => node_hash(left, right),
            [odd] => *odd,
            _ => unreachable!("chunks(2) yields one or two"),
        })
        .collect()
}

/// The siblings from a leaf up to the root. Levels where the path's node is
/// the carried-up odd one contribute no sibling; `leaf_count` tells the
/// verifier which levels those are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    pub index: u64,
    pub leaf_count: u64,
    pub siblings: Vec<B256>,
}

/// All the levels of a tree, for answering many proofs from one build.
#[derive(Debug, Clone)]
pub struct MerkleTree {
    levels: Vec<Vec<B256>>,
}

impl MerkleTree {
    pub fn new(leaves: Vec<B256>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().is_some_and(|l| l.len() > 1) {
            let next = next_level(levels.last().expect("checked"));
            levels.push(next);
        }
        Self { levels }
    }

    pub fn root(&self) -> B256 {
        self.levels.last().and_then(|top| top.first()).copied().unwrap_or(B256::ZERO)
    }

    pub fn leaf_count(&self) -> usize {
        self.levels[0].len()
    }

    /// Proof for the leaf at `index`, or `None` past the end.
    pub fn proof(&self, index: usize) -> Option<MerkleProof> {
        if index >= self.leaf_count() {
            return None;
        }
        let mut siblings = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sibling = i ^ 1;
            if sibling < level.len() {
                siblings.push(level[sibling]);
            }
            i /= 2;
        }
        Some(MerkleProof { index: index as u64, leaf_count: self.leaf_count() as u64, siblings })
    }
}

impl MerkleProof {
    /// Whether `leaf` (a leaf hash) sits at `self.index` under `root`.
    pub fn verify(&self, leaf: B256, root: B256) -> bool {
        if self.index >= self.leaf_count {
            return false;
        }
        let mut hash = leaf;
        let mut index = self.index;
        let mut width = self.leaf_count;
        let mut siblings = self.siblings.iter();
        while width > 1 {
            let is_carried_odd = index == width - 1 && width % 2 == 1;
            if !is_carried_odd {
                let Some(sibling) = siblings.next() else { return false };
                hash = if index.is_multiple_of(2) {
                    node_hash(&hash, sibling)
                } else {
                    node_hash(sibling, &hash)
                };
            }
            index /= 2;
            width = width.div_ceil(2);
        }
        siblings.next().is_none() && hash == root
    }
}
