//! The coordinator: finds `t` reachable parties, starts a session with a
//! typed request, and returns the signature or why there is none.

use std::{net::SocketAddr, time::Duration};

use alloy_primitives::{Address, B256};
use cairn_signer::{RequestSigner, SignFuture, Signature, Signer, SignerError, SigningRequest};
use futures_util::{StreamExt, future::join_all, stream::FuturesUnordered};
use k256::ecdsa::{RecoveryId, VerifyingKey};
use tokio::{
    io::BufReader,
    net::{
        TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
};

use crate::{
    ThresholdError,
    config::GroupConfig,
    net::{Frame, Reply, SessionKind, read_line, write_line},
    share::GroupKey,
};

/// How long a party may take to check its policy and answer `Start`.
const JOIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the other parties of a signing session get to finish once one
/// has returned the signature.
const FINISH_GRACE: Duration = Duration::from_secs(1);

/// A t-of-n group of party processes behind one Ethereum address.
#[derive(Debug, Clone)]
pub struct ThresholdSigner {
    group: GroupConfig,
    key: GroupKey,
    public_key: [u8; 65],
}

struct Joined {
    index: u16,
    reader: BufReader<OwnedReadHalf>,
    // Held open for the session: closing it tells the party to give up.
    _writer: OwnedWriteHalf,
}

impl ThresholdSigner {
    pub fn new(group: GroupConfig, key: GroupKey) -> Result<Self, ThresholdError> {
        group.validate()?;
        if key.threshold != group.threshold || usize::from(key.parties) != group.parties.len() {
            return Err(ThresholdError::Config(format!(
                "the group key is {}-of-{}, the group config {}-of-{}",
                key.threshold,
                key.parties,
                group.threshold,
                group.parties.len()
            )));
        }
        let public_key = key.public_key_bytes()?;
        if cairn_signer::address_of(&public_key) != key.address {
            return Err(ThresholdError::Config(
                "the group key's address does not match its public key".into(),
            ));
        }
        Ok(Self { group, key, public_key })
    }

    pub fn group_key(&self) -> &GroupKey {
        &self.key
    }

    /// Asks `t` parties to sign `request`; each rebuilds the digest and checks its policy.
    pub async fn sign_request(
        &self,
        request: &SigningRequest,
    ) -> Result<Signature, ThresholdError> {
        let digest = request.digest();
        let work = SessionKind::Sign { request: Box::new(request.clone()) };
        let threshold = usize::from(self.group.threshold);
        let timeout = self.group.session_timeout() + Duration::from_secs(2);
        let replies = run_session(&self.group, work, threshold, timeout, true).await?;
        for (index, reply) in replies {
            if let Reply::Signed { signature } = reply {
                let bytes = hex::decode(signature.trim_start_matches("0x")).unwrap_or_default();
                if bytes.len() == 65 {
                    let sig =
                        ethereum_signature(&bytes[..32], &bytes[32..64], digest, &self.public_key);
                    if let Some(sig) = sig.filter(|s| s.v == bytes[64]) {
                        return Ok(sig);
                    }
                }
                return Err(ThresholdError::Aborted {
                    party: Some(index),
                    reason: "returned a signature that does not verify under the group key".into(),
                });
            }
        }
        Err(ThresholdError::Aborted { party: None, reason: "no party returned a signature".into() })
    }
}

impl Signer for ThresholdSigner {
    fn public_key(&self) -> [u8; 65] {
        self.public_key
    }

    /// Refused: parties sign typed requests only ([`RequestSigner`]).
    fn sign_digest(&self, digest: B256) -> SignFuture<'_> {
        Box::pin(async move {
            Err(SignerError::Refused(format!(
                "threshold parties do not sign an opaque digest ({digest}); send a typed request"
            )))
        })
    }
}

impl RequestSigner for ThresholdSigner {
    fn address(&self) -> Address {
        self.key.address
    }

    fn sign_request<'a>(&'a self, request: &'a SigningRequest) -> SignFuture<'a> {
        Box::pin(
            async move { ThresholdSigner::sign_request(self, request).await.map_err(Into::into) },
        )
    }
}

/// The group key every party agreed on at keygen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeygenOutcome {
    pub group_key: GroupKey,
}

