// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Settlement} from "../../src/Settlement.sol";
import {MerkleRoot} from "../../src/lib/MerkleRoot.sol";
import {CairnTest, Vm} from "../utils/Vm.sol";
import {MockToken} from "../utils/Tokens.sol";

/// @notice Random vault traffic: deposits, withdrawal requests and payouts, and signed
/// batches that move funds between accounts within their balances.
contract SettlementHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant SIGNER_KEY = 0x5E771E;

    Settlement public immutable settlement;
    MockToken[2] public tokens;
    address[3] public accounts = [address(0x2001), address(0x2002), address(0x2003)];
    uint64 public settled;
    uint64 public lastSeenBatchId;
    bool public batchIdsOutOfOrder;

    constructor(Settlement settlement_, MockToken a, MockToken b) {
        settlement = settlement_;
        tokens = [a, b];
        for (uint256 i = 0; i < accounts.length; i++) {
            for (uint256 t = 0; t < 2; t++) {
                tokens[t].mint(accounts[i], 1e30);
                vm.prank(accounts[i]);
                tokens[t].approve(address(settlement), type(uint256).max);
            }
        }
    }

    function deposit(uint256 who, uint256 asset, uint256 amount) external {
        amount = 1 + (amount % 1000 ether);
        vm.prank(accounts[who % 3]);
        settlement.deposit(address(tokens[asset % 2]), amount);
    }

    function requestWithdrawal(uint256 who, uint256 asset, uint256 amount) external {
        address account = accounts[who % 3];
        address token = address(tokens[asset % 2]);
        uint256 balance = settlement.balanceOf(account, token);
        if (balance == 0) return;
        vm.prank(account);
        settlement.requestWithdrawal(token, 1 + (amount % balance));
    }

    function withdraw(uint256 who, uint256 asset) external {
        address account = accounts[who % 3];
        address token = address(tokens[asset % 2]);
        (uint256 amount, uint64 readyAt) = settlement.pendingWithdrawal(account, token);
        if (amount == 0 || settlement.balanceOf(account, token) == 0) return;
        if (block.timestamp < readyAt) vm.warp(readyAt);
        vm.prank(account);
        settlement.withdraw(token);
    }

    function settle(uint256 from, uint256 to, uint256 asset, uint256 amount) external {
        address payer = accounts[from % 3];
        address payee = accounts[to % 3];
        address token = address(tokens[asset % 2]);
        uint256 balance = settlement.balanceOf(payer, token);
        if (payer == payee || balance == 0) return;
        int256 value = int256(1 + (amount % balance));
        Settlement.Delta[] memory ds = new Settlement.Delta[](2);
        ds[0] =
            Settlement.Delta(payer < payee ? payer : payee, token, payer < payee ? -value : value);
        ds[1] =
            Settlement.Delta(payer < payee ? payee : payer, token, payer < payee ? value : -value);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = MerkleRoot.leafHash(abi.encode(ds[0]));
        leaves[1] = MerkleRoot.leafHash(abi.encode(ds[1]));
        Settlement.BatchCommitment memory c = Settlement.BatchCommitment({
            batchId: settlement.lastBatchId() + 1,
            prevHash: settlement.lastCommitmentHash(),
            windowStart: uint64(block.timestamp),
            windowEnd: uint64(block.timestamp),
            intentsRoot: bytes32(uint256(settled)),
            deltasRoot: MerkleRoot.root(leaves),
            intentCount: 1,
            deltaCount: 2,
            receiptId: bytes32(uint256(settled))
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SIGNER_KEY, settlement.hashBatch(c));
        settlement.settleBatch(c, ds, abi.encodePacked(r, s, v));
        settled++;
        if (settlement.lastBatchId() != lastSeenBatchId + 1) batchIdsOutOfOrder = true;
        lastSeenBatchId = settlement.lastBatchId();
    }

    function advance(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 2 days));
    }
}

contract SettlementInvariantTest is CairnTest {
    Settlement internal settlement;
    SettlementHandler internal handler;
    MockToken internal usd;
    MockToken internal eur;

    function setUp() public {
        vm.warp(2_000_000);
        usd = new MockToken();
        eur = new MockToken();
        settlement = new Settlement(address(this), vm.addr(0x5E771E), 1 days);
        settlement.setAssetAllowed(address(usd), true);
        settlement.setAssetAllowed(address(eur), true);
        handler = new SettlementHandler(settlement, usd, eur);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Σ balances == recorded total == tokens the vault holds, per asset.
    function invariant_BalancesSumToTheVault() public view {
        MockToken[2] memory assets = [usd, eur];
        for (uint256 t = 0; t < 2; t++) {
            uint256 sum = 0;
            for (uint256 i = 0; i < 3; i++) {
                sum += settlement.balanceOf(handler.accounts(i), address(assets[t]));
            }
            assertEq(sum, settlement.totalBalance(address(assets[t])), "sum != total");
            assertEq(sum, assets[t].balanceOf(address(settlement)), "sum != held");
        }
    }

    function invariant_BatchIdsAreContiguous() public view {
        assertEq(settlement.lastBatchId(), handler.settled(), "ids != settled count");
        assertTrue(!handler.batchIdsOutOfOrder(), "a batch id was skipped or repeated");
    }
}
