// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {MerkleRoot} from "./lib/MerkleRoot.sol";

/// @title Cairn Settlement
/// @notice Payers deposit ERC-20 assets once; Cairn nets their signed payment intents
/// off-chain and settles each window as one batch of balance deltas, signed by the
/// settlement key (the threshold key's address). Withdrawals wait `withdrawalDelay` and
/// stay debitable meanwhile, so a payer cannot pull funds out from under a batch that is
/// already on its way. Deltas are checked here: contiguous batch ids, the previous
/// commitment's hash, Σδ = 0 per asset, the deltas root, and no balance below zero.
contract Settlement is EIP712, ReentrancyGuard, Ownable2Step {
    using SafeERC20 for IERC20;

    struct BatchCommitment {
        uint64 batchId;
        bytes32 prevHash;
        uint64 windowStart;
        uint64 windowEnd;
        bytes32 intentsRoot;
        bytes32 deltasRoot;
        uint32 intentCount;
        uint32 deltaCount;
        bytes32 receiptId;
    }

    /// @notice One net balance change; a batch's deltas are sorted by (asset, account).
    struct Delta {
        address account;
        address asset;
        int256 amount;
    }

    struct PendingWithdrawal {
        uint256 amount;
        uint64 readyAt;
    }

    bytes32 public constant BATCH_COMMITMENT_TYPEHASH = keccak256(
        "BatchCommitment(uint64 batchId,bytes32 prevHash,uint64 windowStart,uint64 windowEnd,bytes32 intentsRoot,bytes32 deltasRoot,uint32 intentCount,uint32 deltaCount,bytes32 receiptId)"
    );
    bytes32 public constant PAYMENT_INTENT_TYPEHASH = keccak256(
        "PaymentIntent(address payer,address payee,address asset,uint256 amount,uint256 nonce,uint64 validUntil)"
    );

    uint64 public immutable withdrawalDelay;

    /// @notice Address whose EIP-712 signature settles batches.
    address public settlementSigner;
    uint64 public lastBatchId;
    /// @notice EIP-712 digest of the last settled commitment; the next one names it.
    bytes32 public lastCommitmentHash;

    /// @notice Number of state events this contract has emitted (every event but the
    /// administrative ones). An indexer compares it, read at a block, with the events it
    /// holds up to that block, so a node that leaves logs out of an answer is caught.
    uint64 public stateEventCount;

    mapping(address asset => bool) public assetAllowed;
    mapping(address account => mapping(address asset => uint256)) public balanceOf;
    /// @notice Σ balances per asset: what the vault owes, equal to what it holds.
    mapping(address asset => uint256) public totalBalance;
    mapping(address account => mapping(address asset => PendingWithdrawal)) public
        pendingWithdrawal;

    event AssetAllowed(address indexed asset, bool allowed);
    event SettlementSignerChanged(address indexed previous, address indexed signer);
    event Deposited(
        address indexed account, address indexed asset, uint256 amount, uint256 balance
    );
    event WithdrawalRequested(
        address indexed account, address indexed asset, uint256 amount, uint64 readyAt
    );
    event Withdrawn(
        address indexed account, address indexed asset, uint256 amount, uint256 balance
    );
    event BatchSettled(
        uint64 indexed batchId,
        bytes32 indexed commitmentHash,
        bytes32 intentsRoot,
        bytes32 deltasRoot,
        bytes32 receiptId,
        uint64 windowStart,
        uint64 windowEnd,
        uint32 intentCount,
        uint32 deltaCount
    );
    event BalanceChanged(
        uint64 indexed batchId,
        address indexed account,
        address indexed asset,
        int256 delta,
        uint256 balance
    );

    error ZeroAddress();
    error ZeroAmount();
    error AssetNotAllowed(address asset);
    error InsufficientBalance(uint256 available, uint256 requested);
    error NoPendingWithdrawal();
    error WithdrawalNotReady(uint64 readyAt, uint256 now_);
    error WrongBatchId(uint64 expected, uint64 got);
    error WrongPrevHash(bytes32 expected, bytes32 got);
    error WrongDeltaCount(uint32 declared, uint256 got);
    error DeltasNotSorted(uint256 index);
    error ZeroDelta(uint256 index);
    error UnbalancedAsset(address asset, int256 sum);
    error WrongDeltasRoot(bytes32 declared, bytes32 computed);
    error Overdraft(address account, address asset, uint256 balance, int256 delta);
    error BadWindow(uint64 windowStart, uint64 windowEnd);
    error NotSettlementSigner(address recovered);

    constructor(address owner_, address settlementSigner_, uint64 withdrawalDelay_)
        EIP712("Cairn Settlement", "1")
        Ownable(owner_)
    {
        if (settlementSigner_ == address(0)) revert ZeroAddress();
        settlementSigner = settlementSigner_;
        withdrawalDelay = withdrawalDelay_;
        emit SettlementSignerChanged(address(0), settlementSigner_);
    }

    // ---------------------------------------------------------------- payers

    function deposit(address asset, uint256 amount) external nonReentrant {
        if (!assetAllowed[asset]) revert AssetNotAllowed(asset);
        if (amount == 0) revert ZeroAmount();
        uint256 before = IERC20(asset).balanceOf(address(this));
        IERC20(asset).safeTransferFrom(msg.sender, address(this), amount);
        // Credit what arrived: a fee-taking token must not make the vault owe more than it holds.
        uint256 received = IERC20(asset).balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender][asset] + received;
        balanceOf[msg.sender][asset] = balance;
        totalBalance[asset] += received;
        stateEventCount++;
        emit Deposited(msg.sender, asset, received, balance);
    }

    /// @notice Announces a withdrawal; it can be taken after `withdrawalDelay`. A new request
    /// replaces the previous one and restarts the delay.
    function requestWithdrawal(address asset, uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        uint256 balance = balanceOf[msg.sender][asset];
        if (amount > balance) revert InsufficientBalance(balance, amount);
        uint64 readyAt = uint64(block.timestamp) + withdrawalDelay;
        pendingWithdrawal[msg.sender][asset] = PendingWithdrawal(amount, readyAt);
        stateEventCount++;
        emit WithdrawalRequested(msg.sender, asset, amount, readyAt);
    }

    /// @notice Pays out a requested withdrawal, capped at the balance left after any
    /// batches settled during the delay.
    function withdraw(address asset) external nonReentrant {
        PendingWithdrawal memory pending = pendingWithdrawal[msg.sender][asset];
        if (pending.amount == 0) revert NoPendingWithdrawal();
        if (block.timestamp < pending.readyAt) {
            revert WithdrawalNotReady(pending.readyAt, block.timestamp);
        }
        delete pendingWithdrawal[msg.sender][asset];
        uint256 balance = balanceOf[msg.sender][asset];
        uint256 amount = pending.amount < balance ? pending.amount : balance;
        if (amount == 0) revert InsufficientBalance(0, pending.amount);
        balanceOf[msg.sender][asset] = balance - amount;
        totalBalance[asset] -= amount;
        stateEventCount++;
        emit Withdrawn(msg.sender, asset, amount, balance - amount);
        IERC20(asset).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------- settlement

    /// @notice Applies one netted batch. Anyone may submit it; only the settlement
    /// signer's signature over the commitment makes it valid.
    function settleBatch(
        BatchCommitment calldata commitment,
        Delta[] calldata deltas,
        bytes calldata signature
    ) external nonReentrant {
        uint64 expected = lastBatchId + 1;
        if (commitment.batchId != expected) revert WrongBatchId(expected, commitment.batchId);
        if (commitment.prevHash != lastCommitmentHash) {
            revert WrongPrevHash(lastCommitmentHash, commitment.prevHash);
        }
        if (commitment.windowEnd < commitment.windowStart) {
            revert BadWindow(commitment.windowStart, commitment.windowEnd);
        }
        if (deltas.length != commitment.deltaCount) {
            revert WrongDeltaCount(commitment.deltaCount, deltas.length);
        }
        bytes32 digest = hashBatch(commitment);
        address recovered = ECDSA.recover(digest, signature);
        if (recovered != settlementSigner) revert NotSettlementSigner(recovered);

        bytes32 computed = _checkDeltas(deltas);
        if (computed != commitment.deltasRoot) {
            revert WrongDeltasRoot(commitment.deltasRoot, computed);
        }

        uint64 batchId = commitment.batchId;
        lastBatchId = batchId;
        lastCommitmentHash = digest;
        // One write for the whole loop's BalanceChanged events.
        stateEventCount += uint64(deltas.length);
        for (uint256 i = 0; i < deltas.length; i++) {
            Delta calldata d = deltas[i];
            uint256 balance = balanceOf[d.account][d.asset];
            uint256 updated;
            if (d.amount < 0) {
                uint256 debit = uint256(-d.amount);
                if (debit > balance) revert Overdraft(d.account, d.asset, balance, d.amount);
                updated = balance - debit;
            } else {
                updated = balance + uint256(d.amount);
            }
            balanceOf[d.account][d.asset] = updated;
            emit BalanceChanged(batchId, d.account, d.asset, d.amount, updated);
        }
        _emitSettled(commitment, digest);
    }

    /// @notice The EIP-712 digest the settlement signer signs for `commitment`.
    function hashBatch(BatchCommitment calldata commitment) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(BATCH_COMMITMENT_TYPEHASH, commitment)));
    }

    /// @notice The EIP-712 digest a payer signs for a payment intent (for clients and tests;
    /// intents themselves are checked off-chain and committed through `intentsRoot`).
    function hashIntent(
        address payer,
        address payee,
        address asset,
        uint256 amount,
        uint256 nonce,
        uint64 validUntil
    ) external view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(PAYMENT_INTENT_TYPEHASH, payer, payee, asset, amount, nonce, validUntil)
            )
        );
    }

    /// @notice The Merkle root over `deltas` that a commitment must declare.
    function deltasRootOf(Delta[] calldata deltas) external pure returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](deltas.length);
        for (uint256 i = 0; i < deltas.length; i++) {
            leaves[i] = MerkleRoot.leafHash(abi.encode(deltas[i]));
        }
        return MerkleRoot.root(leaves);
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ owner

    function setAssetAllowed(address asset, bool allowed) external onlyOwner {
        if (asset == address(0)) revert ZeroAddress();
        assetAllowed[asset] = allowed;
        emit AssetAllowed(asset, allowed);
    }

    function setSettlementSigner(address signer_) external onlyOwner {
        if (signer_ == address(0)) revert ZeroAddress();
        emit SettlementSignerChanged(settlementSigner, signer_);
        settlementSigner = signer_;
    }

    // --------------------------------------------------------------- internal

    /// In its own frame: the event's nine fields do not fit beside settleBatch's locals.
    function _emitSettled(BatchCommitment calldata c, bytes32 digest) internal {
        stateEventCount++;
        emit BatchSettled(
            c.batchId,
            digest,
            c.intentsRoot,
            c.deltasRoot,
            c.receiptId,
            c.windowStart,
            c.windowEnd,
            c.intentCount,
            c.deltaCount
        );
    }

    /// Checks order (strictly increasing (asset, account), which also rules out
    /// duplicates), non-zero amounts, allowed assets and Σδ = 0 per asset, and returns the
    /// deltas root.
    function _checkDeltas(Delta[] calldata deltas) internal view returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](deltas.length);
        int256 sum = 0;
        for (uint256 i = 0; i < deltas.length; i++) {
            Delta calldata d = deltas[i];
            if (d.amount == 0) revert ZeroDelta(i);
            if (i > 0) {
                Delta calldata prev = deltas[i - 1];
                bool sameAsset = prev.asset == d.asset;
                if (prev.asset > d.asset || (sameAsset && prev.account >= d.account)) {
                    revert DeltasNotSorted(i);
                }
                if (!sameAsset) {
                    if (sum != 0) revert UnbalancedAsset(prev.asset, sum);
                    sum = 0;
                }
            }
            if (i == 0 || deltas[i - 1].asset != d.asset) {
                if (!assetAllowed[d.asset]) revert AssetNotAllowed(d.asset);
            }
            sum += d.amount;
            leaves[i] = MerkleRoot.leafHash(abi.encode(d));
        }
        if (deltas.length > 0 && sum != 0) {
            revert UnbalancedAsset(deltas[deltas.length - 1].asset, sum);
        }
        return MerkleRoot.root(leaves);
    }
}
