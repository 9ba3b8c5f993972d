// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Registry} from "../../src/Registry.sol";
import {CairnTest, Vm} from "../utils/Vm.sol";
import {MockToken} from "../utils/Tokens.sol";

/// @notice Random registry traffic for the invariant runner: providers stake, unbond,
/// withdraw and get slashed, with time moving on.
contract RegistryHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint256 internal constant SLASHER_KEY = 0xA11CE;

    Registry public immutable registry;
    MockToken public immutable token;
    address[4] public providers =
        [address(0x1001), address(0x1002), address(0x1003), address(0x1004)];
    uint256 public deposited;
    uint256 public withdrawn;
    uint256 public nextNonce = 1;
    bool public slashedTooMuch;

    constructor(Registry registry_, MockToken token_) {
        registry = registry_;
        token = token_;
        for (uint256 i = 0; i < providers.length; i++) {
            token.mint(providers[i], 1e30);
            vm.prank(providers[i]);
            token.approve(address(registry), type(uint256).max);
        }
    }

    function register(uint256 who, uint256 amount) external {
        address p = providers[who % 4];
        amount = 100 ether + (amount % 1000 ether);
        if (registry.providerOf(p).registered) return;
        vm.prank(p);
        registry.register(address(0xAAAA), amount);
        deposited += amount;
    }

    function addStake(uint256 who, uint256 amount) external {
        address p = providers[who % 4];
        amount = 1 + (amount % 100 ether);
        if (!registry.providerOf(p).registered) return;
        vm.prank(p);
        registry.addStake(amount);
        deposited += amount;
    }

    function unbond(uint256 who, uint256 amount) external {
        address p = providers[who % 4];
        Registry.Provider memory info = registry.providerOf(p);
        if (!info.registered || info.stake == 0) return;
        amount = amount % 2 == 0 ? info.stake : 1 + (amount % info.stake);
        uint256 remaining = info.stake - amount;
        if (remaining != 0 && remaining < registry.minStake()) amount = info.stake;
        vm.prank(p);
        registry.unbond(amount);
    }

    function withdraw(uint256 who) external {
        address p = providers[who % 4];
        Registry.Provider memory info = registry.providerOf(p);
        if (!info.registered || info.unbonding == 0) return;
        if (block.timestamp < info.releaseAt) vm.warp(info.releaseAt);
        vm.prank(p);
        registry.withdraw();
        withdrawn += info.unbonding;
    }

    function slash(uint256 who, uint256 amount) external {
        address p = providers[who % 4];
        Registry.Provider memory info = registry.providerOf(p);
        uint256 slashable = uint256(info.stake) + info.unbonding;
        if (!info.registered || slashable == 0) return;
        amount = 1 + (amount % slashable);
        Registry.Slash memory o = Registry.Slash({
            provider: p,
            amount: amount,
            reason: 1,
            evidenceHash: bytes32(nextNonce),
            receiptId: bytes32(nextNonce),
            nonce: nextNonce++,
            deadline: uint64(block.timestamp + 1)
        });
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(SLASHER_KEY, registry.hashSlash(o));
        registry.slash(o, abi.encodePacked(r, s, v));
        Registry.Provider memory afterSlash = registry.providerOf(p);
        if (uint256(afterSlash.stake) + afterSlash.unbonding + amount != slashable) {
            slashedTooMuch = true;
        }
    }

    function advance(uint256 seconds_) external {
        vm.warp(block.timestamp + (seconds_ % 10 days));
    }

    function providerCount() external pure returns (uint256) {
        return 4;
    }
}

contract RegistryInvariantTest is CairnTest {
    Registry internal registry;
    MockToken internal token;
    RegistryHandler internal handler;
    address internal treasury = address(0x7EA5);

    function setUp() public {
        vm.warp(1_000_000);
        token = new MockToken();
        registry =
            new Registry(token, 100 ether, 7 days, 4, address(this), vm.addr(0xA11CE), treasury);
        handler = new RegistryHandler(registry, token);
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// Every token the registry holds is someone's bonded or unbonding stake.
    function invariant_HeldEqualsStakePlusUnbonding() public view {
        uint256 owed = 0;
        for (uint256 i = 0; i < handler.providerCount(); i++) {
            Registry.Provider memory p = registry.providerOf(handler.providers(i));
            owed += uint256(p.stake) + p.unbonding;
        }
        assertEq(token.balanceOf(address(registry)), owed, "held != stake + unbonding");
    }

    /// Staked = held + withdrawn + sent to the treasury, and the treasury got every slash.
    function invariant_TokensAreConserved() public view {
        assertEq(token.balanceOf(treasury), registry.slashedTotal(), "treasury != slashed");
        assertEq(
            handler.deposited(),
            token.balanceOf(address(registry)) + handler.withdrawn() + registry.slashedTotal(),
            "tokens appeared or vanished"
        );
    }

    function invariant_SlashesNeverExceedSlashable() public view {
        assertTrue(!handler.slashedTooMuch(), "a slash took more than its amount");
    }
}