/// Runs distributed key generation across every party of `group`: each
/// party makes its own secret and writes its own share; nobody sees the key.
pub async fn keygen(group: &GroupConfig) -> Result<KeygenOutcome, ThresholdError> {
    group.validate()?;
    let n = group.parties.len();
    let work = SessionKind::Keygen { threshold: group.threshold };
    let timeout = group.keygen_timeout() + Duration::from_secs(5);
    let replies = run_session(group, work, n, timeout, false).await?;
    let mut keys = replies.into_iter().map(|(index, reply)| match reply {
        Reply::KeygenDone { public_key } => Ok(public_key),
        other => Err(ThresholdError::Aborted {
            party: Some(index),
            reason: format!("unexpected reply {other:?}"),
        }),
    });
    let first = keys.next().ok_or_else(|| ThresholdError::Unavailable("no party".into()))??;
    for key in keys {
        if key? != first {
            return Err(ThresholdError::Aborted {
                party: None,
                reason: "the parties disagree on the group public key".into(),
            });
        }
    }
    let bytes: [u8; 65] = hex::decode(first.trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ThresholdError::Aborted {
            party: None,
            reason: "malformed group key".into(),
        })?;
    Ok(KeygenOutcome {
        group_key: GroupKey {
            public_key: first,
            address: cairn_signer::address_of(&bytes),
            threshold: group.threshold,
            parties: n as u16,
        },
    })
}

async fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("connect timed out".into()),
    }
}

/// Starts a session on `want` parties and collects their final replies.
/// With `first_wins`, the first successful reply ends it. A party that
/// took the connection but failed before joining (it was dying, or its
/// socket outlived its process) is left out and the session started again
/// with the others, while enough remain.
async fn run_session(
    group: &GroupConfig,
    work: SessionKind,
    want: usize,
    timeout: Duration,
    first_wins: bool,
) -> Result<Vec<(u16, Reply)>, ThresholdError> {
    let mut excluded = Vec::new();
    // Why the parties left out did not join: part of the answer if the
    // session cannot start without them.
    let mut left_out: Vec<String> = Vec::new();
    loop {
        match run_session_once(group, work.clone(), want, timeout, first_wins, &excluded).await {
            Err(SessionFailure::NotJoined { error, parties }) => {
                excluded.extend(parties);
                if group.parties.len() - excluded.len() < want {
                    return Err(error);
                }
                left_out.push(error.to_string());
                tracing::debug!(?excluded, "parties failed to join; starting again without them");
            }
            Err(SessionFailure::Other(ThresholdError::Unavailable(reason)))
                if !left_out.is_empty() =>
            {
                return Err(ThresholdError::Unavailable(format!(
                    "{} (left out before: {})",
                    reason,
                    left_out.join("; ")
                )));
            }
            Err(SessionFailure::Other(error)) => return Err(error),
            Ok(replies) => return Ok(replies),
        }
    }
}

enum SessionFailure {
    /// These parties were reachable but did not join (not a refusal).
    NotJoined {
        error: ThresholdError,
        parties: Vec<u16>,
    },
    Other(ThresholdError),
}

impl From<ThresholdError> for SessionFailure {
    fn from(error: ThresholdError) -> Self {
        Self::Other(error)
    }
}

