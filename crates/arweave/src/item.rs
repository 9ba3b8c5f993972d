//! ANS-104 data items: binary layout, signing and verification.
//!
//! Layout: signature type (u16 LE) ‖ signature ‖ owner ‖ target presence
//! byte [‖ 32-byte target] ‖ anchor presence byte [‖ 32-byte anchor] ‖
//! tag count (u64 LE) ‖ tag byte count (u64 LE) ‖ Avro tags ‖ data.
//! The id is `sha256(signature)`, known as soon as the item is signed.

use alloy_primitives::keccak256;
use cairn_signer::Signer;
use ed25519_dalek::{Signer as _, SigningKey as Ed25519Key, VerifyingKey as Ed25519Public};
use k256::ecdsa::{
    RecoveryId, Signature as EcdsaSignature, VerifyingKey as EcdsaPublic,
    signature::hazmat::PrehashVerifier,
};
use sha2::{Digest, Sha256};

use crate::{
    ItemError,
    deep_hash::{Chunk, deep_hash},
    tags::{MAX_TAG_BYTES, Tag, decode_tags, encode_tags},
};

/// Largest item `DataItem::decode` accepts. Receipts larger than this go
/// out as a root and a content-addressed pointer instead.
pub const DEFAULT_MAX_ITEM_BYTES: usize = 10 * 1024 * 1024;

/// The signature schemes of ANS-104, with their signature and owner sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    Arweave,
    Ed25519,
    Ethereum,
    Solana,
    InjectedAptos,
    MultiAptos,
    TypedEthereum,
}

impl SignatureType {
    pub fn from_code(code: u16) -> Result<Self, ItemError> {
        Ok(match code {
            1 => Self::Arweave,
            2 => Self::Ed25519,
            3 => Self::Ethereum,
            4 => Self::Solana,
            5 => Self::InjectedAptos,
            6 => Self::MultiAptos,
            7 => Self::TypedEthereum,
            other => return Err(ItemError::UnknownSignatureType(other)),
        })
    }

    pub fn code(self) -> u16 {
        match self {
            Self::Arweave => 1,
            Self::Ed25519 => 2,
            Self::Ethereum => 3,
            Self::Solana => 4,
            Self::InjectedAptos => 5,
            Self::MultiAptos => 6,
            Self::TypedEthereum => 7,
        }
    }

    pub fn signature_len(self) -> usize {
        match self {
            Self::Arweave => 512,
            Self::Ed25519 | Self::Solana | Self::InjectedAptos => 64,
            Self::Ethereum | Self::TypedEthereum => 65,
            Self::MultiAptos => 64 * 32 + 4,
        }
    }

    pub fn owner_len(self) -> usize {
        match self {
            Self::Arweave => 512,
            Self::Ed25519 | Self::Solana | Self::InjectedAptos => 32,
            Self::Ethereum => 65,
            Self::TypedEthereum => 42,
            Self::MultiAptos => 32 * 32 + 1,
        }
    }
}

/// A signed data item. Built only by [`DataItem::decode`] or by signing an
/// [`UnsignedItem`], so every value of this type is well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataItem {
    signature_type: SignatureType,
    signature: Vec<u8>,
    owner: Vec<u8>,
    target: Option<[u8; 32]>,
    anchor: Option<[u8; 32]>,
    tags: Vec<Tag>,
    /// The tag section exactly as encoded: the signature covers these bytes.
    tag_bytes: Vec<u8>,
    data: Vec<u8>,
}

/// The fields of an item before it is signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsignedItem {
    pub data: Vec<u8>,
    pub tags: Vec<Tag>,
    pub target: Option<[u8; 32]>,
    pub anchor: Option<[u8; 32]>,
}

fn signature_data(
    signature_type: SignatureType,
    owner: &[u8],
    target: Option<&[u8; 32]>,
    anchor: Option<&[u8; 32]>,
    tag_bytes: &[u8],
    data: &[u8],
) -> [u8; 48] {
    let code = signature_type.code().to_string();
    deep_hash(&Chunk::List(vec![
        Chunk::Blob(b"dataitem"),
        Chunk::Blob(b"1"),
        Chunk::Blob(code.as_bytes()),
        Chunk::Blob(owner),
        Chunk::Blob(target.map_or(&[][..], |t| &t[..])),
        Chunk::Blob(anchor.map_or(&[][..], |a| &a[..])),
        Chunk::Blob(tag_bytes),
        Chunk::Blob(data),
    ]))
}

/// The digest an Ethereum key signs for an item: EIP-191 personal-message
/// hashing of the 48-byte deep hash, as arbundles' `EthereumSigner` does.
fn ethereum_digest(message: &[u8; 48]) -> alloy_primitives::B256 {
    let mut prefixed = b"\x19Ethereum Signed Message:\n48".to_vec();
    prefixed.extend_from_slice(message);
    keccak256(prefixed)
}

