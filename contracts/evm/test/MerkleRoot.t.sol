// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CairnTest} from "./utils/Vm.sol";
import {MerkleRoot} from "../src/lib/MerkleRoot.sol";

contract MerkleRootTest is CairnTest {
    function leaf(uint256 i) private pure returns (bytes32) {
        return MerkleRoot.leafHash(abi.encode(i));
    }

    function leaves(uint256 count) private pure returns (bytes32[] memory out) {
        out = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            out[i] = leaf(i);
        }
    }

    function test_EmptyTreeRootIsZero() public pure {
        assertEq(MerkleRoot.root(new bytes32[](0)), bytes32(0), "empty root");
    }

    function test_SingleLeafIsItsOwnRoot() public pure {
        assertEq(MerkleRoot.root(leaves(1)), leaf(0), "one leaf");
    }

    function test_HashesUseOneBytePrefixes() public pure {
        bytes memory data = abi.encode(uint256(7));
        assertEq(
            MerkleRoot.leafHash(data), keccak256(bytes.concat(hex"00", data)), "leaf prefix 0x00"
        );
        bytes32 a = leaf(1);
        bytes32 b = leaf(2);
        assertEq(
            MerkleRoot.nodeHash(a, b), keccak256(bytes.concat(hex"01", a, b)), "node prefix 0x01"
        );
    }

    function test_ThreeLeavesCarryTheOddOneUp() public pure {
        bytes32 expected = MerkleRoot.nodeHash(MerkleRoot.nodeHash(leaf(0), leaf(1)), leaf(2));
        assertEq(MerkleRoot.root(leaves(3)), expected, "three leaves");
    }

    function test_FiveLeaves() public pure {
        bytes32 left = MerkleRoot.nodeHash(
            MerkleRoot.nodeHash(leaf(0), leaf(1)), MerkleRoot.nodeHash(leaf(2), leaf(3))
        );
        assertEq(MerkleRoot.root(leaves(5)), MerkleRoot.nodeHash(left, leaf(4)), "five leaves");
    }

    /// Duplicating the last leaf must change the root (the flaw of trees that
    /// pad odd levels with a copy).
    function test_DuplicatedLastLeafChangesTheRoot() public pure {
        bytes32[] memory three = leaves(3);
        bytes32[] memory four = leaves(4);
        four[3] = four[2];
        assertTrue(MerkleRoot.root(three) != MerkleRoot.root(four), "padding collision");
    }

    function testFuzz_MatchesRecursiveDefinition(uint256 count, uint256 seed) public pure {
        count = bound(count, 1, 70);
        bytes32[] memory input = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            input[i] = keccak256(abi.encode(seed, i));
        }
        bytes32 expected = referenceRoot(input, 0, count);
        assertEq(MerkleRoot.root(input), expected, "root differs from reference");
    }

    function testFuzz_ChangingAnyLeafChangesTheRoot(uint256 count, uint256 index, bytes32 tweak)
        public
        pure
    {
        count = bound(count, 1, 40);
        index = bound(index, 0, count - 1);
        vm.assume(tweak != bytes32(0));
        bytes32 before = MerkleRoot.root(leaves(count));
        bytes32[] memory changed = leaves(count);
        changed[index] ^= tweak;
        assertTrue(MerkleRoot.root(changed) != before, "root ignored a leaf");
    }

    /// The same tree defined top-down: the left subtree holds the largest
    /// power of two of leaves that pairs fully, which is what carrying odd
    /// nodes up level by level produces.
    function referenceRoot(bytes32[] memory input, uint256 from, uint256 to)
        private
        pure
        returns (bytes32)
    {
        uint256 n = to - from;
        if (n == 1) return input[from];
        uint256 split = 1;
        while (split * 2 < n) split *= 2;
        return MerkleRoot.nodeHash(
            referenceRoot(input, from, from + split), referenceRoot(input, from + split, to)
        );
    }
}
