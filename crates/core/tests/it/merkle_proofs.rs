use alloy_primitives::{B256, U256, b256, keccak256};
use alloy_sol_types::SolValue;
use cairn_core::merkle::{MerkleTree, leaf_hash, node_hash, root};
use proptest::prelude::*;

fn leaves(count: usize, seed: u64) -> Vec<B256> {
    (0..count).map(|i| keccak256((seed, i as u64).abi_encode())).collect()
}

/// Same vector as the forge test's three-leaf case, computed with `cast`:
/// leaves are `leafHash(abi.encode(uint256 i))` for i = 0, 1, 2.
#[test]
fn three_leaf_root_matches_the_solidity_library() {
    let leaves: Vec<B256> = (0..3u64).map(|i| leaf_hash(&U256::from(i).abi_encode())).collect();
    assert_eq!(
        root(&leaves),
        b256!("1c36b50159d8a68e2975f15f76291aa2ff78c2b3289feca9f4cd4083f9eb088f")
    );
}

#[test]
fn empty_and_single_trees() {
    assert_eq!(root(&[]), B256::ZERO);
    assert_eq!(MerkleTree::new(vec![]).root(), B256::ZERO);
    assert!(MerkleTree::new(vec![]).proof(0).is_none());
    let one = leaves(1, 9);
    assert_eq!(root(&one), one[0]);
    let proof = MerkleTree::new(one.clone()).proof(0).unwrap();
    assert!(proof.siblings.is_empty());
    assert!(proof.verify(one[0], one[0]));
}

#[test]
fn leaf_and_node_hashes_are_domain_separated() {
    let (a, b) = (keccak256(b"a"), keccak256(b"b"));
    let mut concatenated = a.to_vec();
    concatenated.extend_from_slice(b.as_slice());
    assert_ne!(leaf_hash(&concatenated), node_hash(&a, &b));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_leaf_has_a_verifying_proof(count in 1usize..200, seed: u64) {
        let leaves = leaves(count, seed);
        let tree = MerkleTree::new(leaves.clone());
        prop_assert_eq!(tree.root(), root(&leaves));
        for (i, leaf) in leaves.iter().enumerate() {
            let proof = tree.proof(i).unwrap();
            prop_assert!(proof.verify(*leaf, tree.root()), "leaf {} of {}", i, count);
        }
        prop_assert!(tree.proof(count).is_none());
    }

    #[test]
    fn a_proof_fails_for_any_change(count in 2usize..100, seed: u64, pick: prop::sample::Index, flip in 0usize..256) {
        let leaves = leaves(count, seed);
        let tree = MerkleTree::new(leaves.clone());
        let i = pick.index(count);
        let proof = tree.proof(i).unwrap();
        let mut changed = leaves[i];
        changed.0[flip / 8] ^= 1 << (flip % 8);
        prop_assert!(!proof.verify(changed, tree.root()), "changed leaf verified");
        prop_assert!(!proof.verify(leaves[(i + 1) % count], tree.root()), "another leaf verified");
        let mut wrong_index = proof.clone();
        wrong_index.index = ((i + 1) % count) as u64;
        prop_assert!(!wrong_index.verify(leaves[i], tree.root()), "moved index verified");
        let mut short = proof.clone();
        short.siblings.pop();
        prop_assert!(!short.verify(leaves[i], tree.root()), "truncated proof verified");
        let mut long = proof;
        long.siblings.push(B256::ZERO);
        prop_assert!(!long.verify(leaves[i], tree.root()), "extended proof verified");
    }

    #[test]
    fn changing_any_leaf_changes_the_root(count in 1usize..100, seed: u64, pick: prop::sample::Index) {
        let mut leaves = leaves(count, seed);
        let before = root(&leaves);
        let i = pick.index(count);
        leaves[i].0[0] ^= 0x80;
        prop_assert_ne!(root(&leaves), before);
    }
}
