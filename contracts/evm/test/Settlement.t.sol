// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {Settlement} from "../src/Settlement.sol";
import {MerkleRoot} from "../src/lib/MerkleRoot.sol";
import {CairnTest} from "./utils/Vm.sol";
import {MockToken, FeeOnTransferToken, ReentrantToken} from "./utils/Tokens.sol";

contract SettlementTest is CairnTest {
    uint256 internal constant SIGNER_KEY = 0x5E771E;
    uint256 internal constant OTHER_KEY = 0x0BAD;
    uint64 internal constant DELAY = 1 days;

    address internal owner = address(0x0A11);
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);
    address internal carol = address(0xCA201);
    MockToken internal usd;
    MockToken internal eur;
    Settlement internal settlement;

    function setUp() public {
        vm.warp(2_000_000);
        usd = new MockToken();
        eur = new MockToken();
        settlement = new Settlement(owner, vm.addr(SIGNER_KEY), DELAY);
        vm.startPrank(owner);
        settlement.setAssetAllowed(address(usd), true);
        settlement.setAssetAllowed(address(eur), true);
        vm.stopPrank();
        depositFor(alice, usd, 100 ether);
        depositFor(bob, usd, 50 ether);
    }

    function depositFor(address who, MockToken token, uint256 amount) internal {
        token.mint(who, amount);
        vm.startPrank(who);
        token.approve(address(settlement), type(uint256).max);
        settlement.deposit(address(token), amount);
        vm.stopPrank();
    }

    function delta(address account, MockToken asset, int256 amount)
        internal
        pure
        returns (Settlement.Delta memory)
    {
        return Settlement.Delta(account, address(asset), amount);
    }

    /// Sorts by (asset, account), as the off-chain netting does.
    function sorted(Settlement.Delta[] memory ds)
        internal
        pure
        returns (Settlement.Delta[] memory)
    {
        for (uint256 i = 1; i < ds.length; i++) {
            for (uint256 j = i; j > 0 && before(ds[j], ds[j - 1]); j--) {
                (ds[j], ds[j - 1]) = (ds[j - 1], ds[j]);
            }
        }
        return ds;
    }

    function before(Settlement.Delta memory a, Settlement.Delta memory b)
        internal
        pure
        returns (bool)
    {
        return a.asset < b.asset || (a.asset == b.asset && a.account < b.account);
    }

    function rootOf(Settlement.Delta[] memory ds) internal pure returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](ds.length);
        for (uint256 i = 0; i < ds.length; i++) {
            leaves[i] = MerkleRoot.leafHash(abi.encode(ds[i]));
        }
        return MerkleRoot.root(leaves);
    }

    function commitmentFor(Settlement.Delta[] memory ds)
        internal
        view
        returns (Settlement.BatchCommitment memory)
    {
        return Settlement.BatchCommitment({
            batchId: settlement.lastBatchId() + 1,
            prevHash: settlement.lastCommitmentHash(),
            windowStart: uint64(block.timestamp - 30),
            windowEnd: uint64(block.timestamp),
            intentsRoot: keccak256("intents"),
            deltasRoot: rootOf(ds),
            intentCount: uint32(ds.length),
            deltaCount: uint32(ds.length),
            receiptId: keccak256("receipt")
        });
    }

    function sign(uint256 key, Settlement.BatchCommitment memory c)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, settlement.hashBatch(c));
        return abi.encodePacked(r, s, v);
    }

    function transfer(address from, address to, MockToken asset, int256 amount)
        internal
        pure
        returns (Settlement.Delta[] memory ds)
    {
        ds = new Settlement.Delta[](2);
        ds[0] = delta(from, asset, -amount);
        ds[1] = delta(to, asset, amount);
        return sorted(ds);
    }

    function settle(Settlement.Delta[] memory ds)
        internal
        returns (Settlement.BatchCommitment memory c)
    {
        c = commitmentFor(ds);
        settlement.settleBatch(c, ds, sign(SIGNER_KEY, c));
    }

    // ----------------------------------------------------------------- deposits

    function test_ConstructorAndOwnerChecks() public {
        vm.expectRevert(Settlement.ZeroAddress.selector);
        new Settlement(owner, address(0), DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        settlement.setAssetAllowed(address(1), true);
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        settlement.setSettlementSigner(address(1));
        vm.startPrank(owner);
        vm.expectRevert(Settlement.ZeroAddress.selector);
        settlement.setAssetAllowed(address(0), true);
        vm.expectRevert(Settlement.ZeroAddress.selector);
        settlement.setSettlementSigner(address(0));
        vm.stopPrank();
    }

    function test_DepositsCreditWhatArrives() public {
        assertEq(settlement.balanceOf(alice, address(usd)), 100 ether, "alice");
        assertEq(settlement.totalBalance(address(usd)), 150 ether, "total");
        MockToken other = new MockToken();
        vm.expectRevert(abi.encodeWithSelector(Settlement.AssetNotAllowed.selector, address(other)));
        settlement.deposit(address(other), 1);
        vm.expectRevert(Settlement.ZeroAmount.selector);
        settlement.deposit(address(usd), 0);

        FeeOnTransferToken fee = new FeeOnTransferToken();
        vm.prank(owner);
        settlement.setAssetAllowed(address(fee), true);
        fee.mint(carol, 100 ether);
        vm.startPrank(carol);
        fee.approve(address(settlement), type(uint256).max);
        vm.expectEmit(true, true, false, true);
        emit Settlement.Deposited(carol, address(fee), 99 ether, 99 ether);
        settlement.deposit(address(fee), 100 ether);
        vm.stopPrank();
        assertEq(
            fee.balanceOf(address(settlement)),
            settlement.totalBalance(address(fee)),
            "owed == held"
        );
    }

    // ---------------------------------------------------------------- settlement

    function test_SettleBatchMovesBalancesAndChainsCommitments() public {
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 30 ether);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        bytes32 digest = settlement.hashBatch(c);
        vm.expectEmit(true, true, false, true);
        emit Settlement.BatchSettled(
            1, digest, c.intentsRoot, c.deltasRoot, c.receiptId, c.windowStart, c.windowEnd, 2, 2
        );
        settlement.settleBatch(c, ds, sig);
        assertEq(settlement.balanceOf(alice, address(usd)), 70 ether, "payer debited");
        assertEq(settlement.balanceOf(carol, address(usd)), 30 ether, "payee credited");
        assertEq(settlement.totalBalance(address(usd)), 150 ether, "total unchanged");
        assertEq(settlement.lastBatchId(), 1, "batch id");
        // Two deposits in setUp, two balance changes and the batch here.
        assertEq(settlement.stateEventCount(), 5, "state events counted");
        assertEq(settlement.lastCommitmentHash(), digest, "chained");

        Settlement.BatchCommitment memory next = settle(transfer(bob, carol, usd, 5 ether));
        assertEq(next.prevHash, digest, "second batch names the first");
        assertEq(settlement.lastBatchId(), 2, "contiguous");
    }

    function test_ReplayedOrSkippedBatchIdsAreRefused() public {
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 1 ether);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        settlement.settleBatch(c, ds, sig);
        vm.expectRevert(abi.encodeWithSelector(Settlement.WrongBatchId.selector, 2, 1));
        settlement.settleBatch(c, ds, sig);

        Settlement.BatchCommitment memory skip = commitmentFor(ds);
        skip.batchId = 3;
        bytes memory skipSig = sign(SIGNER_KEY, skip);
        vm.expectRevert(abi.encodeWithSelector(Settlement.WrongBatchId.selector, 2, 3));
        settlement.settleBatch(skip, ds, skipSig);
    }

    function test_WrongPreviousHashIsRefused() public {
        settle(transfer(alice, carol, usd, 1 ether));
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 1 ether);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes32 expected = c.prevHash;
        c.prevHash = keccak256("fork");
        bytes memory sig = sign(SIGNER_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.WrongPrevHash.selector, expected, c.prevHash)
        );
        settlement.settleBatch(c, ds, sig);
    }

    function test_SignatureByAnotherKeyIsRefused() public {
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 1 ether);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(OTHER_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.NotSettlementSigner.selector, vm.addr(OTHER_KEY))
        );
        settlement.settleBatch(c, ds, sig);
    }

    function test_SignatureDoesNotTransferToAnotherChainOrContract() public {
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 1 ether);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        uint256 snapshot = vm.snapshotState();
        vm.chainId(10);
        vm.expectPartialRevert(Settlement.NotSettlementSigner.selector);
        settlement.settleBatch(c, ds, sig);
        vm.revertToState(snapshot);

        Settlement twin = new Settlement(owner, vm.addr(SIGNER_KEY), DELAY);
        vm.prank(owner);
        twin.setAssetAllowed(address(usd), true);
        vm.expectPartialRevert(Settlement.NotSettlementSigner.selector);
        twin.settleBatch(c, ds, sig);
        settlement.settleBatch(c, ds, sig);
    }

    function test_UnbalancedDeltasAreRefused() public {
        Settlement.Delta[] memory ds = new Settlement.Delta[](2);
        ds[0] = delta(alice, usd, -10 ether);
        ds[1] = delta(carol, usd, 11 ether);
        ds = sorted(ds);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(
                Settlement.UnbalancedAsset.selector, address(usd), int256(1 ether)
            )
        );
        settlement.settleBatch(c, ds, sig);
    }

    function test_UnbalancedFirstAssetIsCaughtAtTheBoundary() public {
        depositFor(alice, eur, 10 ether);
        Settlement.Delta[] memory ds = new Settlement.Delta[](3);
        ds[0] = delta(alice, usd, -1 ether);
        ds[1] = delta(alice, eur, -1 ether);
        ds[2] = delta(carol, eur, 2 ether);
        ds = sorted(ds);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        vm.expectPartialRevert(Settlement.UnbalancedAsset.selector);
        settlement.settleBatch(c, ds, sig);
    }

    function test_OverdraftIsRefused() public {
        Settlement.Delta[] memory ds = transfer(bob, carol, usd, 51 ether);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(
                Settlement.Overdraft.selector, bob, address(usd), 50 ether, int256(-51 ether)
            )
        );
        settlement.settleBatch(c, ds, sig);
    }

    function test_DeltaShapeChecks() public {
        // Unsorted.
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 1 ether);
        (ds[0], ds[1]) = (ds[1], ds[0]);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.DeltasNotSorted.selector, 1));
        settlement.settleBatch(c, ds, sig);

        // Duplicate (same account twice).
        ds = new Settlement.Delta[](3);
        ds[0] = delta(alice, usd, -1 ether);
        ds[1] = delta(alice, usd, -1 ether);
        ds[2] = delta(carol, usd, 2 ether);
        if (carol < alice) (ds[0], ds[1], ds[2]) = (ds[2], ds[0], ds[1]);
        c = commitmentFor(ds);
        sig = sign(SIGNER_KEY, c);
        vm.expectPartialRevert(Settlement.DeltasNotSorted.selector);
        settlement.settleBatch(c, ds, sig);

        // Zero amount.
        ds = transfer(alice, carol, usd, 0);
        c = commitmentFor(ds);
        sig = sign(SIGNER_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.ZeroDelta.selector, 0));
        settlement.settleBatch(c, ds, sig);

        // Count, root, window, asset.
        ds = transfer(alice, carol, usd, 1 ether);
        c = commitmentFor(ds);
        c.deltaCount = 3;
        sig = sign(SIGNER_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.WrongDeltaCount.selector, 3, 2));
        settlement.settleBatch(c, ds, sig);

        c = commitmentFor(ds);
        c.deltasRoot = keccak256("other");
        sig = sign(SIGNER_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.WrongDeltasRoot.selector, c.deltasRoot, rootOf(ds))
        );
        settlement.settleBatch(c, ds, sig);

        c = commitmentFor(ds);
        (c.windowStart, c.windowEnd) = (c.windowEnd, c.windowStart);
        sig = sign(SIGNER_KEY, c);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.BadWindow.selector, c.windowStart, c.windowEnd)
        );
        settlement.settleBatch(c, ds, sig);

        MockToken stray = new MockToken();
        ds = transfer(alice, carol, stray, 1 ether);
        c = commitmentFor(ds);
        sig = sign(SIGNER_KEY, c);
        vm.expectRevert(abi.encodeWithSelector(Settlement.AssetNotAllowed.selector, address(stray)));
        settlement.settleBatch(c, ds, sig);
    }

    function test_ExtremeDeltasRevertInsteadOfWrapping() public {
        Settlement.Delta[] memory ds = new Settlement.Delta[](2);
        ds[0] = delta(alice, usd, type(int256).min);
        ds[1] = delta(carol, usd, type(int256).max);
        ds = sorted(ds);
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        vm.expectPartialRevert(Settlement.UnbalancedAsset.selector);
        settlement.settleBatch(c, ds, sig);

        ds = new Settlement.Delta[](3);
        ds[0] = delta(alice, usd, -1);
        ds[1] = delta(bob, usd, type(int256).max);
        ds[2] = delta(carol, usd, type(int256).max);
        ds = sorted(ds);
        c = commitmentFor(ds);
        sig = sign(SIGNER_KEY, c);
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        settlement.settleBatch(c, ds, sig);
        assertEq(settlement.lastBatchId(), 0, "nothing settled");
    }

    function test_DeltasRootViewMatchesTheLibrary() public view {
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, 3 ether);
        assertEq(settlement.deltasRootOf(ds), rootOf(ds), "root");
    }

    // ---------------------------------------------------------------- withdrawals

    function test_WithdrawalWaitsForTheDelay() public {
        vm.startPrank(alice);
        vm.expectRevert(Settlement.ZeroAmount.selector);
        settlement.requestWithdrawal(address(usd), 0);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.InsufficientBalance.selector, 100 ether, 101 ether)
        );
        settlement.requestWithdrawal(address(usd), 101 ether);
        vm.expectRevert(Settlement.NoPendingWithdrawal.selector);
        settlement.withdraw(address(usd));
        settlement.requestWithdrawal(address(usd), 40 ether);
        uint64 readyAt = uint64(block.timestamp + DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.WithdrawalNotReady.selector, readyAt, block.timestamp)
        );
        settlement.withdraw(address(usd));
        vm.warp(readyAt);
        settlement.withdraw(address(usd));
        vm.expectRevert(Settlement.NoPendingWithdrawal.selector);
        settlement.withdraw(address(usd));
        vm.stopPrank();
        assertEq(usd.balanceOf(alice), 40 ether, "paid");
        assertEq(settlement.balanceOf(alice, address(usd)), 60 ether, "left");
        assertEq(settlement.totalBalance(address(usd)), 110 ether, "total");
    }

    /// A payer who requests a withdrawal cannot take out funds a batch already spends:
    /// the batch lands during the delay and the withdrawal gets what is left.
    function test_AWithdrawalCannotFrontRunABatch() public {
        vm.prank(bob);
        settlement.requestWithdrawal(address(usd), 50 ether);
        settle(transfer(bob, carol, usd, 45 ether));
        vm.warp(block.timestamp + DELAY);
        vm.prank(bob);
        settlement.withdraw(address(usd));
        assertEq(usd.balanceOf(bob), 5 ether, "capped at what the batch left");
        assertEq(settlement.balanceOf(carol, address(usd)), 45 ether, "payee keeps its credit");

        vm.prank(carol);
        settlement.requestWithdrawal(address(usd), 45 ether);
        settle(transfer(carol, alice, usd, 45 ether));
        vm.warp(block.timestamp + DELAY);
        vm.prank(carol);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.InsufficientBalance.selector, 0, 45 ether)
        );
        settlement.withdraw(address(usd));
    }

    function test_ReentrancyThroughACallbackTokenIsBlocked() public {
        ReentrantToken evil = new ReentrantToken();
        vm.prank(owner);
        settlement.setAssetAllowed(address(evil), true);
        evil.mint(alice, 10 ether);
        vm.startPrank(alice);
        evil.approve(address(settlement), type(uint256).max);
        settlement.deposit(address(evil), 10 ether);
        settlement.requestWithdrawal(address(evil), 10 ether);
        vm.stopPrank();
        vm.warp(block.timestamp + DELAY);
        evil.arm(address(settlement), abi.encodeCall(Settlement.withdraw, (address(evil))));
        vm.prank(alice);
        settlement.withdraw(address(evil));
        assertTrue(!evil.reentered(), "reentered");
        assertEq(
            keccak256(evil.revertData()),
            keccak256(
                abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)
            ),
            "stopped by the guard"
        );
        assertEq(evil.balanceOf(alice), 10 ether, "paid once");
        assertEq(evil.balanceOf(address(settlement)), 0, "nothing left, nothing owed");
        assertEq(settlement.totalBalance(address(evil)), 0, "owed");
    }

    // --------------------------------------------------------------------- fuzz

    function testFuzz_TransfersSettleIffCovered(uint256 amount, uint256 extra) public {
        amount = bound(amount, 1, 200 ether);
        extra = bound(extra, 0, 1 ether);
        Settlement.Delta[] memory ds = transfer(alice, carol, usd, int256(amount));
        Settlement.BatchCommitment memory c = commitmentFor(ds);
        bytes memory sig = sign(SIGNER_KEY, c);
        if (amount > 100 ether) {
            vm.expectPartialRevert(Settlement.Overdraft.selector);
            settlement.settleBatch(c, ds, sig);
            return;
        }
        settlement.settleBatch(c, ds, sig);
        assertEq(
            settlement.balanceOf(alice, address(usd)) + settlement.balanceOf(carol, address(usd)),
            100 ether,
            "conserved"
        );
        assertEq(settlement.balanceOf(carol, address(usd)), amount, "credited");
    }

    function testFuzz_HashIntentMatchesTheTypedData(
        address payer,
        address payee,
        address asset,
        uint256 amount,
        uint256 nonce,
        uint64 validUntil
    ) public view {
        bytes32 structHash = keccak256(
            abi.encode(
                settlement.PAYMENT_INTENT_TYPEHASH(), payer, payee, asset, amount, nonce, validUntil
            )
        );
        bytes32 expected =
            keccak256(abi.encodePacked(hex"1901", settlement.domainSeparator(), structHash));
        assertEq(
            settlement.hashIntent(payer, payee, asset, amount, nonce, validUntil),
            expected,
            "digest"
        );
    }
}
