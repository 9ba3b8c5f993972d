//! The slash order signer: which backend `cairn serve` uses and, for a
//! threshold group, what each party says about itself when asked.

use std::time::Duration;

use axum::{Json, extract::State};
use cairn_threshold::{Frame, GroupConfig, Reply};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;

/// How long a party may take to answer a status frame before it is shown
/// as down: the page must not hang on one dead process.
const PARTY_TIMEOUT: Duration = Duration::from_millis(800);

/// A signer `cairn serve` set up (for slash orders or batch commitments),
/// told to the state once known.
#[derive(Debug, Clone)]
pub struct SignerSetup {
    /// `local`, `threshold` or `icp`.
    pub kind: &'static str,
    pub address: alloy::primitives::Address,
    /// The threshold group, for `threshold`.
    pub group: Option<GroupConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignerView {
    /// `none` (slashing off), `local`, `threshold` or `icp`.
    pub signer: String,
    /// The address orders are signed by (the registry's slasher).
    pub address: Option<String>,
    /// `none` (settlement off), `local`, `threshold` or `icp`: who signs batch
    /// commitments.
    pub settlement_signer: String,
    /// The address commitments are signed by (the contract's settlement signer).
    pub settlement_address: Option<String>,
    /// Parties needed to sign, for `threshold`.
    pub threshold: Option<u16>,
    /// Every party of the group, in index order; empty unless `threshold`.
    pub parties: Vec<PartyView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PartyView {
    pub index: u16,
    pub addr: String,
    /// The party's identity key address (it signs its protocol messages).
    pub identity: String,
    /// `up` when it answered a status frame, else `down`.
    pub state: String,
    /// Why it is shown as down.
    pub error: Option<String>,
    pub sessions_completed: Option<u64>,
    pub sessions_aborted: Option<u64>,
    /// Messages refused: unauthenticated, replayed, malformed.
    pub dropped_unauthenticated: Option<u64>,
    pub refused_replays: Option<u64>,
    pub dropped_malformed: Option<u64>,
    /// The session it finished last since it started.
    pub last_session: Option<SessionView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub session: String,
    /// `sign` or `keygen`.
    pub kind: String,
    /// `completed` or `aborted`.
    pub outcome: String,
    pub reason: Option<String>,
    /// Unix seconds.
    pub finished_at: u64,
}

/// Asks every party at once, so a page with dead parties waits one timeout,
/// not one per party.
pub(crate) async fn signer_status(state: &AppState) -> SignerView {
    let slash = state.slash_signer.get();
    let settlement = state.settlement_signer.get();
    let kind = |setup: Option<&SignerSetup>| setup.map_or("none", |s| s.kind).to_owned();
    let address = |setup: Option<&SignerSetup>| setup.map(|s| format!("{:#x}", s.address));
    let mut view = SignerView {
        signer: kind(slash),
        address: address(slash),
        settlement_signer: kind(settlement),
        settlement_address: address(settlement),
        threshold: None,
        parties: vec![],
    };
    // Both roles read the one `[threshold]` group.
    let Some(group) = slash.or(settlement).and_then(|s| s.group.as_ref()) else {
        return view;
    };
    let mut asks = tokio::task::JoinSet::new();
    for entry in group.parties.clone() {
        asks.spawn(ask(entry));
    }
    while let Some(joined) = asks.join_next().await {
        if let Ok(party) = joined {
            view.parties.push(party);
        }
    }
    view.parties.sort_by_key(|p| p.index);
    view.threshold = Some(group.threshold);
    view
}

async fn ask(entry: cairn_threshold::PartyEntry) -> PartyView {
    let asked = tokio::time::timeout(
        PARTY_TIMEOUT,
        cairn_threshold::request_reply(entry.addr, &Frame::Status),
    )
    .await;
    let mut view = PartyView {
        index: entry.index,
        addr: entry.addr.to_string(),
        identity: format!("{:#x}", entry.identity),
        state: "down".into(),
        error: None,
        sessions_completed: None,
        sessions_aborted: None,
        dropped_unauthenticated: None,
        refused_replays: None,
        dropped_malformed: None,
        last_session: None,
    };
    match asked {
        Ok(Ok(Reply::Status(status))) => {
            view.state = "up".into();
            view.sessions_completed = Some(status.sessions_completed);
            view.sessions_aborted = Some(status.sessions_aborted);
            view.dropped_unauthenticated = Some(status.dropped_unauthenticated);
            view.refused_replays = Some(status.refused_replays);
            view.dropped_malformed = Some(status.dropped_malformed);
            view.last_session = status.last_session.map(|s| SessionView {
                session: s.session,
                kind: s.kind,
                outcome: s.outcome,
                reason: s.reason,
                finished_at: s.finished_at,
            });
        }
        Ok(Ok(other)) => view.error = Some(format!("unexpected reply {other:?}")),
        Ok(Err(error)) => view.error = Some(error.to_string()),
        Err(_) => view.error = Some(format!("no answer within {} ms", PARTY_TIMEOUT.as_millis())),
    }
    view
}

/// The slash order and batch commitment signers, and for a threshold group
/// each party's state and last session (a party that does not answer is
/// `down`).
#[utoipa::path(
    get, path = "/v1/signer", tag = "operations",
    responses((status = 200, description = "The order and commitment signers and the parties", body = SignerView))
)]
pub(crate) async fn signer(State(state): State<AppState>) -> Json<SignerView> {
    Json(signer_status(&state).await)
}
