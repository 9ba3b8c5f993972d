// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Create2} from "@openzeppelin/contracts/utils/Create2.sol";

import {IERC1271} from "../auth/SignatureValidator.sol";

/// @title DevWallet
/// @notice A minimal contract wallet for local chains and tests: it accepts (ERC-1271) a
/// signature of the hash by its owner key. It lets sign-in be tested against the contract-wallet
/// paths (ERC-1271, and ERC-6492 before deployment) with a real chain.
contract DevWallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature)
        external
        view
        returns (bytes4)
    {
        (address recovered, ECDSA.RecoverError error_,) = ECDSA.tryRecover(hash, signature);
        if (error_ == ECDSA.RecoverError.NoError && recovered == owner) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }
}

/// @title DevWalletFactory
/// @notice Deploys DevWallets at CREATE2 addresses known before deployment (counterfactual
/// wallets, as ERC-6492 signatures describe them).
contract DevWalletFactory {
    event WalletDeployed(address indexed wallet, address indexed owner, bytes32 salt);

    function deployWallet(address owner, bytes32 salt) external returns (address wallet) {
        wallet = address(new DevWallet{salt: salt}(owner));
        emit WalletDeployed(wallet, owner, salt);
    }

    function addressOf(address owner, bytes32 salt) external view returns (address) {
        return Create2.computeAddress(
            salt, keccak256(abi.encodePacked(type(DevWallet).creationCode, abi.encode(owner)))
        );
    }
}
