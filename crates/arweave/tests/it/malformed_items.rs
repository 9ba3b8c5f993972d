use cairn_arweave::{DataItem, ItemError, Tag, UnsignedItem, encode_tags};

use crate::sample_item;

/// Offsets in a type-3 item: 2 type + 65 signature + 65 owner.
const TARGET_PRESENCE: usize = 2 + 65 + 65;
const ANCHOR_PRESENCE: usize = TARGET_PRESENCE + 33;
const TAG_COUNT: usize = ANCHOR_PRESENCE + 33;

#[tokio::test]
async fn every_truncation_is_an_error() {
    let raw = sample_item().await.encode();
    let tags_end = TAG_COUNT
        + 16
        + u64::from_le_bytes(raw[TAG_COUNT + 8..TAG_COUNT + 16].try_into().unwrap()) as usize;
    for len in 0..raw.len() {
        match DataItem::decode(&raw[..len]) {
            Err(_) => {}
            // Past the tags, a shorter item is a shorter data field: it
            // parses, but no longer verifies.
            Ok(item) => {
                assert!(len >= tags_end, "truncated to {len} parsed");
                assert_eq!(item.verify(), Err(ItemError::Signature), "truncated to {len} verified");
            }
        }
    }
}

#[tokio::test]
async fn structural_errors_are_named() {
    let raw = sample_item().await.encode();
    let mut bad = raw.clone();
    bad[0] = 99;
    assert_eq!(DataItem::decode(&bad), Err(ItemError::UnknownSignatureType(99)));
    let mut bad = raw.clone();
    bad[TARGET_PRESENCE] = 2;
    assert_eq!(DataItem::decode(&bad), Err(ItemError::PresenceByte { field: "target", byte: 2 }));
    let mut bad = raw.clone();
    bad[ANCHOR_PRESENCE] = 7;
    assert_eq!(DataItem::decode(&bad), Err(ItemError::PresenceByte { field: "anchor", byte: 7 }));
    let mut bad = raw.clone();
    bad[TAG_COUNT] = 3;
    assert_eq!(DataItem::decode(&bad), Err(ItemError::TagCount { declared: 3, found: 2 }));
    let mut bad = raw.clone();
    bad[TAG_COUNT + 8..TAG_COUNT + 16].copy_from_slice(&5000u64.to_le_bytes());
    assert!(matches!(DataItem::decode(&bad), Err(ItemError::TagBytes(_))));
    assert_eq!(
        DataItem::decode_with_limit(&raw, raw.len() - 1),
        Err(ItemError::TooLarge { len: raw.len(), max: raw.len() - 1 })
    );
}

#[tokio::test]
async fn changed_bytes_fail_verification() {
    let item = sample_item().await;
    item.verify().unwrap();
    let raw = item.encode();
    // Every byte of signature, owner, target, anchor, tags and data is
    // covered: flipping one must never leave a verifying item.
    for pos in 2..raw.len() {
        let mut changed = raw.clone();
        changed[pos] ^= 0x01;
        if let Ok(parsed) = DataItem::decode(&changed) {
            assert!(parsed.verify().is_err(), "flipping byte {pos} still verifies");
        }
    }
}

#[tokio::test]
async fn high_s_twins_and_other_v_values_are_refused() {
    let raw = sample_item().await.encode();
    const ORDER: [u8; 32] =
        hex_literal("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    let s = &raw[2 + 32..2 + 64];
    let twin_s = sub_be(&ORDER, s);
    let mut twin = raw.clone();
    twin[2 + 32..2 + 64].copy_from_slice(&twin_s);
    twin[2 + 64] = if raw[2 + 64] == 27 { 28 } else { 27 };
    assert_eq!(DataItem::decode(&twin).unwrap().verify(), Err(ItemError::Signature));
    for v in [0u8, 1, 29] {
        let mut other = raw.clone();
        other[2 + 64] = v;
        assert_eq!(
            DataItem::decode(&other).unwrap().verify(),
            Err(ItemError::Signature),
            "v = {v}"
        );
    }
}

#[test]
fn tag_limits_are_enforced_when_encoding() {
    assert_eq!(encode_tags(&vec![Tag::new("a", "b"); 129]), Err(ItemError::TooManyTags(129)));
    assert_eq!(encode_tags(&[Tag::new("", "b")]), Err(ItemError::TagName(0)));
    assert_eq!(encode_tags(&[Tag::new("a", "")]), Err(ItemError::TagValue(0)));
    assert_eq!(encode_tags(&[Tag::new("n".repeat(1025), "b")]), Err(ItemError::TagName(1025)));
    assert_eq!(encode_tags(&[Tag::new("a", "v".repeat(3073))]), Err(ItemError::TagValue(3073)));
    assert!(matches!(
        encode_tags(&[Tag::new("a", "v".repeat(3000)), Tag::new("b", "v".repeat(3000))]),
        Err(ItemError::TagBytes(_))
    ));
    let key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let unsigned = UnsignedItem { tags: vec![Tag::new("", "x")], ..Default::default() };
    assert_eq!(unsigned.sign_ed25519(&key), Err(ItemError::TagName(0)));
}

#[test]
fn unsupported_types_parse_but_do_not_verify() {
    // A type-4 (Solana) item: 64-byte signature, 32-byte owner, no fields.
    let mut raw = vec![4, 0];
    raw.extend_from_slice(&[9; 64 + 32]);
    raw.extend_from_slice(&[0, 0]);
    raw.extend_from_slice(&[0; 16]);
    let item = DataItem::decode(&raw).unwrap();
    assert_eq!(item.verify(), Err(ItemError::UnsupportedSignatureType(4)));
    assert_eq!(item.encode(), raw);
}

const fn hex_literal(text: &str) -> [u8; 32] {
    let bytes = text.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = nibble(bytes[2 * i]) << 4 | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        _ => c - b'a' + 10,
    }
}

/// a − b for 32-byte big-endian numbers, a ≥ b.
fn sub_be(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}
