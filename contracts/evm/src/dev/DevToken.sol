// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DevToken
/// @notice A freely mintable ERC-20 for local chains and tests: the stake and payment asset
/// `cairn deploy evm --dev-token` deploys when no real token is given. Never deploy it to a
/// public network.
contract DevToken is ERC20 {
    constructor() ERC20("Cairn Dev Token", "CAIRNDEV") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
