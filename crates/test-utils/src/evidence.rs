//! Evidence records signed by real operator keys, for the parties and
//! pipelines that check evidence before they act on it.

use alloy::{
    primitives::{Address, keccak256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use cairn_core::{
    ChainId,
    answer::{AnswerClaim, AnswerHeader},
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceKind, SignedAnswer},
};
use serde_json::{Value, json};

/// An answer to one `eth_getBalance` request served from `block`, signed by `operator`.
pub fn signed_answer(
    operator: &PrivateKeySigner,
    chain: &ChainId,
    result: &str,
    block: u64,
) -> SignedAnswer {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_getBalance", "params": ["0x00000000000000000000000000000000000000aa", "0x10"]});
    let response = json!({"jsonrpc": "2.0", "id": 1, "result": result});
    let block_hash = keccak256(block.to_be_bytes());
    let claim = AnswerClaim::new(chain.clone(), &request, &response, block, block_hash)
        .expect("a well-formed answer");
    let signature = operator.sign_hash_sync(&claim.digest()).expect("signs");
    let header = AnswerHeader {
        chain: chain.clone(),
        block_number: block,
        block_hash,
        signature: signature.as_bytes(),
    };
    SignedAnswer {
        operator: operator.address(),
        endpoint: None,
        request,
        response: response as Value,
        header: header.render(),
    }
}

/// Two different answers by `operator` to the same request at the same
/// block: evidence that verifies and accuses `operator`.
pub fn conflicting_answers(operator: &PrivateKeySigner) -> Evidence {
    let chain = ChainId::eip155(31337);
    Evidence {
        version: EVIDENCE_VERSION,
        chain: chain.clone(),
        kind: EvidenceKind::ConflictingAnswers,
        accused: operator.address(),
        ignored_fields: vec![],
        answers: vec![
            signed_answer(operator, &chain, "0x0", 16),
            signed_answer(operator, &chain, "0x64", 16),
        ],
    }
}

/// The same shape, but the answers agree: it proves nothing and must not verify.
pub fn agreeing_answers(operator: &PrivateKeySigner) -> Evidence {
    let mut evidence = conflicting_answers(operator);
    evidence.answers[1] = evidence.answers[0].clone();
    evidence
}

/// The address of `operator`.
pub fn operator_address(operator: &PrivateKeySigner) -> Address {
    operator.address()
}