impl UnsignedItem {
    fn signature_data(
        &self,
        signature_type: SignatureType,
        owner: &[u8],
    ) -> Result<([u8; 48], Vec<u8>), ItemError> {
        let tag_bytes = encode_tags(&self.tags)?;
        let message = signature_data(
            signature_type,
            owner,
            self.target.as_ref(),
            self.anchor.as_ref(),
            &tag_bytes,
            &self.data,
        );
        Ok((message, tag_bytes))
    }

    fn into_item(
        self,
        signature_type: SignatureType,
        owner: Vec<u8>,
        signature: Vec<u8>,
        tag_bytes: Vec<u8>,
    ) -> DataItem {
        DataItem {
            signature_type,
            signature,
            owner,
            target: self.target,
            anchor: self.anchor,
            tags: self.tags,
            tag_bytes,
            data: self.data,
        }
    }

    /// Signs with an ed25519 key (signature type 2).
    pub fn sign_ed25519(self, key: &Ed25519Key) -> Result<DataItem, ItemError> {
        let owner = key.verifying_key().to_bytes().to_vec();
        let (message, tag_bytes) = self.signature_data(SignatureType::Ed25519, &owner)?;
        let signature = key.sign(&message).to_bytes().to_vec();
        Ok(self.into_item(SignatureType::Ed25519, owner, signature, tag_bytes))
    }

    /// Signs through a Cairn [`Signer`] (signature type 3, secp256k1), so a
    /// threshold key can sign receipts. The result is verified before it is
    /// returned: a signer that answers for another key is caught here.
    pub async fn sign_ethereum(self, signer: &dyn Signer) -> Result<DataItem, ItemError> {
        let owner = signer.public_key().to_vec();
        let (message, tag_bytes) = self.signature_data(SignatureType::Ethereum, &owner)?;
        let signature = signer
            .sign_digest(ethereum_digest(&message))
            .await
            .map_err(|e| ItemError::Signer(e.to_string()))?;
        let item = self.into_item(
            SignatureType::Ethereum,
            owner,
            signature.to_bytes().to_vec(),
            tag_bytes,
        );
        item.verify().map_err(|_| ItemError::SignerMismatch)?;
        Ok(item)
    }

