//! Arweave L1 transactions (format 2), signed RSA-PSS with a JWK wallet:
//! how a bundle of receipts reaches a plain Arweave gateway (the bundle is
//! the transaction's data, tagged `Bundle-Format: binary`,
//! `Bundle-Version: 2.0.0`).
//!
//! The signature covers the deep hash of
//! `["2", owner, target, quantity, reward, last_tx, tags, data_size,
//! data_root]`; the id is `sha256(signature)`. RSA-PSS comes from `ring`
//! (constant-time), not the `rsa` crate (RUSTSEC-2023-0071).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use ring::{
    rand::SystemRandom,
    signature::{RSA_PSS_SHA256, RsaKeyPair},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Chunk, base64url, chunks::data_root, deep_hash};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("not a JWK RSA private key: {0}")]
    Jwk(String),
    #[error("the RSA key is not usable for signing: {0}")]
    Key(String),
    #[error("RSA signing failed")]
    Sign,
}

/// An Arweave wallet: an RSA key as a JSON Web Key.
pub struct Wallet {
    key: RsaKeyPair,
    modulus: Vec<u8>,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wallet").field("address", &self.address()).finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Jwk {
    kty: String,
    n: String,
    e: String,
    d: String,
    p: String,
    q: String,
    dp: String,
    dq: String,
    qi: String,
}

/// DER of an unsigned big-endian integer.
fn der_integer(bytes: &[u8], out: &mut Vec<u8>) {
    let trimmed: &[u8] = {
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
        &bytes[start.min(bytes.len())..]
    };
    let pad = trimmed.first().is_none_or(|b| b & 0x80 != 0);
    let len = trimmed.len() + usize::from(pad);
    out.push(0x02);
    der_length(len, out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
}

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - start) as u8);
        out.extend_from_slice(&bytes[start..]);
    }
}

impl Wallet {
    /// Reads a JWK (as Arweave wallets are stored).
    pub fn from_jwk(json: &str) -> Result<Self, WalletError> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|e| WalletError::Jwk(e.to_string()))?;
        if jwk.kty != "RSA" {
            return Err(WalletError::Jwk(format!("kty is {}, not RSA", jwk.kty)));
        }
        let field = |name: &str, value: &str| {
            URL_SAFE_NO_PAD
                .decode(value)
                .map_err(|_| WalletError::Jwk(format!("{name} is not base64url")))
        };
        let modulus = field("n", &jwk.n)?;
        // PKCS#1 RSAPrivateKey: version 0 and the eight integers, in order.
        let mut body = Vec::new();
        der_integer(&[0], &mut body);
        for (name, value) in [
            ("n", &jwk.n),
            ("e", &jwk.e),
            ("d", &jwk.d),
            ("p", &jwk.p),
            ("q", &jwk.q),
            ("dp", &jwk.dp),
            ("dq", &jwk.dq),
            ("qi", &jwk.qi),
        ] {
            der_integer(&field(name, value)?, &mut body);
        }
        let mut der = vec![0x30];
        der_length(body.len(), &mut der);
        der.extend_from_slice(&body);
        let key = RsaKeyPair::from_der(&der).map_err(|e| WalletError::Key(e.to_string()))?;
        Ok(Self { key, modulus })
    }

    /// The owner field: the RSA modulus.
    pub fn owner(&self) -> &[u8] {
        &self.modulus
    }

    /// base64url(sha256(modulus)).
    pub fn address(&self) -> String {
        base64url(&Sha256::digest(&self.modulus))
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, WalletError> {
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(&RSA_PSS_SHA256, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| WalletError::Sign)?;
        Ok(signature)
    }
}

/// A signed format-2 transaction, in the JSON a gateway's `POST /tx` takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub format: u8,
    pub id: String,
    pub last_tx: String,
    pub owner: String,
    pub tags: Vec<TransactionTag>,
    pub target: String,
    pub quantity: String,
    pub data: String,
    pub data_size: String,
    pub data_root: String,
    pub reward: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionTag {
    /// base64url
    pub name: String,
    /// base64url
    pub value: String,
}

impl Transaction {
    /// A data transaction of `data` with `tags`, anchored to `last_tx`
    /// (a gateway's `/tx_anchor`, base64url) and paying `reward` winston,
    /// signed by `wallet`. The data travels inline.
    pub fn sign_data(
        wallet: &Wallet,
        data: &[u8],
        tags: &[(&str, &str)],
        last_tx: &str,
        reward: &str,
    ) -> Result<Self, WalletError> {
        let anchor = URL_SAFE_NO_PAD
            .decode(last_tx)
            .map_err(|_| WalletError::Jwk("anchor is not base64url".into()))?;
        let root = data_root(data);
        let size = data.len().to_string();
        let tag_list: Vec<Chunk<'_>> = tags
            .iter()
            .map(|(name, value)| {
                Chunk::List(vec![Chunk::Blob(name.as_bytes()), Chunk::Blob(value.as_bytes())])
            })
            .collect();
        let message = deep_hash(&Chunk::List(vec![
            Chunk::Blob(b"2"),
            Chunk::Blob(wallet.owner()),
            Chunk::Blob(&[]),
            Chunk::Blob(b"0"),
            Chunk::Blob(reward.as_bytes()),
            Chunk::Blob(&anchor),
            Chunk::List(tag_list),
            Chunk::Blob(size.as_bytes()),
            Chunk::Blob(&root),
        ]));
        let signature = wallet.sign(&message)?;
        Ok(Self {
            format: 2,
            id: base64url(&Sha256::digest(&signature)),
            last_tx: last_tx.to_owned(),
            owner: base64url(wallet.owner()),
            tags: tags
                .iter()
                .map(|(name, value)| TransactionTag {
                    name: base64url(name.as_bytes()),
                    value: base64url(value.as_bytes()),
                })
                .collect(),
            target: String::new(),
            quantity: "0".to_owned(),
            data: base64url(data),
            data_size: size,
            data_root: base64url(&root),
            reward: reward.to_owned(),
            signature: base64url(&signature),
        })
    }
}
