// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {Registry} from "../src/Registry.sol";
import {CairnTest} from "./utils/Vm.sol";
import {MockToken, FeeOnTransferToken, ReentrantToken} from "./utils/Tokens.sol";

contract RegistryTest is CairnTest {
    uint256 internal constant SLASHER_KEY = 0xA11CE;
    uint256 internal constant OTHER_KEY = 0xB0B0;
    uint128 internal constant MIN = 100 ether;
    uint64 internal constant PERIOD = 7 days;
    uint32 internal constant MAX_SERVICES = 3;

    address internal owner = address(0x0A11);
    address internal treasury = address(0x7EA5);
    address internal provider = address(0xB0B);
    address internal operator = address(0x09E7A70B);
    address internal slasher;
    MockToken internal token;
    Registry internal registry;

    function setUp() public {
        vm.warp(1_000_000);
        slasher = vm.addr(SLASHER_KEY);
        token = new MockToken();
        registry = new Registry(token, MIN, PERIOD, MAX_SERVICES, owner, slasher, treasury);
        fund(provider, 1000 ether);
    }

    function fund(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(registry), type(uint256).max);
    }

    function registerProvider(uint256 stake) internal {
        vm.prank(provider);
        registry.register(operator, stake);
    }

    function order(uint256 amount, uint256 nonce) internal view returns (Registry.Slash memory) {
        return Registry.Slash({
            provider: provider,
            amount: amount,
            reason: 2,
            evidenceHash: keccak256("evidence"),
            receiptId: keccak256("receipt"),
            nonce: nonce,
            deadline: uint64(block.timestamp + 1 hours)
        });
    }

    function signParts(uint256 key, Registry.Slash memory o)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(key, registry.hashSlash(o));
    }

    /// Signs before any expectRevert: hashSlash is itself a call and would be "the next call".
    function sign(uint256 key, Registry.Slash memory o) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = signParts(key, o);
        return abi.encodePacked(r, s, v);
    }

    function addService(string memory url) internal returns (bytes32) {
        vm.prank(operator);
        return registry.addService(provider, "eip155:1", "rpc", url, bytes32(0));
    }

    // ------------------------------------------------------------ construction

    function test_ConstructorRefusesZeroAddressesAndAmounts() public {
        vm.expectRevert(Registry.ZeroAddress.selector);
        new Registry(IERC20(address(0)), MIN, PERIOD, 3, owner, slasher, treasury);
        vm.expectRevert(Registry.ZeroAddress.selector);
        new Registry(token, MIN, PERIOD, 3, owner, address(0), treasury);
        vm.expectRevert(Registry.ZeroAddress.selector);
        new Registry(token, MIN, PERIOD, 3, owner, slasher, address(0));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new Registry(token, MIN, PERIOD, 3, address(0), slasher, treasury);
        vm.expectRevert(Registry.ZeroAmount.selector);
        new Registry(token, 0, PERIOD, 3, owner, slasher, treasury);
        vm.expectRevert(Registry.ZeroAmount.selector);
        new Registry(token, MIN, PERIOD, 0, owner, slasher, treasury);
    }

    // ------------------------------------------------------------ registration

    function test_RegisterPullsStakeAndRecordsTheProvider() public {
        vm.expectEmit(true, true, false, true);
        emit Registry.ProviderRegistered(provider, operator, 150 ether);
        registerProvider(150 ether);
        Registry.Provider memory p = registry.providerOf(provider);
        assertEq(p.operator, operator, "operator");
        assertEq(p.stake, 150 ether, "stake");
        assertTrue(registry.isActive(provider), "active");
        assertEq(token.balanceOf(address(registry)), 150 ether, "tokens held");
    }

    function test_RegisterRefusals() public {
        vm.prank(provider);
        vm.expectRevert(Registry.ZeroAddress.selector);
        registry.register(address(0), MIN);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(Registry.StakeBelowMinimum.selector, MIN - 1, MIN));
        registry.register(operator, MIN - 1);
        registerProvider(MIN);
        vm.prank(provider);
        vm.expectRevert(Registry.AlreadyRegistered.selector);
        registry.register(operator, MIN);
    }

    function test_FeeOnTransferStakeCreditsWhatArrived() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        Registry r = new Registry(fee, MIN, PERIOD, 3, owner, slasher, treasury);
        fee.mint(provider, 1000 ether);
        vm.startPrank(provider);
        fee.approve(address(r), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(Registry.StakeBelowMinimum.selector, 99 ether, MIN));
        r.register(operator, MIN);
        r.register(operator, 200 ether);
        vm.stopPrank();
        assertEq(r.providerOf(provider).stake, 198 ether, "credited after the fee");
        assertEq(fee.balanceOf(address(r)), 198 ether, "owed == held");
    }

    function test_AddStakeAndSetOperator() public {
        vm.prank(provider);
        vm.expectRevert(Registry.NotRegistered.selector);
        registry.addStake(1 ether);
        registerProvider(MIN);
        vm.prank(provider);
        vm.expectRevert(Registry.ZeroAmount.selector);
        registry.addStake(0);
        vm.prank(provider);
        registry.addStake(5 ether);
        assertEq(registry.providerOf(provider).stake, MIN + 5 ether, "stake added");

        vm.prank(provider);
        vm.expectRevert(Registry.ZeroAddress.selector);
        registry.setOperator(address(0));
        vm.prank(provider);
        registry.setOperator(address(0xC0C0));
        assertEq(registry.providerOf(provider).operator, address(0xC0C0), "operator changed");
        vm.prank(operator);
        vm.expectRevert(Registry.NotOperator.selector);
        registry.addService(provider, "eip155:1", "rpc", "https://a.example", bytes32(0));
    }

    // --------------------------------------------------------------- endpoints

    function test_OnlyTheOperatorManagesEndpoints() public {
        registerProvider(MIN);
        vm.prank(provider);
        vm.expectRevert(Registry.NotOperator.selector);
        registry.addService(provider, "eip155:1", "rpc", "https://a.example", bytes32(0));

        bytes32 id = addService("https://a.example");
        assertEq(
            id, registry.serviceIdOf(provider, "eip155:1", "rpc", "https://a.example"), "service id"
        );
        Registry.Service memory s = registry.serviceOf(id);
        assertEq(s.provider, provider, "service provider");
        assertEq(keccak256(bytes(s.url)), keccak256("https://a.example"), "url stored");

        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Registry.ServiceExists.selector, id));
        registry.addService(provider, "eip155:1", "rpc", "https://a.example", bytes32(0));

        vm.prank(address(0xBAD));
        vm.expectRevert(Registry.NotOperator.selector);
        registry.removeService(provider, id);

        vm.prank(operator);
        registry.removeService(provider, id);
        assertEq(registry.serviceOf(id).provider, address(0), "removed");
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Registry.UnknownService.selector, id));
        registry.removeService(provider, id);
    }

    function test_ServiceLimitAndRemovalKeepsTheOthers() public {
        registerProvider(MIN);
        bytes32 a = addService("https://a.example");
        bytes32 b = addService("https://b.example");
        bytes32 c = addService("https://c.example");
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(Registry.TooManyServices.selector, MAX_SERVICES));
        registry.addService(provider, "eip155:1", "rpc", "https://d.example", bytes32(0));
        vm.prank(operator);
        registry.removeService(provider, a);
        bytes32[] memory ids = registry.serviceIdsOf(provider);
        assertEq(ids.length, 2, "two left");
        assertTrue((ids[0] == c && ids[1] == b) || (ids[0] == b && ids[1] == c), "b and c kept");
        addService("https://d.example");
    }

    function test_EndpointValidation() public {
        registerProvider(MIN);
        string[8] memory badUrls = [
            "ftp://a.example",
            "https://",
            "https:///path",
            "https://a b",
            "http:/a",
            "https://a\n",
            "",
            "HTTPS://a.example"
        ];
        for (uint256 i = 0; i < badUrls.length; i++) {
            vm.prank(operator);
            vm.expectPartialRevert(Registry.InvalidEndpoint.selector);
            registry.addService(provider, "eip155:1", "rpc", badUrls[i], bytes32(0));
        }
        bytes memory long = new bytes(257);
        for (uint256 i = 0; i < long.length; i++) {
            long[i] = "a";
        }
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(
                Registry.InvalidEndpoint.selector, "url is longer than 256 bytes"
            )
        );
        registry.addService(provider, "eip155:1", "rpc", string(long), bytes32(0));
        string[3] memory badKinds = ["", "RPC", "rpc archive"];
        for (uint256 i = 0; i < badKinds.length; i++) {
            vm.prank(operator);
            vm.expectPartialRevert(Registry.InvalidEndpoint.selector);
            registry.addService(provider, "eip155:1", badKinds[i], "https://a.example", bytes32(0));
        }
        vm.prank(operator);
        vm.expectRevert(
            abi.encodeWithSelector(Registry.InvalidEndpoint.selector, "chain must be a CAIP-2 id")
        );
        registry.addService(provider, "", "rpc", "https://a.example", bytes32(0));
        vm.prank(operator);
        registry.addService(provider, "eip155:1", "rpc-archive", "wss://a.example:8546/ws", 0);
    }

    // ---------------------------------------------------------------- unbonding

    function test_UnbondRules() public {
        registerProvider(300 ether);
        vm.startPrank(provider);
        vm.expectRevert(Registry.ZeroAmount.selector);
        registry.unbond(0);
        vm.expectRevert(
            abi.encodeWithSelector(Registry.UnbondExceedsStake.selector, 301 ether, 300 ether)
        );
        registry.unbond(301 ether);
        vm.expectRevert(
            abi.encodeWithSelector(Registry.UnbondLeavesBelowMinimum.selector, 50 ether, MIN)
        );
        registry.unbond(250 ether);
        vm.expectRevert(Registry.NothingUnbonding.selector);
        registry.withdraw();
        registry.unbond(100 ether);
        uint64 release = uint64(block.timestamp) + PERIOD;
        vm.expectRevert(
            abi.encodeWithSelector(Registry.StillUnbonding.selector, release, block.timestamp)
        );
        registry.withdraw();
        vm.warp(block.timestamp + 1 days);
        registry.unbond(100 ether);
        vm.warp(release);
        vm.expectRevert(
            abi.encodeWithSelector(Registry.StillUnbonding.selector, release + 1 days, release)
        );
        registry.withdraw();
        vm.warp(release + 1 days);
        uint256 before = token.balanceOf(provider);
        registry.withdraw();
        vm.stopPrank();
        assertEq(token.balanceOf(provider) - before, 200 ether, "paid out");
        assertEq(registry.providerOf(provider).stake, MIN, "minimum stays bonded");
    }

    function test_FullExitRemovesProviderAndServices() public {
        registerProvider(MIN);
        bytes32 id = addService("https://a.example");
        vm.prank(provider);
        registry.unbond(MIN);
        assertTrue(!registry.isActive(provider), "inactive while unbonding everything");
        vm.warp(block.timestamp + PERIOD);
        vm.expectEmit(true, true, false, true);
        emit Registry.ServiceRemoved(id, provider);
        vm.prank(provider);
        registry.withdraw();
        assertTrue(!registry.providerOf(provider).registered, "gone");
        // Registered, service added, unbond, service removed, withdrawn.
        assertEq(registry.stateEventCount(), 5, "state events counted");
        assertEq(registry.serviceOf(id).provider, address(0), "service gone");
        assertEq(registry.serviceIdsOf(provider).length, 0, "no ids");
        registerProvider(MIN);
    }

    // ----------------------------------------------------------------- slashing

    function test_SlashTakesBondedThenUnbondingAndPaysTheTreasury() public {
        registerProvider(300 ether);
        vm.prank(provider);
        registry.unbond(200 ether);
        Registry.Slash memory o = order(150 ether, 1);
        bytes memory sig = sign(SLASHER_KEY, o);
        vm.expectEmit(true, true, false, true);
        emit Registry.Slashed(
            provider, 1, 150 ether, 2, o.evidenceHash, o.receiptId, 0, 150 ether, treasury
        );
        registry.slash(o, sig);
        Registry.Provider memory p = registry.providerOf(provider);
        assertEq(p.stake, 0, "bonded first");
        assertEq(p.unbonding, 150 ether, "then unbonding");
        assertEq(token.balanceOf(treasury), 150 ether, "treasury paid");
        assertEq(registry.slashedTotal(), 150 ether, "total");
        assertTrue(registry.slashNonceUsed(1), "nonce spent");
    }

    function test_SlashSignedByAnotherKeyIsRefused() public {
        registerProvider(MIN);
        Registry.Slash memory o = order(1 ether, 1);
        bytes memory forged = sign(OTHER_KEY, o);
        vm.expectRevert(abi.encodeWithSelector(Registry.NotSlasher.selector, vm.addr(OTHER_KEY)));
        registry.slash(o, forged);
    }

    function test_ReplayedNonceIsRefused() public {
        registerProvider(MIN);
        Registry.Slash memory o = order(1 ether, 7);
        bytes memory sig = sign(SLASHER_KEY, o);
        registry.slash(o, sig);
        vm.expectRevert(abi.encodeWithSelector(Registry.NonceUsed.selector, 7));
        registry.slash(o, sig);
        Registry.Slash memory again = order(2 ether, 7);
        bytes memory sig2 = sign(SLASHER_KEY, again);
        vm.expectRevert(abi.encodeWithSelector(Registry.NonceUsed.selector, 7));
        registry.slash(again, sig2);
    }

    function test_SignatureDoesNotTransferToAnotherChainOrContract() public {
        registerProvider(MIN);
        Registry.Slash memory o = order(1 ether, 1);
        bytes memory sig = sign(SLASHER_KEY, o);

        uint256 snapshot = vm.snapshotState();
        vm.chainId(1);
        vm.expectPartialRevert(Registry.NotSlasher.selector);
        registry.slash(o, sig);
        vm.revertToState(snapshot);

        Registry twin = new Registry(token, MIN, PERIOD, MAX_SERVICES, owner, slasher, treasury);
        vm.prank(provider);
        token.approve(address(twin), type(uint256).max);
        vm.prank(provider);
        twin.register(operator, MIN);
        vm.expectPartialRevert(Registry.NotSlasher.selector);
        twin.slash(o, sig);
        registry.slash(o, sig);
    }

    function test_ExpiredDeadlineIsRefused() public {
        registerProvider(MIN);
        Registry.Slash memory o = order(1 ether, 1);
        bytes memory sig = sign(SLASHER_KEY, o);
        vm.warp(o.deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(Registry.SlashExpired.selector, o.deadline, o.deadline + 1)
        );
        registry.slash(o, sig);
        vm.warp(o.deadline);
        registry.slash(o, sig);
    }

    function test_MalformedAndMalleableSignaturesAreRefused() public {
        registerProvider(MIN);
        Registry.Slash memory o = order(1 ether, 1);
        (uint8 v, bytes32 r, bytes32 s) = signParts(SLASHER_KEY, o);
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory twin =
            abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(
            abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, bytes32(n - uint256(s)))
        );
        registry.slash(o, twin);
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, 64));
        registry.slash(o, abi.encodePacked(r, s));
        vm.expectRevert(ECDSA.ECDSAInvalidSignature.selector);
        registry.slash(o, abi.encodePacked(r, s, uint8(29)));
    }

    function test_SlashAmountChecks() public {
        registerProvider(MIN);
        Registry.Slash memory zero = order(0, 1);
        bytes memory sig = sign(SLASHER_KEY, zero);
        vm.expectRevert(Registry.ZeroAmount.selector);
        registry.slash(zero, sig);
        Registry.Slash memory tooMuch = order(MIN + 1, 2);
        sig = sign(SLASHER_KEY, tooMuch);
        vm.expectRevert(
            abi.encodeWithSelector(Registry.SlashExceedsSlashable.selector, MIN + 1, MIN)
        );
        registry.slash(tooMuch, sig);
        Registry.Slash memory huge = order(uint256(type(uint128).max) + 1, 3);
        sig = sign(SLASHER_KEY, huge);
        // Above any uint128 stake: refused as more than is slashable, before any
        // narrowing cast could wrap it.
        vm.expectPartialRevert(Registry.SlashExceedsSlashable.selector);
        registry.slash(huge, sig);
        Registry.Slash memory stranger = order(1, 4);
        stranger.provider = address(0xDEAD);
        sig = sign(SLASHER_KEY, stranger);
        vm.expectRevert(Registry.NotRegistered.selector);
        registry.slash(stranger, sig);
    }

    /// Unbonding cannot outrun a slash: until the delay ends nothing leaves, and a slash
    /// landing in the same block as the release comes out of the unbonding stake.
    function test_WithdrawInTheSameBlockAsASlashCannotEscapeIt() public {
        registerProvider(MIN);
        vm.prank(provider);
        registry.unbond(MIN);
        Registry.Slash memory o = order(60 ether, 1);
        o.deadline = uint64(block.timestamp + PERIOD + 1);
        bytes memory sig = sign(SLASHER_KEY, o);
        vm.warp(block.timestamp + PERIOD);
        registry.slash(o, sig);
        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        registry.withdraw();
        assertEq(token.balanceOf(provider) - before, 40 ether, "only what the slash left");
        assertEq(token.balanceOf(treasury), 60 ether, "slash paid");
    }

    function test_ReentrancyThroughTheStakeTokenIsBlocked() public {
        ReentrantToken evil = new ReentrantToken();
        Registry r = new Registry(evil, MIN, PERIOD, 3, owner, slasher, treasury);
        evil.mint(provider, 1000 ether);
        vm.startPrank(provider);
        evil.approve(address(r), type(uint256).max);
        r.register(operator, 200 ether);
        r.unbond(100 ether);
        vm.stopPrank();
        vm.warp(block.timestamp + PERIOD);
        // During the payout the token calls withdraw() again as the registry.
        evil.arm(address(r), abi.encodeCall(Registry.withdraw, ()));
        vm.prank(provider);
        r.withdraw();
        assertTrue(!evil.reentered(), "reentrant call went through");
        assertEq(
            keccak256(evil.revertData()),
            keccak256(
                abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector)
            ),
            "stopped by the guard"
        );
        assertEq(evil.balanceOf(address(r)), 100 ether, "paid once");
    }

    // -------------------------------------------------------------------- owner

    function test_OwnerRotatesSlasherAndTreasuryInTwoSteps() public {
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        registry.setSlasher(address(1));
        vm.expectRevert(
            abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this))
        );
        registry.setTreasury(address(1));
        vm.startPrank(owner);
        vm.expectRevert(Registry.ZeroAddress.selector);
        registry.setSlasher(address(0));
        vm.expectRevert(Registry.ZeroAddress.selector);
        registry.setTreasury(address(0));
        registry.setSlasher(vm.addr(OTHER_KEY));
        registry.setTreasury(address(0x7777));
        registry.transferOwnership(address(0x0E));
        vm.stopPrank();
        assertEq(registry.owner(), owner, "ownership moves only when accepted");
        vm.prank(address(0x0E));
        registry.acceptOwnership();
        assertEq(registry.owner(), address(0x0E), "accepted");

        registerProvider(MIN);
        Registry.Slash memory o = order(1 ether, 1);
        bytes memory old = sign(SLASHER_KEY, o);
        vm.expectRevert(abi.encodeWithSelector(Registry.NotSlasher.selector, slasher));
        registry.slash(o, old);
        registry.slash(o, sign(OTHER_KEY, o));
        assertEq(token.balanceOf(address(0x7777)), 1 ether, "new treasury paid");
    }

    function test_StakeCountersCannotOverflow() public {
        token.mint(provider, type(uint256).max - token.totalSupply());
        vm.prank(provider);
        vm.expectRevert(Registry.AmountTooLarge.selector);
        registry.register(operator, uint256(type(uint128).max) + 1);
        registerProvider(MIN);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x11));
        registry.addStake(type(uint128).max);
        assertEq(registry.providerOf(provider).stake, MIN, "unchanged");
    }

    // --------------------------------------------------------------------- fuzz

    function testFuzz_SlashNeverExceedsSlashableAndConservesTokens(
        uint128 stake,
        uint128 unbondPart,
        uint256 amount
    ) public {
        stake = uint128(bound(stake, MIN, 1000 ether));
        unbondPart = uint128(bound(unbondPart, 0, stake));
        if (stake - unbondPart != 0 && stake - unbondPart < MIN) unbondPart = stake;
        registerProvider(stake);
        if (unbondPart > 0) {
            vm.prank(provider);
            registry.unbond(unbondPart);
        }
        Registry.Slash memory o = order(amount, 1);
        bytes memory sig = sign(SLASHER_KEY, o);
        if (amount == 0 || amount > stake) {
            vm.expectPartialRevert(
                amount == 0 ? Registry.ZeroAmount.selector : Registry.SlashExceedsSlashable.selector
            );
            registry.slash(o, sig);
            return;
        }
        registry.slash(o, sig);
        Registry.Provider memory p = registry.providerOf(provider);
        assertEq(uint256(p.stake) + p.unbonding + amount, stake, "slashed exactly amount");
        assertEq(
            token.balanceOf(address(registry)) + token.balanceOf(treasury),
            stake,
            "tokens conserved"
        );
    }

    function testFuzz_ServiceIdMatchesTheEncoding(address who, string calldata url) public view {
        assertEq(
            registry.serviceIdOf(who, "eip155:1", "rpc", url),
            keccak256(abi.encode(abi.encodePacked(who), "eip155:1", "rpc", url)),
            "service id encoding"
        );
    }
}
