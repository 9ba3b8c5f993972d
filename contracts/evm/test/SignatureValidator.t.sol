// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CairnTest} from "./utils/Vm.sol";
import {SignatureValidator} from "../src/auth/SignatureValidator.sol";
import {DevWallet, DevWalletFactory} from "../src/dev/DevWallet.sol";

contract Reverter {
    error Nope();

    fallback() external {
        revert Nope();
    }
}

contract SignatureValidatorTest is CairnTest {
    bytes32 internal constant SUFFIX =
        0x6492649264926492649264926492649264926492649264926492649264926492;
    uint256 internal constant OWNER_KEY = 0xA11CE;
    uint256 internal constant OTHER_KEY = 0xB0B;
    bytes32 internal constant HASH = keccak256("sign in");

    DevWalletFactory internal factory;
    address internal owner;

    function setUp() public {
        factory = new DevWalletFactory();
        owner = vm.addr(OWNER_KEY);
    }

    /// Runs the validator as the service does (a creation whose runtime code is the answer).
    function validate(address signer, bytes memory signature) internal returns (bool) {
        SignatureValidator validator = new SignatureValidator(signer, HASH, signature);
        return abi.decode(address(validator).code, (bool));
    }

    function signed(uint256 key) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, HASH);
        return abi.encodePacked(r, s, v);
    }

    function wrapped(bytes32, bytes memory factoryCalldata, bytes memory signature)
        internal
        view
        returns (bytes memory)
    {
        return abi.encodePacked(abi.encode(address(factory), factoryCalldata, signature), SUFFIX);
    }

    function test_deployedWalletAcceptsItsOwner() public {
        address wallet = factory.deployWallet(owner, bytes32(0));
        assertTrue(validate(wallet, signed(OWNER_KEY)), "owner's signature");
        assertTrue(!validate(wallet, signed(OTHER_KEY)), "another key's signature");
    }

    function test_undeployedWalletIsDeployedFromTheWrapper() public {
        bytes32 salt = keccak256("counterfactual");
        address wallet = factory.addressOf(owner, salt);
        assertEq(wallet.code.length, 0, "not yet deployed");
        bytes memory deployCall = abi.encodeCall(DevWalletFactory.deployWallet, (owner, salt));
        assertTrue(
            validate(wallet, wrapped(salt, deployCall, signed(OWNER_KEY))), "wrapped owner's"
        );
        assertTrue(
            !validate(wallet, wrapped(salt, deployCall, signed(OTHER_KEY))), "wrapped other's"
        );
    }

    function test_wrapperOfADeployedWalletSkipsTheFactory() public {
        bytes32 salt = keccak256("deployed");
        address wallet = factory.deployWallet(owner, salt);
        // The factory call would fail now (the address is taken); it must not be made.
        bytes memory deployCall = abi.encodeCall(DevWalletFactory.deployWallet, (owner, salt));
        assertTrue(validate(wallet, wrapped(salt, deployCall, signed(OWNER_KEY))), "wrapped");
    }

    function test_badFactoryCallReverts() public {
        bytes32 salt = keccak256("bad factory");
        address wallet = factory.addressOf(owner, salt);
        bytes memory wrongCall = abi.encodeWithSignature("noSuchFunction()");
        bytes memory signature = wrapped(salt, wrongCall, signed(OWNER_KEY));
        vm.expectPartialRevert(SignatureValidator.WalletDeployFailed.selector);
        new SignatureValidator(wallet, HASH, signature);
    }

    function test_factoryDeployingTheWrongWalletReverts() public {
        bytes32 salt = keccak256("other salt");
        address wallet = factory.addressOf(owner, salt);
        bytes memory otherDeploy =
            abi.encodeCall(DevWalletFactory.deployWallet, (owner, bytes32(0)));
        bytes memory signature = wrapped(salt, otherDeploy, signed(OWNER_KEY));
        vm.expectRevert(abi.encodeWithSelector(SignatureValidator.NoWalletCode.selector, wallet));
        new SignatureValidator(wallet, HASH, signature);
    }

    function test_accountWithoutCodeReverts() public {
        vm.expectRevert(abi.encodeWithSelector(SignatureValidator.NoWalletCode.selector, owner));
        new SignatureValidator(owner, HASH, signed(OWNER_KEY));
    }

    function test_revertingWalletIsInvalid() public {
        Reverter reverter = new Reverter();
        assertTrue(!validate(address(reverter), signed(OWNER_KEY)), "reverting wallet");
    }

    function test_malformedSignatureIsInvalid() public {
        address wallet = factory.deployWallet(owner, bytes32(0));
        assertTrue(!validate(wallet, hex"1234"), "short signature");
    }
}