async fn run_session_once(
    group: &GroupConfig,
    work: SessionKind,
    want: usize,
    timeout: Duration,
    first_wins: bool,
    excluded: &[u16],
) -> Result<Vec<(u16, Reply)>, SessionFailure> {
    let attempts = join_all(
        group.parties.iter().filter(|party| !excluded.contains(&party.index)).map(|party| async move {
            (party.index, connect(party.addr, group.connect_timeout()).await)
        }),
    )
    .await;
    let mut reachable = Vec::new();
    let mut unreachable = Vec::new();
    for (index, attempt) in attempts {
        match attempt {
            Ok(stream) => reachable.push((index, stream)),
            Err(e) => unreachable.push(format!("party {index}: {e}")),
        }
    }
    if reachable.len() < want {
        return Err(SessionFailure::Other(ThresholdError::Unavailable(format!(
            "{} of {} parties reachable, {want} needed ({})",
            reachable.len(),
            group.parties.len(),
            unreachable.join("; ")
        ))));
    }
    reachable.truncate(want);
    let participants: Vec<u16> = reachable.iter().map(|(i, _)| *i).collect();
    let session = hex::encode(rand_session());
    let start = Frame::Start { session: session.clone(), participants, work };
    let joins = join_all(reachable.into_iter().map(|(index, stream)| {
        let start = &start;
        async move {
            let (read, mut writer) = stream.into_split();
            let mut reader = BufReader::new(read);
            write_line(&mut writer, start)
                .await
                .map_err(|e| (index, ThresholdError::Unavailable(format!("party {index}: {e}"))))?;
            match tokio::time::timeout(JOIN_TIMEOUT, read_line::<Reply>(&mut reader)).await {
                Ok(Ok(Some(Reply::Joined))) => Ok(Joined { index, reader, _writer: writer }),
                Ok(Ok(Some(Reply::Refused { reason }))) => {
                    Err((index, ThresholdError::Refused { party: index, reason }))
                }
                Ok(Ok(other)) => Err((
                    index,
                    ThresholdError::Unavailable(format!("party {index} did not join: {other:?}")),
                )),
                Ok(Err(e)) => {
                    Err((index, ThresholdError::Unavailable(format!("party {index}: {e}"))))
                }
                Err(_) => Err((
                    index,
                    ThresholdError::Unavailable(format!("party {index} did not answer")),
                )),
            }
        }
    }))
    .await;
    let mut joined = Vec::new();
    let mut refused = None;
    let mut unavailable = None;
    let mut not_joined = Vec::new();
    for join in joins {
        match join {
            Ok(j) => joined.push(j),
            Err((_, e @ ThresholdError::Refused { .. })) => refused = refused.or(Some(e)),
            Err((index, e)) => {
                not_joined.push(index);
                unavailable = unavailable.or(Some(e));
            }
        }
    }
    // A refusal is the answer even when another party is also missing:
    // retrying will not change a party's mind.
    if let Some(e) = refused {
        return Err(SessionFailure::Other(e));
    }
    if let Some(error) = unavailable {
        return Err(SessionFailure::NotJoined { error, parties: not_joined });
    }
    tracing::debug!(%session, "session started");
    let mut pending: FuturesUnordered<_> = joined
        .into_iter()
        .map(|mut j| async move {
            let reply = tokio::time::timeout(timeout, read_line::<Reply>(&mut j.reader)).await;
            (j.index, reply, j)
        })
        .collect();
    let mut done = Vec::new();
    while let Some((index, reply, joined)) = pending.next().await {
        match reply {
            Ok(Ok(Some(Reply::Aborted { reason, party }))) => {
                return Err(SessionFailure::Other(ThresholdError::Aborted {
                    party,
                    reason: format!("party {index} reports: {reason}"),
                }));
            }
            Ok(Ok(Some(reply))) => {
                done.push((index, reply));
                if first_wins {
                    drop(joined);
                    // The others finish the same last round about now; closing
                    // their connections at once would make them record a
                    // session that succeeded as aborted.
                    let _ = tokio::time::timeout(FINISH_GRACE, async {
                        while pending.next().await.is_some() {}
                    })
                    .await;
                    break;
                }
            }
            Ok(Ok(None)) | Ok(Err(_)) => {
                return Err(SessionFailure::Other(ThresholdError::Aborted {
                    party: Some(index),
                    reason: format!("party {index} stopped mid-session"),
                }));
            }
            Err(_) => {
                return Err(SessionFailure::Other(ThresholdError::Aborted {
                    party: None,
                    reason: format!(
                        "party {index} gave no result within {} ms",
                        timeout.as_millis()
                    ),
                }));
            }
        }
        drop(joined);
    }
    Ok(done)
}

fn rand_session() -> [u8; 16] {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Turns a cggmp21 `(r, s)` into Ethereum's `r ‖ s ‖ v`: low `s` and the
/// recovery id that yields the group key. `None` when it does not verify.
pub(crate) fn ethereum_signature(
    r: &[u8],
    s: &[u8],
    digest: B256,
    public_key: &[u8; 65],
) -> Option<Signature> {
    let r: [u8; 32] = r.try_into().ok()?;
    let s: [u8; 32] = s.try_into().ok()?;
    let sig = k256::ecdsa::Signature::from_scalars(r, s).ok()?;
    let sig = sig.normalize_s().unwrap_or(sig);
    for id in 0..2u8 {
        let recovery = RecoveryId::from_byte(id)?;
        if let Ok(key) = VerifyingKey::recover_from_prehash(digest.as_slice(), &sig, recovery)
            && key.to_encoded_point(false).as_bytes() == public_key.as_slice()
        {
            let (r, s) = sig.split_bytes();
            return Some(Signature {
                r: B256::from_slice(&r),
                s: B256::from_slice(&s),
                v: 27 + id,
            });
        }
    }
    None
}
