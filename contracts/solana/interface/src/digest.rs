//! The EIP-712 digests the program checks, built from bytes with the
//! runtime's keccak so the program needs no alloy. The rules are the ones in
//! `cairn_core::eip712` (the same `Slash` type, the registry domain with this
//! program's id as its salt); this crate's tests check both give the same
//! digest, so the rule has one definition and this is its on-chain form.

use solana_program::{keccak::hashv, pubkey::Pubkey};

use crate::instruction::SlashOrder;

pub const DOMAIN_TYPE: &[u8] = b"EIP712Domain(string name,string version,bytes32 salt)";
pub const SLASH_TYPE: &[u8] = b"Slash(address provider,uint256 amount,uint8 reason,bytes32 evidenceHash,bytes32 receiptId,uint256 nonce,uint64 deadline)";
pub const REGISTRY_DOMAIN_NAME: &[u8] = b"Cairn Registry";
pub const DOMAIN_VERSION: &[u8] = b"1";

fn keccak(parts: &[&[u8]]) -> [u8; 32] {
    hashv(parts).to_bytes()
}

fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The 20-byte identity a Solana provider has inside a `Slash` (whose
/// `provider` is an `address`): the last 20 bytes of keccak256 of its public
/// key, the way Ethereum derives an address from a key.
pub fn provider_eth_address(provider: &Pubkey) -> [u8; 20] {
    let h = keccak(&[provider.as_ref()]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}

/// Domain separator: name and version as on EVM; no chain id or contract
/// address (Solana has neither), the program id as salt instead.
pub fn registry_domain_separator(program_id: &Pubkey) -> [u8; 32] {
    keccak(&[
        &keccak(&[DOMAIN_TYPE]),
        &keccak(&[REGISTRY_DOMAIN_NAME]),
        &keccak(&[DOMAIN_VERSION]),
        program_id.as_ref(),
    ])
}

pub fn slash_struct_hash(provider: &Pubkey, order: &SlashOrder) -> [u8; 32] {
    let mut provider_word = [0u8; 32];
    provider_word[12..].copy_from_slice(&provider_eth_address(provider));
    keccak(&[
        &keccak(&[SLASH_TYPE]),
        &provider_word,
        &word(order.amount),
        &word(u64::from(order.reason)),
        &order.evidence_hash,
        &order.receipt_id,
        &order.nonce,
        &word(order.deadline),
    ])
}

/// What the slasher signs for `order` against `provider` on this program.
pub fn slash_digest(program_id: &Pubkey, provider: &Pubkey, order: &SlashOrder) -> [u8; 32] {
    keccak(&[
        b"\x19\x01",
        &registry_domain_separator(program_id),
        &slash_struct_hash(provider, order),
    ])
}

/// `ServiceId` of `cairn_core::id`: keccak256 of
/// `abi.encode(bytes provider, string chain, string kind, string url)`, the
/// provider being its 32-byte public key.
pub fn service_id(provider: &Pubkey, chain: &str, kind: &str, url: &str) -> [u8; 32] {
    let parts: [&[u8]; 4] = [provider.as_ref(), chain.as_bytes(), kind.as_bytes(), url.as_bytes()];
    let mut encoded =
        Vec::with_capacity(4 * 32 + parts.iter().map(|p| 64 + p.len()).sum::<usize>());
    let mut offset = 4 * 32;
    for p in parts {
        encoded.extend_from_slice(&word(offset as u64));
        offset += 32 + p.len().div_ceil(32) * 32;
    }
    for p in parts {
        encoded.extend_from_slice(&word(p.len() as u64));
        encoded.extend_from_slice(p);
        encoded.resize(encoded.len() + (32 - p.len() % 32) % 32, 0);
    }
    keccak(&[&encoded])
}

/// The Ethereum address of an uncompressed secp256k1 key (64 bytes, x ‖ y).
pub fn eth_address_of_key(key: &[u8; 64]) -> [u8; 20] {
    let h = keccak(&[key]);
    let mut a = [0u8; 20];
    a.copy_from_slice(&h[12..]);
    a
}
