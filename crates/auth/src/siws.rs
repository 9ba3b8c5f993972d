//! Sign In With Solana.
//!
//! The server issues the `SignInInput`, keeps it with the nonce, and on
//! sign-in rebuilds the message the wallet must have signed from that stored
//! input and the account's address. The signed bytes must be that message
//! exactly: a wallet that changed any field (or a client that sent another
//! input) fails, whatever the signature.

use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The sign-in request as the Solana wallet standard defines it (the field
/// names are the standard's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInInput {
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

impl SignInInput {
    /// The message text a wallet signs for `address`, in the wallet
    /// standard's layout.
    pub fn message(&self, address: &str) -> String {
        let mut text =
            format!("{} wants you to sign in with your Solana account:\n{address}", self.domain);
        if let Some(statement) = &self.statement {
            text.push_str("\n\n");
            text.push_str(statement);
        }
        let mut fields = Vec::new();
        let optional = [
            ("URI", &self.uri),
            ("Version", &self.version),
            ("Chain ID", &self.chain_id),
            ("Nonce", &self.nonce),
            ("Issued At", &self.issued_at),
            ("Expiration Time", &self.expiration_time),
            ("Not Before", &self.not_before),
            ("Request ID", &self.request_id),
        ];
        for (name, value) in optional {
            if let Some(value) = value {
                fields.push(format!("{name}: {value}"));
            }
        }
        if !self.resources.is_empty() {
            fields.push("Resources:".to_owned());
            fields.extend(self.resources.iter().map(|r| format!("- {r}")));
        }
        if !fields.is_empty() {
            text.push_str("\n\n");
            text.push_str(&fields.join("\n"));
        }
        text
    }
}

/// What a wallet returns from a sign-in (the standard's `SolanaSignInOutput`,
/// with bytes base58- or base64-encoded by the caller's transport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInOutput {
    pub address: String,
    pub public_key: Vec<u8>,
    pub signed_message: Vec<u8>,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiwsError {
    #[error("`{0}` is not a Solana address (base58 of 32 bytes)")]
    BadAddress(String),
    #[error("the sign-in was issued for {issued}, not for {signed}")]
    AddressMismatch { issued: String, signed: String },
    #[error("the public key is not the account's address")]
    PublicKeyMismatch,
    #[error("the signed message is not the one the issued sign-in input describes")]
    MessageMismatch,
    #[error("the signature is not 64 bytes")]
    SignatureEncoding,
    #[error("the ed25519 signature does not verify with the account's key")]
    SignatureInvalid,
}

/// Decodes a Solana address, requiring the canonical base58 text.
pub fn decode_address(address: &str) -> Result<[u8; 32], SiwsError> {
    let bytes = bs58::decode(address)
        .into_vec()
        .map_err(|_| SiwsError::BadAddress(address.chars().take(60).collect()))?;
    let key: [u8; 32] =
        bytes.try_into().map_err(|_| SiwsError::BadAddress(address.chars().take(60).collect()))?;
    if bs58::encode(key).into_string() != address {
        return Err(SiwsError::BadAddress(address.to_owned()));
    }
    Ok(key)
}

/// Checks a wallet's sign-in output against the input the server issued.
pub fn verify(input: &SignInInput, output: &SignInOutput) -> Result<(), SiwsError> {
    let address_key = decode_address(&output.address)?;
    if let Some(issued) = &input.address
        && issued != &output.address
    {
        return Err(SiwsError::AddressMismatch {
            issued: issued.clone(),
            signed: output.address.clone(),
        });
    }
    if output.public_key.as_slice() != address_key.as_slice() {
        return Err(SiwsError::PublicKeyMismatch);
    }
    if input.message(&output.address).as_bytes() != output.signed_message.as_slice() {
        return Err(SiwsError::MessageMismatch);
    }
    let signature: [u8; 64] =
        output.signature.as_slice().try_into().map_err(|_| SiwsError::SignatureEncoding)?;
    let key = VerifyingKey::from_bytes(&address_key).map_err(|_| SiwsError::SignatureInvalid)?;
    // `verify_strict` refuses small-order keys and non-canonical signatures,
    // the ed25519 forms of malleability.
    key.verify_strict(&output.signed_message, &Signature::from_bytes(&signature))
        .map_err(|_| SiwsError::SignatureInvalid)
}
