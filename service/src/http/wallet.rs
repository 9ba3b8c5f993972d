//! Whose signature a SIWE message carries: an account key (EIP-191), a
//! deployed contract wallet (ERC-1271), or a wallet not deployed yet
//! (ERC-6492), the last two asked of the message's chain.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::{SolCall, SolConstructor, SolInterface},
};
use cairn_auth::siwe::{is_erc6492, verify_eoa};
use cairn_bindings::{DevWallet, SignatureValidator};

use super::{EvmChain, auth::eoa_error, problem::ApiError};

const ERC1271_MAGIC: [u8; 4] = [0x16, 0x26, 0xba, 0x7e];

pub(crate) async fn verify(
    chain: &EvmChain,
    address: Address,
    digest: B256,
    signature: &[u8],
) -> Result<(), ApiError> {
    if is_erc6492(signature) {
        return verify_erc6492(chain, address, digest, signature).await;
    }
    // Account keys are the common case and need no RPC; the chain is asked
    // only when the key check fails and the address turns out to hold code.
    let Err(eoa) = verify_eoa(address, &digest, signature) else { return Ok(()) };
    let code = chain.rpc.get_code_at(address).await.map_err(rpc_error)?;
    if code.is_empty() {
        return Err(eoa_error(eoa));
    }
    verify_erc1271(chain, address, digest, signature).await
}

async fn verify_erc1271(
    chain: &EvmChain,
    address: Address,
    digest: B256,
    signature: &[u8],
) -> Result<(), ApiError> {
    // Any ERC-1271 wallet has this function; DevWallet's binding names it.
    let call = DevWallet::isValidSignatureCall {
        hash: digest,
        signature: Bytes::copy_from_slice(signature),
    };
    let request = TransactionRequest::default().with_to(address).with_input(call.abi_encode());
    match chain.rpc.call(request).await {
        Ok(answer) if answer.len() >= 4 && answer[..4] == ERC1271_MAGIC => Ok(()),
        Ok(_) | Err(alloy::transports::RpcError::ErrorResp(_)) => Err(contract_refused()),
        Err(other) => Err(rpc_error(other)),
    }
}

/// Runs `SignatureValidator`'s creation code in an `eth_call`: it deploys
/// the wallet through its factory if needed and asks it (see the contract).
async fn verify_erc6492(
    chain: &EvmChain,
    address: Address,
    digest: B256,
    signature: &[u8],
) -> Result<(), ApiError> {
    let arguments = SignatureValidator::constructorCall {
        signer: address,
        hash: digest,
        signature: Bytes::copy_from_slice(signature),
    }
    .abi_encode();
    let mut code = SignatureValidator::BYTECODE.to_vec();
    code.extend_from_slice(&arguments);
    let request = TransactionRequest::default().with_deploy_code(code);
    match chain.rpc.call(request).await {
        Ok(answer) if answer.len() == 32 && answer[31] == 1 => Ok(()),
        Ok(_) => Err(contract_refused()),
        Err(alloy::transports::RpcError::ErrorResp(payload)) => {
            let revert = payload.as_revert_data().unwrap_or_default();
            match SignatureValidator::SignatureValidatorErrors::abi_decode(&revert) {
                Ok(SignatureValidator::SignatureValidatorErrors::WalletDeployFailed(_)) => {
                    Err(ApiError::unauthorized(
                        "erc6492_deploy_failed",
                        "the ERC-6492 factory call to deploy the wallet failed",
                    ))
                }
                _ => Err(contract_refused()),
            }
        }
        Err(other) => Err(rpc_error(other)),
    }
}

fn contract_refused() -> ApiError {
    ApiError::unauthorized(
        "contract_signature_invalid",
        "the contract wallet does not accept this signature (ERC-1271)",
    )
}

fn rpc_error(error: impl std::fmt::Display) -> ApiError {
    tracing::warn!(%error, "chain RPC failed during sign-in");
    ApiError::new(
        axum::http::StatusCode::BAD_GATEWAY,
        "rpc_unavailable",
        "the chain's RPC endpoint did not answer",
    )
}
