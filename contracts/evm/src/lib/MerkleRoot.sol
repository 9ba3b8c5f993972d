// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title MerkleRoot
/// @notice The Merkle tree Cairn commits batches with, as `cairn-core` builds it.
/// Leaves and inner nodes hash under different one-byte prefixes (0x00 and 0x01),
/// so no inner node can be passed off as a leaf. Nodes pair left to right; an odd
/// node at the end of a level moves up unchanged rather than being paired with a
/// copy of itself, which would let two different leaf lists share a root.
library MerkleRoot {
    /// @notice Hash of a leaf's encoded data.
    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice Hash of an inner node.
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 1), left)
            mstore(add(ptr, 33), right)
            hash := keccak256(ptr, 65)
        }
    }

    /// @notice Root over leaf hashes, in order. The empty tree's root is zero.
    /// @dev Reduces `leaves` in place: callers must not reuse the array.
    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 count = leaves.length;
        if (count == 0) return bytes32(0);
        while (count > 1) {
            uint256 next = 0;
            for (uint256 i = 0; i + 1 < count; i += 2) {
                leaves[next++] = nodeHash(leaves[i], leaves[i + 1]);
            }
            if (count % 2 == 1) leaves[next++] = leaves[count - 1];
            count = next;
        }
        return leaves[0];
    }
}
