//! What the gateway does with evidence: hands it to an [`EvidenceSink`]
//! (the service's store), remembers recent signed answers to catch one
//! operator signing two different answers, and checks a record offline
//! for `cairn evidence verify`.

use std::{collections::HashMap, sync::Mutex};

use alloy_primitives::{Address, B256, keccak256};
use cairn_core::{
    answer::{AnswerHeader, canonical_response},
    evidence::strip_fields,
    evidence::{EVIDENCE_VERSION, Evidence, EvidenceError, EvidenceKind, SignedAnswer, Verdict},
};
use serde_json::Value;

use crate::source::BoxFuture;

/// Where evidence records go.
pub trait EvidenceSink: Send + Sync + 'static {
    fn put<'a>(&'a self, evidence: &'a Evidence) -> BoxFuture<'a, Result<(), String>>;
}

/// Keeps records in memory (the last 1,000), for tests and for a gateway
/// without a store.
#[derive(Debug, Default)]
pub struct MemoryEvidence {
    records: Mutex<Vec<Evidence>>,
}

impl MemoryEvidence {
    pub fn records(&self) -> Vec<Evidence> {
        self.records.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EvidenceSink for MemoryEvidence {
    fn put<'a>(&'a self, evidence: &'a Evidence) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
            if records.len() >= 1_000 {
                records.remove(0);
            }
            records.push(evidence.clone());
            Ok(())
        })
    }
}

/// The hash answers are compared by: of the canonical response with the
/// method's ignored fields removed.
pub(crate) fn comparison_hash(response: &Value, ignored: &[String]) -> Option<B256> {
    let mut response = response.clone();
    strip_fields(&mut response, ignored);
    canonical_response(&response).ok().map(keccak256)
}

type ClaimKey = (Address, B256, u64, B256);

/// Recent signed answers per (operator, request, block), to notice one
/// operator signing two different answers to the same question.
#[derive(Debug, Default)]
pub(crate) struct ConflictWatch {
    seen: Mutex<HashMap<ClaimKey, (B256, SignedAnswer)>>,
}

/// Bounds the memory the watch takes; on overflow it starts afresh, which
/// only loses the chance to catch a conflict spread over the boundary.
const WATCHED_ANSWERS: usize = 8_192;

impl ConflictWatch {
    /// Records `answer` (signed by `header`); returns conflicting-answers
    /// evidence when the same operator signed a different answer before.
    pub(crate) fn observe(
        &self,
        chain: &cairn_core::ChainId,
        header: &AnswerHeader,
        answer: &SignedAnswer,
        ignored: &[String],
    ) -> Option<Evidence> {
        let claim = header.claim(&answer.request, &answer.response).ok()?;
        let compared = comparison_hash(&answer.response, ignored)?;
        let key = (answer.operator, claim.request_hash, claim.block_number, claim.block_hash);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&key) {
            Some((earlier, _)) if *earlier == compared => None,
            Some((_, earlier)) => Some(Evidence {
                version: EVIDENCE_VERSION,
                chain: chain.clone(),
                kind: EvidenceKind::ConflictingAnswers,
                accused: answer.operator,
                ignored_fields: ignored.to_vec(),
                answers: vec![earlier.clone(), answer.clone()],
            }),
            None => {
                if seen.len() >= WATCHED_ANSWERS {
                    seen.clear();
                }
                seen.insert(key, (compared, answer.clone()));
                None
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("not an evidence record: {0}")]
    Format(#[from] serde_json::Error),
    #[error("the evidence does not hold: {0}")]
    Invalid(#[from] EvidenceError),
}

/// Reads an evidence record (JSON) and checks it: every signature, that
/// the answers are comparable and that they disagree.
pub fn verify_text(text: &str) -> Result<(Evidence, Verdict), VerifyError> {
    let evidence: Evidence = serde_json::from_str(text)?;
    let verdict = evidence.verify()?;
    Ok((evidence, verdict))
}

/// The verdict for people, one fact a line.
pub fn describe(evidence: &Evidence, verdict: &Verdict) -> String {
    let mut out = String::new();
    let kind = match evidence.kind {
        EvidenceKind::ConflictingAnswers => "conflicting answers".to_owned(),
        EvidenceKind::QuorumMismatch { k } => format!("quorum mismatch (k = {k})"),
    };
    out.push_str(&format!("evidence {}\n", evidence.hash()));
    out.push_str(&format!("kind: {kind}\n"));
    out.push_str(&format!("chain: {}\n", verdict.chain));
    out.push_str(&format!("block: {} ({})\n", verdict.block_number, verdict.block_hash));
    out.push_str(&format!("request: {}\n", verdict.request_hash));
    for (i, answer) in evidence.answers.iter().enumerate() {
        let role = if answer.operator == verdict.accused { "accused" } else { "witness" };
        out.push_str(&format!(
            "answer {i}: signed by {} ({role}){}\n",
            answer.operator,
            answer.endpoint.as_deref().map(|e| format!(" via {e}")).unwrap_or_default()
        ));
    }
    if !verdict.ignored_fields.is_empty() {
        out.push_str(&format!("ignored fields: {}\n", verdict.ignored_fields.join(", ")));
    }
    out.push_str(&format!("verdict: VALID, {} signed a wrong answer\n", verdict.accused));
    out
}
