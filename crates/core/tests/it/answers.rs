//! Signed JSON-RPC answers: the canonical forms are the documented bytes,
//! hops that change only the id, key order or whitespace keep the digest,
//! and any change of meaning, chain or tip changes it.

use alloy_primitives::{Address, B256, keccak256};
use cairn_core::{
    ChainId,
    answer::{
        ANSWER_DOMAIN_TAG, AnswerClaim, AnswerError, AnswerHeader, canonical_json,
        canonical_request, canonical_response, order_batch_response,
    },
};
use k256::ecdsa::SigningKey;
use serde_json::{Value, json};

pub(crate) fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32].into()).unwrap()
}

pub(crate) fn address_of(key: &SigningKey) -> Address {
    let point = key.verifying_key().to_encoded_point(false);
    Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
}

/// Signs an answer as a sidecar does and renders its header.
pub(crate) fn sign_answer(
    key: &SigningKey,
    chain: &ChainId,
    request: &Value,
    response: &Value,
    block: u64,
) -> String {
    let block_hash = keccak256(block.to_be_bytes());
    let claim = AnswerClaim::new(chain.clone(), request, response, block, block_hash).unwrap();
    let (sig, id) = key.sign_prehash_recoverable(claim.digest().as_slice()).unwrap();
    let mut signature = [0u8; 65];
    signature[..64].copy_from_slice(&sig.to_bytes());
    signature[64] = 27 + id.to_byte();
    AnswerHeader { chain: chain.clone(), block_number: block, block_hash, signature }.render()
}