    /// Puts back together an item signed elsewhere from its parts (as a
    /// gateway's GraphQL and data endpoints serve them). Structure only:
    /// call [`DataItem::verify`] to check the signature.
    pub fn with_signature(
        self,
        signature_type: SignatureType,
        owner: Vec<u8>,
        signature: Vec<u8>,
    ) -> Result<DataItem, ItemError> {
        if signature.len() != signature_type.signature_len() {
            return Err(ItemError::Signature);
        }
        if owner.len() != signature_type.owner_len() {
            return Err(ItemError::Owner);
        }
        let tag_bytes = encode_tags(&self.tags)?;
        Ok(self.into_item(signature_type, owner, signature, tag_bytes))
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize, field: &'static str) -> Result<&'a [u8], ItemError> {
        let end = self.pos.checked_add(len).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or(ItemError::Truncated(field))?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn optional_32(&mut self, field: &'static str) -> Result<Option<[u8; 32]>, ItemError> {
        match self.take(1, field)?[0] {
            0 => Ok(None),
            1 => Ok(Some(self.take(32, field)?.try_into().expect("took 32 bytes"))),
            byte => Err(ItemError::PresenceByte { field, byte }),
        }
    }

    fn u64_le(&mut self, field: &'static str) -> Result<u64, ItemError> {
        Ok(u64::from_le_bytes(self.take(8, field)?.try_into().expect("took 8 bytes")))
    }
}

impl DataItem {
    /// Parses an item of at most [`DEFAULT_MAX_ITEM_BYTES`]. Structure only:
    /// call [`DataItem::verify`] to check the signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, ItemError> {
        Self::decode_with_limit(bytes, DEFAULT_MAX_ITEM_BYTES)
    }

    pub fn decode_with_limit(bytes: &[u8], max_len: usize) -> Result<Self, ItemError> {
        if bytes.len() > max_len {
            return Err(ItemError::TooLarge { len: bytes.len(), max: max_len });
        }
        let mut cursor = Cursor { bytes, pos: 0 };
        let code =
            u16::from_le_bytes(cursor.take(2, "signature type")?.try_into().expect("took 2 bytes"));
        let signature_type = SignatureType::from_code(code)?;
        let signature = cursor.take(signature_type.signature_len(), "signature")?.to_vec();
        let owner = cursor.take(signature_type.owner_len(), "owner")?.to_vec();
        let target = cursor.optional_32("target")?;
        let anchor = cursor.optional_32("anchor")?;
        let tag_count = cursor.u64_le("tag count")?;
        let tag_len = cursor.u64_le("tag byte count")?;
        let tag_len = usize::try_from(tag_len).ok().filter(|n| *n <= MAX_TAG_BYTES);
        let tag_len = tag_len.ok_or(ItemError::TagBytes(usize::MAX))?;
        let tag_count =
            usize::try_from(tag_count).map_err(|_| ItemError::TooManyTags(usize::MAX))?;
        let tag_bytes = cursor.take(tag_len, "tags")?.to_vec();
        let tags = decode_tags(&tag_bytes, tag_count)?;
        let data = bytes[cursor.pos..].to_vec();
        Ok(Self { signature_type, signature, owner, target, anchor, tags, tag_bytes, data })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            2 + self.signature.len()
                + self.owner.len()
                + 66
                + 16
                + self.tag_bytes.len()
                + self.data.len(),
        );
        out.extend_from_slice(&self.signature_type.code().to_le_bytes());
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.owner);
        for optional in [&self.target, &self.anchor] {
            match optional {
                Some(bytes) => {
                    out.push(1);
                    out.extend_from_slice(bytes);
                }
                None => out.push(0),
            }
        }
        out.extend_from_slice(&(self.tags.len() as u64).to_le_bytes());
        out.extend_from_slice(&(self.tag_bytes.len() as u64).to_le_bytes());
        out.extend_from_slice(&self.tag_bytes);
        out.extend_from_slice(&self.data);
        out
    }

    /// `sha256(signature)`.
    pub fn id(&self) -> [u8; 32] {
        Sha256::digest(&self.signature).into()
    }

    /// The id as Arweave writes it (base64url, no padding).
    pub fn id_base64url(&self) -> String {
        crate::base64url(&self.id())
    }

    /// The 48-byte deep hash the signature covers.
    pub fn signature_data(&self) -> [u8; 48] {
        signature_data(
            self.signature_type,
            &self.owner,
            self.target.as_ref(),
            self.anchor.as_ref(),
            &self.tag_bytes,
            &self.data,
        )
    }

    /// Checks the signature against the owner (types 2 and 3).
    pub fn verify(&self) -> Result<(), ItemError> {
        let message = self.signature_data();
        match self.signature_type {
            SignatureType::Ed25519 => {
                let owner: [u8; 32] =
                    self.owner.as_slice().try_into().map_err(|_| ItemError::Owner)?;
                let key = Ed25519Public::from_bytes(&owner).map_err(|_| ItemError::Owner)?;
                let signature: [u8; 64] =
                    self.signature.as_slice().try_into().map_err(|_| ItemError::Signature)?;
                key.verify_strict(&message, &ed25519_dalek::Signature::from_bytes(&signature))
                    .map_err(|_| ItemError::Signature)
            }
            SignatureType::Ethereum => {
                let key =
                    EcdsaPublic::from_sec1_bytes(&self.owner).map_err(|_| ItemError::Owner)?;
                // v must be 27 or 28 and name the right key: verification
                // alone ignores it, and a second accepted v (or a high-s
                // twin) would give one signed item a second id.
                let recovery = match self.signature[64] {
                    v @ (27 | 28) => RecoveryId::from_byte(v - 27).ok_or(ItemError::Signature)?,
                    _ => return Err(ItemError::Signature),
                };
                let signature = EcdsaSignature::from_slice(&self.signature[..64])
                    .map_err(|_| ItemError::Signature)?;
                if signature.normalize_s().is_some() {
                    return Err(ItemError::Signature);
                }
                let digest = ethereum_digest(&message);
                key.verify_prehash(digest.as_slice(), &signature)
                    .map_err(|_| ItemError::Signature)?;
                let recovered =
                    EcdsaPublic::recover_from_prehash(digest.as_slice(), &signature, recovery)
                        .map_err(|_| ItemError::Signature)?;
                if recovered == key { Ok(()) } else { Err(ItemError::Signature) }
            }
            other => Err(ItemError::UnsupportedSignatureType(other.code())),
        }
    }

    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub fn owner(&self) -> &[u8] {
        &self.owner
    }

    pub fn target(&self) -> Option<&[u8; 32]> {
        self.target.as_ref()
    }

    pub fn anchor(&self) -> Option<&[u8; 32]> {
        self.anchor.as_ref()
    }

    pub fn tags(&self) -> &[Tag] {
        &self.tags
    }

    /// The first value of the tag called `name`.
    pub fn tag(&self, name: &str) -> Option<&[u8]> {
        self.tags.iter().find(|t| t.name == name.as_bytes()).map(|t| t.value.as_slice())
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }
}
