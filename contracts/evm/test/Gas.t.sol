// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Settlement} from "../src/Settlement.sol";
import {MerkleRoot} from "../src/lib/MerkleRoot.sol";
import {CairnTest} from "./utils/Vm.sol";
import {MockToken} from "./utils/Tokens.sol";

/// @notice Gas of settling 10,000 intents netted over 100 accounts, per intent, against one
/// ERC-20 transfer per intent measured in the same run. Both sides are costed as whole
/// transactions: 21,000 base, calldata (EIP-2028 pricing, or the EIP-7623 floor where
/// higher), and execution. Printed with `forge test --match-contract GasTest -vv`.
contract GasTest is CairnTest {
    event log_named_uint(string key, uint256 val);

    uint256 internal constant SIGNER_KEY = 0x5E771E;
    uint256 internal constant ACCOUNTS = 100;
    uint256 internal constant INTENTS = 10_000;

    Settlement internal settlement;
    MockToken internal usd;

    function setUp() public {
        vm.warp(2_000_000);
        usd = new MockToken();
        settlement = new Settlement(address(this), vm.addr(SIGNER_KEY), 1 days);
        settlement.setAssetAllowed(address(usd), true);
        for (uint256 i = 0; i < ACCOUNTS; i++) {
            address account = accountAt(i);
            usd.mint(account, 1000 ether);
            vm.startPrank(account);
            usd.approve(address(settlement), type(uint256).max);
            settlement.deposit(address(usd), 100 ether);
            vm.stopPrank();
        }
    }

    /// Ascending addresses, so deltas are already in (asset, account) order.
    function accountAt(uint256 i) internal pure returns (address) {
        return address(uint160(0x10000 + i));
    }

    /// Net deltas of `INTENTS` intents over the accounts: the first half pay, the second
    /// half receive; a shift varies the amounts between batches.
    function batch(uint256 shift)
        internal
        view
        returns (Settlement.BatchCommitment memory c, Settlement.Delta[] memory ds)
    {
        ds = new Settlement.Delta[](ACCOUNTS);
        bytes32[] memory leaves = new bytes32[](ACCOUNTS);
        uint256 perIntent = 0.001 ether + shift;
        int256 each = int256(perIntent * (INTENTS / (ACCOUNTS / 2)));
        for (uint256 i = 0; i < ACCOUNTS; i++) {
            ds[i] = Settlement.Delta(accountAt(i), address(usd), i < ACCOUNTS / 2 ? -each : each);
            leaves[i] = MerkleRoot.leafHash(abi.encode(ds[i]));
        }
        c = Settlement.BatchCommitment({
            batchId: settlement.lastBatchId() + 1,
            prevHash: settlement.lastCommitmentHash(),
            windowStart: uint64(block.timestamp - 60),
            windowEnd: uint64(block.timestamp),
            intentsRoot: keccak256(abi.encode(shift)),
            deltasRoot: MerkleRoot.root(leaves),
            intentCount: uint32(INTENTS),
            deltaCount: uint32(ACCOUNTS),
            receiptId: keccak256(abi.encode("receipt", shift))
        });
    }

    /// Intrinsic gas of a transaction carrying `data`: base plus calldata, with the Prague
    /// floor (10 gas per token, a non-zero byte being 4 tokens) where it is higher.
    function intrinsic(bytes memory data, uint256 execution) internal pure returns (uint256) {
        uint256 zeros = 0;
        for (uint256 i = 0; i < data.length; i++) {
            if (data[i] == 0) zeros++;
        }
        uint256 tokens = zeros + (data.length - zeros) * 4;
        uint256 standard = 21_000 + tokens * 4 + execution;
        uint256 floor = 21_000 + tokens * 10;
        return standard > floor ? standard : floor;
    }

    function settleMeasured(uint256 shift) internal returns (uint256 txGas) {
        (Settlement.BatchCommitment memory c, Settlement.Delta[] memory ds) = batch(shift);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, settlement.hashBatch(c));
        bytes memory sig = abi.encodePacked(r, s, v);
        bytes memory data = abi.encodeCall(Settlement.settleBatch, (c, ds, sig));
        uint256 start = gasleft();
        settlement.settleBatch(c, ds, sig);
        uint256 execution = start - gasleft();
        return intrinsic(data, execution);
    }

    function test_SettlingNettedIntentsCostsAFractionOfTransfers() public {
        // One batch first, so payees hold balances (steady state: no zero-to-non-zero
        // writes); the first batch is reported too.
        uint256 firstBatch = settleMeasured(0);
        uint256 batchGas = settleMeasured(1);

        address from = accountAt(0);
        address to = accountAt(1);
        bytes memory data = abi.encodeCall(usd.transfer, (to, 1 ether));
        vm.prank(from);
        uint256 start = gasleft();
        usd.transfer(to, 1 ether);
        uint256 transferGas = intrinsic(data, start - gasleft());

        uint256 perIntentMilli = batchGas * 1000 / INTENTS;
        uint256 ratio = transferGas * INTENTS / batchGas;
        emit log_named_uint("settleBatch tx gas, 10,000 intents over 100 accounts", batchGas);
        emit log_named_uint("same, first batch for these accounts", firstBatch);
        emit log_named_uint("gas per settled intent x1000", perIntentMilli);
        emit log_named_uint("ERC-20 transfer tx gas", transferGas);
        emit log_named_uint("transfer per intent / settled per intent", ratio);
        assertTrue(ratio >= 300, "settlement per intent must be >= 300x cheaper than a transfer");
    }
}