fn text(value: &Value) -> String {
    let mut out = Vec::new();
    canonical_json(value, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn canonical_json_sorts_keys_escapes_minimally_and_keeps_numbers_by_value() {
    let value: Value = serde_json::from_str(
        r#"{ "b": [1, -2, 1.5, 1e300, 10.0], "a": "tab\there \"q\" \\ \u0001 é", "A": null, "c": {"z": true, "y": false} }"#,
    )
    .unwrap();
    assert_eq!(
        text(&value),
        r#"{"A":null,"a":"tab\there \"q\" \\ \u0001 é","b":[1,-2,1.5,1e300,10.0],"c":{"y":false,"z":true}}"#
    );
}

#[test]
fn request_and_response_drop_what_differs_between_hops() {
    let sent =
        json!({"jsonrpc": "2.0", "id": 7, "method": "eth_getBalance", "params": ["0xabc", "0x10"]});
    let forwarded: Value = serde_json::from_str(
        r#"{"params":["0xabc","0x10"],   "method":"eth_getBalance","id":"gw-1","jsonrpc":"2.0"}"#,
    )
    .unwrap();
    let expected = br#"{"method":"eth_getBalance","params":["0xabc","0x10"]}"#;
    assert_eq!(canonical_request(&sent).unwrap(), expected);
    assert_eq!(canonical_request(&forwarded).unwrap(), expected);

    let answer = json!({"jsonrpc": "2.0", "id": 7, "result": "0x1"});
    assert_eq!(canonical_response(&answer).unwrap(), br#"{"result":"0x1"}"#);
    let error = json!({"jsonrpc": "2.0", "id": 7, "error": {"message": "boom", "code": -32000}});
    assert_eq!(
        canonical_response(&error).unwrap(),
        br#"{"error":{"code":-32000,"message":"boom"}}"#
    );
}

#[test]
fn malformed_requests_and_responses_are_refused() {
    let notification = json!({"jsonrpc": "2.0", "method": "eth_blockNumber"});
    assert_eq!(canonical_request(&notification), Err(AnswerError::Notification));
    assert_eq!(canonical_request(&json!([])), Err(AnswerError::NotRequest));
    assert_eq!(canonical_request(&json!({"id": 1, "method": 5})), Err(AnswerError::NotRequest));
    assert_eq!(canonical_request(&json!("eth_blockNumber")), Err(AnswerError::NotRequest));
    let both = json!({"id": 1, "result": "0x1", "error": {"code": 1, "message": "x"}});
    assert_eq!(canonical_response(&both), Err(AnswerError::NotResponse));
    assert_eq!(canonical_response(&json!({"id": 1})), Err(AnswerError::NotResponse));
    assert_eq!(canonical_response(&json!({"id": 1, "error": "x"})), Err(AnswerError::NotResponse));
}

#[test]
fn batch_answers_are_put_in_call_order_and_must_match_one_to_one() {
    let calls = vec![json!({"id": 1, "method": "a"}), json!({"id": "two", "method": "b"})];
    let answers = vec![json!({"id": "two", "result": 2}), json!({"id": 1, "result": 1})];
    let ordered = order_batch_response(&calls, answers).unwrap();
    assert_eq!(ordered, vec![json!({"id": 1, "result": 1}), json!({"id": "two", "result": 2})]);

    let missing = vec![json!({"id": 1, "result": 1})];
    assert_eq!(order_batch_response(&calls, missing), Err(AnswerError::BatchMismatch(1)));
    let extra = vec![
        json!({"id": 1, "result": 1}),
        json!({"id": "two", "result": 2}),
        json!({"id": 3, "result": 3}),
    ];
    assert_eq!(order_batch_response(&calls, extra), Err(AnswerError::NotResponse));
    let duplicate_call = vec![json!({"id": 1, "method": "a"}), json!({"id": 1, "method": "a"})];
    assert_eq!(
        order_batch_response(&duplicate_call, vec![json!({"id": 1, "result": 1})]),
        Err(AnswerError::BatchMismatch(1))
    );
}

#[test]
fn digest_is_the_documented_byte_string() {
    let chain = ChainId::eip155(31337);
    let request = json!({"id": 1, "method": "eth_blockNumber"});
    let response = json!({"id": 1, "result": "0x2a"});
    let block_hash = B256::repeat_byte(0xab);
    let claim = AnswerClaim::new(chain.clone(), &request, &response, 42, block_hash).unwrap();

    let mut bytes = ANSWER_DOMAIN_TAG.to_vec();
    bytes.push("eip155:31337".len() as u8);
    bytes.extend_from_slice(b"eip155:31337");
    bytes.extend_from_slice(keccak256(br#"{"method":"eth_blockNumber"}"#).as_slice());
    bytes.extend_from_slice(keccak256(br#"{"result":"0x2a"}"#).as_slice());
    bytes.extend_from_slice(&42u64.to_be_bytes());
    bytes.extend_from_slice(block_hash.as_slice());
    assert_eq!(claim.digest(), keccak256(bytes));
    assert_eq!(ANSWER_DOMAIN_TAG, b"cairn:answer:v1");
}

#[test]
fn header_round_trips_and_recovers_the_operator() {
    let chain = ChainId::eip155(1);
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    let response = json!({"jsonrpc": "2.0", "id": 1, "result": "0x1"});
    let operator = key(7);
    let rendered = sign_answer(&operator, &chain, &request, &response, 100);
    let header = AnswerHeader::parse(&rendered).unwrap();
    assert_eq!(header.render(), rendered);
    assert_eq!(header.signer(&chain, &request, &response), Ok(address_of(&operator)));

    // Another id at another hop: same signer.
    let relayed = json!({"jsonrpc": "2.0", "id": 99, "result": "0x1"});
    assert_eq!(header.signer(&chain, &request, &relayed), Ok(address_of(&operator)));
}

#[test]
fn any_change_of_meaning_chain_or_tip_breaks_the_signature() {
    let chain = ChainId::eip155(1);
    let request = json!({"id": 1, "method": "eth_getBalance", "params": ["0xabc", "0x5"]});
    let response = json!({"id": 1, "result": "0x64"});
    let operator = address_of(&key(7));
    let header =
        AnswerHeader::parse(&sign_answer(&key(7), &chain, &request, &response, 5)).unwrap();

    let other_response = json!({"id": 1, "result": "0x65"});
    assert_ne!(header.signer(&chain, &request, &other_response), Ok(operator));
    let other_request = json!({"id": 1, "method": "eth_getBalance", "params": ["0xabd", "0x5"]});
    assert_ne!(header.signer(&chain, &other_request, &response), Ok(operator));

    let mut later = header.clone();
    later.block_number += 1;
    assert_ne!(later.signer(&chain, &request, &response), Ok(operator));
    let mut other_hash = header.clone();
    other_hash.block_hash = B256::repeat_byte(1);
    assert_ne!(other_hash.signer(&chain, &request, &response), Ok(operator));

    let mut other_chain = header.clone();
    other_chain.chain = ChainId::eip155(10);
    assert!(matches!(
        other_chain.signer(&chain, &request, &response),
        Err(AnswerError::WrongChain { .. })
    ));
    // Re-labelled as another chain, the signature no longer recovers to the operator there.
    assert_ne!(other_chain.signer(&ChainId::eip155(10), &request, &response), Ok(operator));
}

#[test]
fn headers_that_are_not_in_the_one_written_form_are_refused() {
    let good = sign_answer(
        &key(3),
        &ChainId::eip155(1),
        &json!({"id": 1, "method": "m"}),
        &json!({"id": 1, "result": 1}),
        9,
    );
    assert!(AnswerHeader::parse(&good).is_ok());
    let cases = [
        good.replacen("v1", "v2", 1),
        good.replacen("; ", ";", 1),
        good.replacen("block=9", "block=09", 1),
        good.replacen("block=9", "block=+9", 1),
        good.replacen("block=9", "block=", 1),
        good.replacen("chain=eip155:1", "chain=eip155", 1),
        good.replacen("hash=0x", "hash=", 1),
        good.replacen("hash=0x", "hash=0xAB", 1),
        format!("{good}; extra=1"),
        good[..good.len() - 2].to_owned(),
        good.to_uppercase(),
        String::new(),
    ];
    for case in cases {
        assert!(
            matches!(AnswerHeader::parse(&case), Err(AnswerError::Header(_))),
            "accepted {case:?}"
        );
    }
}

#[test]
fn a_high_s_twin_of_an_answer_signature_is_refused() {
    let chain = ChainId::eip155(1);
    let request = json!({"id": 1, "method": "eth_chainId"});
    let response = json!({"id": 1, "result": "0x1"});
    let mut header =
        AnswerHeader::parse(&sign_answer(&key(5), &chain, &request, &response, 1)).unwrap();
    // s' = n − s recovers the same key with the other v; EIP-2 forbids it.
    let order = alloy_primitives::U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s = alloy_primitives::U256::from_be_slice(&header.signature[32..64]);
    header.signature[32..64].copy_from_slice(&(order - s).to_be_bytes::<32>());
    header.signature[64] ^= 1;
    assert!(matches!(header.signer(&chain, &request, &response), Err(AnswerError::Signature(_))));
}
