// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice The ERC-1271 interface a contract wallet answers signature checks through.
interface IERC1271 {
    function isValidSignature(bytes32 hash, bytes calldata signature)
        external
        view
        returns (bytes4 magicValue);
}

/// @title SignatureValidator
/// @notice Checks a contract wallet's signature (ERC-1271), deploying the wallet first when the
/// signature is wrapped per ERC-6492 and the wallet has no code yet.
/// @dev Never deployed. The service runs it as an `eth_call` without a `to`, with this creation
/// code and the constructor arguments as data: the constructor returns one ABI word (1 valid,
/// 0 invalid) instead of runtime code, and the wallet deployment it makes is thrown away with the
/// call. A wallet that cannot be deployed, or has no code after that, reverts with a typed error
/// so the caller can say why.
contract SignatureValidator {
    /// @dev ERC-6492's magic suffix: 32 bytes of 0x6492 repeated.
    bytes32 internal constant ERC6492_SUFFIX =
        0x6492649264926492649264926492649264926492649264926492649264926492;
    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;

    error WalletDeployFailed(address factory, bytes reason);
    error NoWalletCode(address signer);

    constructor(address signer, bytes32 hash, bytes memory signature) {
        bool valid = _isValid(signer, hash, signature);
        assembly ("memory-safe") {
            mstore(0, valid)
            return(0, 32)
        }
    }

    function _isValid(address signer, bytes32 hash, bytes memory signature)
        internal
        returns (bool)
    {
        bytes memory walletSignature = signature;
        if (_isWrapped(signature)) {
            // Drop the suffix in place; what is left is abi.encode(factory, calldata, signature).
            assembly ("memory-safe") {
                mstore(signature, sub(mload(signature), 32))
            }
            address factory;
            bytes memory factoryCalldata;
            (factory, factoryCalldata, walletSignature) =
                abi.decode(signature, (address, bytes, bytes));
            if (signer.code.length == 0) {
                (bool deployed, bytes memory reason) = factory.call(factoryCalldata);
                if (!deployed) revert WalletDeployFailed(factory, reason);
            }
        }
        if (signer.code.length == 0) revert NoWalletCode(signer);
        (bool answered, bytes memory result) =
            signer.staticcall(abi.encodeCall(IERC1271.isValidSignature, (hash, walletSignature)));
        if (!answered || result.length < 32) return false;
        bytes4 magic;
        assembly ("memory-safe") {
            magic := mload(add(result, 32))
        }
        return magic == ERC1271_MAGIC;
    }

    function _isWrapped(bytes memory signature) internal pure returns (bool wrapped) {
        uint256 length = signature.length;
        if (length < 32) return false;
        bytes32 tail;
        assembly ("memory-safe") {
            tail := mload(add(signature, length))
        }
        return tail == ERC6492_SUFFIX;
    }
}
