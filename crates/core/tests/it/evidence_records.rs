//! Evidence records verify offline, and only when the answers really
//! disagree under valid signatures of the operators they name.

use cairn_core::{
    ChainId,
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceError, EvidenceKind, SignedAnswer},
};
use serde_json::{Value, json};

use crate::answers::{address_of, key, sign_answer};

fn chain() -> ChainId {
    ChainId::eip155(31337)
}

fn request() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x00000000000000000000000000000000000000aa", "0x10"]})
}

fn answer(signer: u8, result: &str, block: u64) -> SignedAnswer {
    let response = json!({"jsonrpc": "2.0", "id": 1, "result": result});
    SignedAnswer {
        operator: address_of(&key(signer)),
        endpoint: Some(format!("http://127.0.0.1:{}", 9000 + u16::from(signer))),
        header: sign_answer(&key(signer), &chain(), &request(), &response, block),
        request: request(),
        response,
    }
}

fn quorum(answers: Vec<SignedAnswer>, k: u32) -> Evidence {
    Evidence {
        version: EVIDENCE_VERSION,
        chain: chain(),
        kind: EvidenceKind::QuorumMismatch { k },
        accused: address_of(&key(9)),
        ignored_fields: vec![],
        answers,
    }
}

fn conflict(answers: Vec<SignedAnswer>) -> Evidence {
    Evidence {
        version: EVIDENCE_VERSION,
        chain: chain(),
        kind: EvidenceKind::ConflictingAnswers,
        accused: address_of(&key(9)),
        ignored_fields: vec![],
        answers,
    }
}

#[test]
fn a_quorum_mismatch_verifies_and_names_its_witnesses() {
    let evidence =
        quorum(vec![answer(9, "0x0", 16), answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    let verdict = evidence.verify().unwrap();
    assert_eq!(verdict.accused, address_of(&key(9)));
    assert_eq!(verdict.block_number, 16);
    let mut expected = vec![address_of(&key(1)), address_of(&key(2))];
    expected.sort();
    assert_eq!(verdict.witnesses, expected);

    // The record survives its own file format.
    let file = serde_json::to_string_pretty(&evidence).unwrap();
    let read: Evidence = serde_json::from_str(&file).unwrap();
    assert_eq!(read, evidence);
    assert_eq!(read.hash(), evidence.hash());
    assert!(read.verify().is_ok());
}

#[test]
fn quorum_evidence_that_proves_nothing_is_refused() {
    let agrees =
        quorum(vec![answer(9, "0x64", 16), answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    assert_eq!(agrees.verify(), Err(EvidenceError::NoMismatch));

    let split = quorum(vec![answer(9, "0x0", 16), answer(1, "0x64", 16), answer(2, "0x65", 16)], 2);
    assert_eq!(split.verify(), Err(EvidenceError::QuorumSplit));

    let too_small = quorum(vec![answer(9, "0x0", 16), answer(1, "0x64", 16)], 2);
    assert!(matches!(too_small.verify(), Err(EvidenceError::QuorumTooSmall { .. })));

    // One witness counted twice is still one witness.
    let repeated =
        quorum(vec![answer(9, "0x0", 16), answer(1, "0x64", 16), answer(1, "0x64", 16)], 2);
    assert!(matches!(repeated.verify(), Err(EvidenceError::QuorumTooSmall { .. })));

    let other_block =
        quorum(vec![answer(9, "0x0", 17), answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    assert_eq!(other_block.verify(), Err(EvidenceError::NotComparable(1)));
}

#[test]
fn an_answer_attributed_to_someone_who_did_not_sign_it_is_refused() {
    let mut framed = answer(1, "0x0", 16);
    framed.operator = address_of(&key(9));
    let evidence = quorum(vec![framed, answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    assert!(matches!(evidence.verify(), Err(EvidenceError::WrongSigner { index: 0, .. })));

    let mut altered = answer(9, "0x0", 16);
    altered.response = json!({"jsonrpc": "2.0", "id": 1, "result": "0x1"});
    let evidence = quorum(vec![altered, answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    assert!(matches!(evidence.verify(), Err(EvidenceError::WrongSigner { index: 0, .. })));

    let mut other_chain =
        quorum(vec![answer(9, "0x0", 16), answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    other_chain.chain = ChainId::eip155(1);
    assert!(matches!(other_chain.verify(), Err(EvidenceError::Answer { index: 0, .. })));

    let mut version =
        quorum(vec![answer(9, "0x0", 16), answer(1, "0x64", 16), answer(2, "0x64", 16)], 2);
    version.version = 2;
    assert_eq!(version.verify(), Err(EvidenceError::Version(2)));
}

#[test]
fn two_conflicting_answers_by_one_operator_are_evidence_on_their_own() {
    let evidence = conflict(vec![answer(9, "0x0", 16), answer(9, "0x64", 16)]);
    let verdict = evidence.verify().unwrap();
    assert!(verdict.witnesses.is_empty());

    assert_eq!(
        conflict(vec![answer(9, "0x64", 16), answer(9, "0x64", 16)]).verify(),
        Err(EvidenceError::NoConflict)
    );
    assert_eq!(
        conflict(vec![answer(9, "0x0", 16), answer(1, "0x64", 16)]).verify(),
        Err(EvidenceError::ConflictShape)
    );
    assert_eq!(conflict(vec![answer(9, "0x0", 16)]).verify(), Err(EvidenceError::ConflictShape));
    // A newer block may legitimately answer differently.
    assert_eq!(
        conflict(vec![answer(9, "0x0", 16), answer(9, "0x64", 17)]).verify(),
        Err(EvidenceError::NotComparable(1))
    );
}

#[test]
fn ignored_fields_are_removed_before_answers_are_compared() {
    let with_field = |signer: u8, stamp: &str| {
        let response =
            json!({"jsonrpc": "2.0", "id": 1, "result": {"balance": "0x64", "servedAt": stamp}});
        SignedAnswer {
            operator: address_of(&key(signer)),
            endpoint: None,
            header: sign_answer(&key(signer), &chain(), &request(), &response, 16),
            request: request(),
            response,
        }
    };
    let mut evidence = conflict(vec![with_field(9, "1"), with_field(9, "2")]);
    assert!(evidence.verify().is_ok());
    evidence.ignored_fields = vec!["servedAt".into()];
    assert_eq!(evidence.verify(), Err(EvidenceError::NoConflict));
}
