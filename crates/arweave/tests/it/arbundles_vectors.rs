//! Items made by arbundles 0.11.2 with fixed keys (`fixtures/generate.mjs`):
//! decoding, re-encoding and re-signing here must give the same bytes.

use cairn_arweave::{DataItem, SignatureType, Tag, UnsignedItem};
use serde::Deserialize;

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    name: String,
    signature_type: u16,
    key: String,
    owner: String,
    data: String,
    tags: Vec<JsonTag>,
    target: Option<String>,
    anchor: Option<String>,
    signature_data: String,
    id: String,
    item: String,
}

#[derive(Deserialize)]
struct JsonTag {
    name: String,
    value: String,
}

fn vectors() -> Vec<Vector> {
    let text = include_str!("../../fixtures/ans104-vectors.json");
    let vectors: Vectors = serde_json::from_str(text).expect("fixture parses");
    assert!(vectors.vectors.len() >= 12, "both signature types, every case");
    vectors.vectors
}

fn bytes32(hex_text: &Option<String>) -> Option<[u8; 32]> {
    hex_text.as_ref().map(|h| hex::decode(h).unwrap().try_into().unwrap())
}

#[test]
fn arbundles_items_decode_verify_and_re_encode_byte_for_byte() {
    for v in vectors() {
        let raw = hex::decode(&v.item).unwrap();
        let item = DataItem::decode(&raw).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(item.encode(), raw, "{}: re-encoding", v.name);
        assert_eq!(item.id_base64url(), v.id, "{}: id", v.name);
        assert_eq!(hex::encode(item.signature_data()), v.signature_data, "{}: deep hash", v.name);
        assert_eq!(item.signature_type().code(), v.signature_type);
        assert_eq!(hex::encode(item.owner()), v.owner);
        assert_eq!(hex::encode(item.data()), v.data, "{}: data", v.name);
        assert_eq!(item.target(), bytes32(&v.target).as_ref());
        assert_eq!(item.anchor(), bytes32(&v.anchor).as_ref());
        let tags: Vec<Tag> =
            v.tags.iter().map(|t| Tag::new(t.name.as_bytes(), t.value.as_bytes())).collect();
        assert_eq!(item.tags(), tags.as_slice(), "{}: tags", v.name);
        item.verify().unwrap_or_else(|e| panic!("{}: {e}", v.name));
    }
}

#[tokio::test]
async fn signing_the_same_fields_here_reproduces_arbundles_exactly() {
    for v in vectors() {
        let unsigned = UnsignedItem {
            data: hex::decode(&v.data).unwrap(),
            tags: v.tags.iter().map(|t| Tag::new(t.name.as_bytes(), t.value.as_bytes())).collect(),
            target: bytes32(&v.target),
            anchor: bytes32(&v.anchor),
        };
        let item = match SignatureType::from_code(v.signature_type).unwrap() {
            SignatureType::Ed25519 => {
                let seed: [u8; 32] = hex::decode(&v.key).unwrap().try_into().unwrap();
                unsigned.sign_ed25519(&ed25519_dalek::SigningKey::from_bytes(&seed)).unwrap()
            }
            SignatureType::Ethereum => {
                let signer = cairn_signer::LocalSigner::from_hex(&v.key).unwrap();
                unsigned.sign_ethereum(&signer).await.unwrap()
            }
            other => panic!("no fixture signer for {other:?}"),
        };
        assert_eq!(hex::encode(item.encode()), v.item, "{}: bytes", v.name);
        assert_eq!(item.id_base64url(), v.id, "{}: id", v.name);
    }
}
