// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title Cairn Registry
/// @notice Staked registry of RPC and service endpoints. Providers stake an ERC-20 and
/// register endpoints through an operator key; stake leaves only through `unbond` and,
/// after `unbondingPeriod`, `withdraw`, and stays slashable until then. A slash is valid
/// only when signed (EIP-712) by the slasher key, once per nonce, before its deadline.
/// The rules mirror the reference model in `cairn-core` (`registry.rs`).
contract Registry is EIP712, ReentrancyGuard, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice A slash order, signed by the slasher under this contract's EIP-712 domain.
    struct Slash {
        address provider;
        uint256 amount;
        uint8 reason;
        bytes32 evidenceHash;
        bytes32 receiptId;
        uint256 nonce;
        uint64 deadline;
    }

    struct Provider {
        address operator;
        uint128 stake;
        uint128 unbonding;
        uint64 releaseAt;
        bool registered;
    }

    struct Service {
        address provider;
        string chain;
        string kind;
        string url;
        bytes32 metadataHash;
    }

    bytes32 public constant SLASH_TYPEHASH = keccak256(
        "Slash(address provider,uint256 amount,uint8 reason,bytes32 evidenceHash,bytes32 receiptId,uint256 nonce,uint64 deadline)"
    );
    uint256 public constant MAX_KIND_BYTES = 32;
    uint256 public constant MAX_URL_BYTES = 256;

    IERC20 public immutable stakeToken;
    uint128 public immutable minStake;
    uint64 public immutable unbondingPeriod;
    uint32 public immutable maxServicesPerProvider;

    address public slasher;
    address public treasury;
    /// @notice Everything ever slashed (all of it sent to the treasury).
    uint256 public slashedTotal;

    /// @notice Number of state events this contract has emitted (every event but the
    /// administrative ones). An indexer compares it, read at a block, with the events it
    /// holds up to that block, so a node that leaves logs out of an answer is caught.
    uint64 public stateEventCount;

    mapping(address provider => Provider) internal _providers;
    mapping(address provider => bytes32[]) internal _serviceIds;
    mapping(bytes32 serviceId => Service) internal _services;
    mapping(uint256 nonce => bool) public slashNonceUsed;

    event ProviderRegistered(address indexed provider, address indexed operator, uint256 stake);
    event StakeAdded(address indexed provider, uint256 amount, uint256 stake);
    event OperatorChanged(address indexed provider, address indexed operator);
    event ServiceAdded(
        bytes32 indexed serviceId,
        address indexed provider,
        string chain,
        string kind,
        string url,
        bytes32 metadataHash
    );
    event ServiceRemoved(bytes32 indexed serviceId, address indexed provider);
    event UnbondStarted(
        address indexed provider, uint256 amount, uint256 stake, uint256 unbonding, uint64 releaseAt
    );
    event Withdrawn(address indexed provider, uint256 amount, bool exited);
    event Slashed(
        address indexed provider,
        uint256 indexed nonce,
        uint256 amount,
        uint8 reason,
        bytes32 evidenceHash,
        bytes32 receiptId,
        uint256 stake,
        uint256 unbonding,
        address treasury
    );
    event SlasherChanged(address indexed previous, address indexed slasher);
    event TreasuryChanged(address indexed previous, address indexed treasury);

    error ZeroAddress();
    error ZeroAmount();
    error AlreadyRegistered();
    error NotRegistered();
    error NotOperator();
    error StakeBelowMinimum(uint256 stake, uint256 minimum);
    error ServiceExists(bytes32 serviceId);
    error UnknownService(bytes32 serviceId);
    error TooManyServices(uint256 maximum);
    error InvalidEndpoint(string reason);
    error UnbondExceedsStake(uint256 requested, uint256 stake);
    error UnbondLeavesBelowMinimum(uint256 remaining, uint256 minimum);
    error NothingUnbonding();
    error StillUnbonding(uint64 releaseAt, uint256 now_);
    error NotSlasher(address recovered);
    error NonceUsed(uint256 nonce);
    error SlashExpired(uint64 deadline, uint256 now_);
    error SlashExceedsSlashable(uint256 amount, uint256 slashable);
    error AmountTooLarge();

    constructor(
        IERC20 stakeToken_,
        uint128 minStake_,
        uint64 unbondingPeriod_,
        uint32 maxServicesPerProvider_,
        address owner_,
        address slasher_,
        address treasury_
    ) EIP712("Cairn Registry", "1") Ownable(owner_) {
        if (address(stakeToken_) == address(0) || slasher_ == address(0) || treasury_ == address(0))
        {
            revert ZeroAddress();
        }
        if (minStake_ == 0 || maxServicesPerProvider_ == 0) revert ZeroAmount();
        stakeToken = stakeToken_;
        minStake = minStake_;
        unbondingPeriod = unbondingPeriod_;
        maxServicesPerProvider = maxServicesPerProvider_;
        slasher = slasher_;
        treasury = treasury_;
        emit SlasherChanged(address(0), slasher_);
        emit TreasuryChanged(address(0), treasury_);
    }

    // ------------------------------------------------------------------ stake

    /// @notice Registers the caller as a provider with `amount` of stake.
    function register(address operator, uint256 amount) external nonReentrant {
        if (operator == address(0)) revert ZeroAddress();
        Provider storage p = _providers[msg.sender];
        if (p.registered) revert AlreadyRegistered();
        uint128 received = _pull(amount);
        if (received < minStake) revert StakeBelowMinimum(received, minStake);
        p.registered = true;
        p.operator = operator;
        p.stake = received;
        stateEventCount++;
        emit ProviderRegistered(msg.sender, operator, received);
    }

    function addStake(uint256 amount) external nonReentrant {
        Provider storage p = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint128 received = _pull(amount);
        p.stake += received;
        stateEventCount++;
        emit StakeAdded(msg.sender, received, p.stake);
    }

    function setOperator(address operator) external {
        if (operator == address(0)) revert ZeroAddress();
        _registered(msg.sender).operator = operator;
        stateEventCount++;
        emit OperatorChanged(msg.sender, operator);
    }

    /// @notice Starts the unbonding delay for `amount`. A partial unbond must leave at least
    /// `minStake` bonded; a second unbond adds to the first and restarts the delay.
    function unbond(uint256 amount) external {
        Provider storage p = _registered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (amount > p.stake) revert UnbondExceedsStake(amount, p.stake);
        // forge-lint: disable-next-line(unsafe-typecast) amount <= p.stake, a uint128
        uint128 remaining = p.stake - uint128(amount);
        if (remaining != 0 && remaining < minStake) {
            revert UnbondLeavesBelowMinimum(remaining, minStake);
        }
        p.stake = remaining;
        // forge-lint: disable-next-line(unsafe-typecast) amount <= the old p.stake
        p.unbonding += uint128(amount);
        p.releaseAt = uint64(block.timestamp) + unbondingPeriod;
        stateEventCount++;
        emit UnbondStarted(msg.sender, amount, remaining, p.unbonding, p.releaseAt);
    }

    /// @notice Pays out unbonded stake once its delay has passed. With nothing left bonded
    /// the provider exits: its record and endpoints are removed.
    function withdraw() external nonReentrant {
        Provider storage p = _registered(msg.sender);
        uint128 amount = p.unbonding;
        if (amount == 0) revert NothingUnbonding();
        if (block.timestamp < p.releaseAt) revert StillUnbonding(p.releaseAt, block.timestamp);
        p.unbonding = 0;
        p.releaseAt = 0;
        bool exited = p.stake == 0;
        if (exited) _exit(msg.sender);
        stateEventCount++;
        emit Withdrawn(msg.sender, amount, exited);
        stakeToken.safeTransfer(msg.sender, amount);
    }

    // -------------------------------------------------------------- endpoints

    /// @notice Adds an endpoint to `provider`'s registration; only its operator may.
    function addService(
        address provider,
        string calldata chain,
        string calldata kind,
        string calldata url,
        bytes32 metadataHash
    ) external returns (bytes32 serviceId) {
        Provider storage p = _registered(provider);
        if (msg.sender != p.operator) revert NotOperator();
        _validateEndpoint(chain, kind, url);
        bytes32[] storage ids = _serviceIds[provider];
        if (ids.length >= maxServicesPerProvider) revert TooManyServices(maxServicesPerProvider);
        serviceId = serviceIdOf(provider, chain, kind, url);
        if (_services[serviceId].provider != address(0)) revert ServiceExists(serviceId);
        _services[serviceId] = Service(provider, chain, kind, url, metadataHash);
        ids.push(serviceId);
        stateEventCount++;
        emit ServiceAdded(serviceId, provider, chain, kind, url, metadataHash);
    }

    function removeService(address provider, bytes32 serviceId) external {
        Provider storage p = _registered(provider);
        if (msg.sender != p.operator) revert NotOperator();
        if (_services[serviceId].provider != provider) revert UnknownService(serviceId);
        bytes32[] storage ids = _serviceIds[provider];
        uint256 last = ids.length - 1;
        for (uint256 i = 0; i <= last; i++) {
            if (ids[i] == serviceId) {
                ids[i] = ids[last];
                ids.pop();
                break;
            }
        }
        delete _services[serviceId];
        stateEventCount++;
        emit ServiceRemoved(serviceId, provider);
    }

    // ---------------------------------------------------------------- slashing

    /// @notice Applies a slash signed by the slasher key. Bonded stake goes first, then
    /// unbonding stake; the amount goes to the treasury.
    function slash(Slash calldata order, bytes calldata signature) external nonReentrant {
        if (block.timestamp > order.deadline) revert SlashExpired(order.deadline, block.timestamp);
        if (slashNonceUsed[order.nonce]) revert NonceUsed(order.nonce);
        address recovered = ECDSA.recover(hashSlash(order), signature);
        if (recovered != slasher) revert NotSlasher(recovered);
        if (order.amount == 0) revert ZeroAmount();
        Provider storage p = _registered(order.provider);
        uint256 slashable = uint256(p.stake) + p.unbonding;
        if (order.amount > slashable) revert SlashExceedsSlashable(order.amount, slashable);

        slashNonceUsed[order.nonce] = true;
        // stake + unbonding can exceed 2^128 only in theory; refuse rather than truncate.
        if (order.amount > type(uint128).max) revert AmountTooLarge();
        // forge-lint: disable-next-line(unsafe-typecast) checked on the line above
        uint128 amount = uint128(order.amount);
        uint128 fromStake = amount < p.stake ? amount : p.stake;
        p.stake -= fromStake;
        p.unbonding -= amount - fromStake;
        if (p.unbonding == 0) p.releaseAt = 0;
        slashedTotal += amount;
        address to = treasury;
        stateEventCount++;
        emit Slashed(
            order.provider,
            order.nonce,
            amount,
            order.reason,
            order.evidenceHash,
            order.receiptId,
            p.stake,
            p.unbonding,
            to
        );
        stakeToken.safeTransfer(to, amount);
    }

    /// @notice The EIP-712 digest the slasher signs for `order`.
    function hashSlash(Slash calldata order) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    SLASH_TYPEHASH,
                    order.provider,
                    order.amount,
                    order.reason,
                    order.evidenceHash,
                    order.receiptId,
                    order.nonce,
                    order.deadline
                )
            )
        );
    }

    // ------------------------------------------------------------------- owner

    function setSlasher(address slasher_) external onlyOwner {
        if (slasher_ == address(0)) revert ZeroAddress();
        emit SlasherChanged(slasher, slasher_);
        slasher = slasher_;
    }

    function setTreasury(address treasury_) external onlyOwner {
        if (treasury_ == address(0)) revert ZeroAddress();
        emit TreasuryChanged(treasury, treasury_);
        treasury = treasury_;
    }

    // ------------------------------------------------------------------- views

    /// @notice `keccak256(abi.encode(bytes provider, string chain, string kind, string url))`,
    /// as `cairn-core`'s `ServiceId::compute`.
    function serviceIdOf(
        address provider,
        string calldata chain,
        string calldata kind,
        string calldata url
    ) public pure returns (bytes32) {
        return keccak256(abi.encode(abi.encodePacked(provider), chain, kind, url));
    }

    function providerOf(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    function serviceOf(bytes32 serviceId) external view returns (Service memory) {
        return _services[serviceId];
    }

    function serviceIdsOf(address provider) external view returns (bytes32[] memory) {
        return _serviceIds[provider];
    }

    /// @notice Whether the provider holds at least `minStake` bonded, and so is served.
    function isActive(address provider) external view returns (bool) {
        return _providers[provider].registered && _providers[provider].stake >= minStake;
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internal

    function _registered(address provider) internal view returns (Provider storage p) {
        p = _providers[provider];
        if (!p.registered) revert NotRegistered();
    }

    /// Credits what actually arrived, so a token that takes a fee on transfer cannot make
    /// the contract owe more than it holds.
    function _pull(uint256 amount) internal returns (uint128) {
        uint256 before = stakeToken.balanceOf(address(this));
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = stakeToken.balanceOf(address(this)) - before;
        if (received > type(uint128).max) revert AmountTooLarge();
        // forge-lint: disable-next-line(unsafe-typecast) checked on the line above
        return uint128(received);
    }

    function _exit(address provider) internal {
        bytes32[] storage ids = _serviceIds[provider];
        for (uint256 i = ids.length; i > 0; i--) {
            bytes32 id = ids[i - 1];
            delete _services[id];
            ids.pop();
            stateEventCount++;
            emit ServiceRemoved(id, provider);
        }
        delete _providers[provider];
    }

    function _validateEndpoint(string calldata chain, string calldata kind, string calldata url)
        internal
        pure
    {
        bytes calldata k = bytes(kind);
        if (k.length == 0 || k.length > MAX_KIND_BYTES) {
            revert InvalidEndpoint("kind must be 1-32 bytes");
        }
        for (uint256 i = 0; i < k.length; i++) {
            bytes1 c = k[i];
            if (!((c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "-")) {
                revert InvalidEndpoint("kind must be lowercase a-z, 0-9 or -");
            }
        }
        bytes calldata u = bytes(url);
        if (u.length > MAX_URL_BYTES) revert InvalidEndpoint("url is longer than 256 bytes");
        uint256 hostStart = _schemeLength(u);
        if (hostStart == 0) {
            revert InvalidEndpoint("url must start with http://, https://, ws:// or wss://");
        }
        if (u.length == hostStart || u[hostStart] == "/") {
            revert InvalidEndpoint("url has no host");
        }
        for (uint256 i = 0; i < u.length; i++) {
            if (u[i] <= 0x20 || u[i] >= 0x7f) {
                revert InvalidEndpoint("url must be printable ASCII without spaces");
            }
        }
        if (bytes(chain).length == 0 || bytes(chain).length > 41) {
            revert InvalidEndpoint("chain must be a CAIP-2 id");
        }
    }

    /// Length of a leading `http://`, `https://`, `ws://` or `wss://`, else 0.
    function _schemeLength(bytes calldata u) internal pure returns (uint256) {
        if (_startsWith(u, "http://")) return 7;
        if (_startsWith(u, "https://")) return 8;
        if (_startsWith(u, "ws://")) return 5;
        if (_startsWith(u, "wss://")) return 6;
        return 0;
    }

    function _startsWith(bytes calldata u, bytes memory prefix) internal pure returns (bool) {
        if (u.length < prefix.length) return false;
        for (uint256 i = 0; i < prefix.length; i++) {
            if (u[i] != prefix[i]) return false;
        }
        return true;
    }
}
