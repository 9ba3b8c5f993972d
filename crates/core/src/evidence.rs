//! Evidence against a provider: signed answers that cannot all be right.
//!
//! An evidence record holds the answers as they were received (request,
//! response, `cairn-answer` header, claimed operator), so anyone can rebuild
//! every signed digest and recover its signer offline. Two kinds prove a
//! wrong answer:
//!
//! - **conflicting answers**: one operator signed two different responses to
//!   the same request served from the same block;
//! - **quorum mismatch**: at least `k` other operators, each distinct, signed
//!   one and the same response to the same request at the same block, and
//!   the accused signed a different one.
//!
//! Responses are compared after removing the fields named in
//! `ignored_fields` (object keys, at any depth), which a method may
//! legitimately answer differently (for example a node-local timestamp).
//! The verifier reports which fields were ignored; a party that checks
//! evidence before signing a slash decides for itself whether those fields
//! may be ignored for that method.

use std::collections::BTreeSet;

use alloy_primitives::{Address, B256, keccak256};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    ChainId,
    answer::{AnswerError, AnswerHeader, canonical_json, canonical_response},
};

/// Version of the evidence record format.
pub const EVIDENCE_VERSION: u8 = 1;

/// One signed answer as the gateway received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAnswer {
    /// The operator the answer is attributed to (the registered operator of
    /// the endpoint that served it).
    pub operator: Address,
    /// Where it was received from, for people; not part of any check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub request: Value,
    pub response: Value,
    /// The `cairn-answer` header, as sent.
    pub header: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum EvidenceKind {
    ConflictingAnswers,
    QuorumMismatch { k: u32 },
}

/// A portable evidence record (`cairn evidence verify FILE` reads one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub version: u8,
    pub chain: ChainId,
    #[serde(flatten)]
    pub kind: EvidenceKind,
    /// The operator the evidence is against.
    pub accused: Address,
    #[serde(default)]
    pub ignored_fields: Vec<String>,
    /// For conflicting answers: the accused's two answers. For a quorum
    /// mismatch: the accused's answer and the quorum's.
    pub answers: Vec<SignedAnswer>,
}

/// What a verified record proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub accused: Address,
    pub chain: ChainId,
    pub block_number: u64,
    pub block_hash: B256,
    pub request_hash: B256,
    /// The operators whose answers agree against the accused (empty for
    /// conflicting answers).
    pub witnesses: Vec<Address>,
    pub ignored_fields: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence version {0} is not supported (expected {EVIDENCE_VERSION})")]
    Version(u8),
    #[error("answer {index}: {source}")]
    Answer {
        index: usize,
        #[source]
        source: AnswerError,
    },
    #[error("answer {index} is signed by {signer}, not by its operator {operator}")]
    WrongSigner { index: usize, operator: Address, signer: Address },
    #[error("answer {0} answers another request or was served from another block than the first")]
    NotComparable(usize),
    #[error("conflicting-answers evidence needs exactly two answers, both by the accused")]
    ConflictShape,
    #[error("the two answers agree once ignored fields are removed: no conflict")]
    NoConflict,
    #[error(
        "quorum evidence needs one answer by the accused and at least k = {k} by distinct other operators, got {others}"
    )]
    QuorumTooSmall { k: u32, others: usize },
    #[error("the quorum's answers do not all agree")]
    QuorumSplit,
    #[error("the accused's answer agrees with the quorum: no mismatch")]
    NoMismatch,
}

impl EvidenceKind {
    /// The `Slash.reason` code an order built on this evidence carries
    /// (`docs/architecture.md`, slashing): 1 conflicting answers, 2 a quorum
    /// mismatch. 0 is kept for "unspecified".
    pub fn slash_reason(&self) -> u8 {
        match self {
            Self::ConflictingAnswers => 1,
            Self::QuorumMismatch { .. } => 2,
        }
    }
}

impl Evidence {
    /// A stable hash of the record: keccak256 of its canonical JSON.
    pub fn hash(&self) -> B256 {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        let mut out = Vec::new();
        canonical_json(&value, &mut out);
        keccak256(out)
    }

    /// Checks every signature and that the answers really disagree.
    pub fn verify(&self) -> Result<Verdict, EvidenceError> {
        if self.version != EVIDENCE_VERSION {
            return Err(EvidenceError::Version(self.version));
        }
        let mut claims = Vec::with_capacity(self.answers.len());
        for (index, answer) in self.answers.iter().enumerate() {
            let wrap = |source| EvidenceError::Answer { index, source };
            let header = AnswerHeader::parse(&answer.header).map_err(wrap)?;
            let signer =
                header.signer(&self.chain, &answer.request, &answer.response).map_err(wrap)?;
            if signer != answer.operator {
                return Err(EvidenceError::WrongSigner {
                    index,
                    operator: answer.operator,
                    signer,
                });
            }
            claims.push(header.claim(&answer.request, &answer.response).map_err(wrap)?);
        }
        let first = claims.first().ok_or(EvidenceError::ConflictShape)?.clone();
        for (index, claim) in claims.iter().enumerate() {
            if (claim.request_hash, claim.block_number, claim.block_hash)
                != (first.request_hash, first.block_number, first.block_hash)
            {
                return Err(EvidenceError::NotComparable(index));
            }
        }
        let compared = |answer: &SignedAnswer| -> Result<B256, EvidenceError> {
            let mut response = answer.response.clone();
            strip_fields(&mut response, &self.ignored_fields);
            canonical_response(&response)
                .map(keccak256)
                .map_err(|source| EvidenceError::Answer { index: 0, source })
        };
        let witnesses = match self.kind {
            EvidenceKind::ConflictingAnswers => {
                let [a, b] = self.answers.as_slice() else {
                    return Err(EvidenceError::ConflictShape);
                };
                if a.operator != self.accused || b.operator != self.accused {
                    return Err(EvidenceError::ConflictShape);
                }
                if compared(a)? == compared(b)? {
                    return Err(EvidenceError::NoConflict);
                }
                Vec::new()
            }
            EvidenceKind::QuorumMismatch { k } => {
                let (accused, others): (Vec<_>, Vec<_>) =
                    self.answers.iter().partition(|a| a.operator == self.accused);
                let distinct: BTreeSet<Address> = others.iter().map(|a| a.operator).collect();
                if accused.len() != 1
                    || k == 0
                    || distinct.len() != others.len()
                    || others.len() < k as usize
                {
                    return Err(EvidenceError::QuorumTooSmall { k, others: distinct.len() });
                }
                let quorum = compared(others[0])?;
                for other in &others[1..] {
                    if compared(other)? != quorum {
                        return Err(EvidenceError::QuorumSplit);
                    }
                }
                if compared(accused[0])? == quorum {
                    return Err(EvidenceError::NoMismatch);
                }
                distinct.into_iter().collect()
            }
        };
        Ok(Verdict {
            accused: self.accused,
            chain: self.chain.clone(),
            block_number: first.block_number,
            block_hash: first.block_hash,
            request_hash: first.request_hash,
            witnesses,
            ignored_fields: self.ignored_fields.clone(),
        })
    }
}

/// Removes every object key named in `fields`, at any depth.
pub fn strip_fields(value: &mut Value, fields: &[String]) {
    if fields.is_empty() {
        return;
    }
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !fields.iter().any(|f| f == key));
            map.values_mut().for_each(|v| strip_fields(v, fields));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| strip_fields(v, fields)),
        _ => {}
    }
}
