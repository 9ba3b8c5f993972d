//! One party: holds a key share, listens on loopback, checks each request
//! against its own policy, and runs cggmp21 with the other parties.

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use alloy_primitives::{B256, keccak256};
use cggmp21::{
    DataToSign, ExecutionId, KeyShare,
    generic_ec::Scalar,
    key_share::AnyKeyShare,
    round_based::{Incoming, MessageDestination, MessageType, MpcParty, Outgoing},
    supported_curves::Secp256k1,
};
use futures_channel::mpsc;
use futures_util::StreamExt;
use serde::{Serialize, de::DeserializeOwned};
use tokio::{
    io::BufReader,
    net::{TcpListener, TcpStream},
    task::JoinSet,
};

use crate::{
    ThresholdError,
    config::PartyConfig,
    identity::{Identity, read_identity},
    net::{
        Envelope, Frame, PartyStatus, Reply, SessionKind, SessionOutcome, read_line, send_frame,
        write_line,
    },
    policy::{PolicyRecord, check_request},
    share::{GroupKey, Primes, Share, read_primes, read_share_inner, write_share},
};

/// Limits on what an unauthenticated-until-started session may hold: messages
/// may arrive before the coordinator's `Start`, but not without bound.
const MAX_PENDING_SESSIONS: usize = 64;
const MAX_BUFFERED: usize = 256;

#[derive(Default)]
struct Slot {
    participants: Option<Vec<u16>>,
    tx: Option<mpsc::UnboundedSender<Incoming<String>>>,
    buffered: Vec<Envelope>,
    seen: HashSet<(u16, u64)>,
    next_id: u64,
}

struct Inner {
    config: PartyConfig,
    identity: Identity,
    share: Mutex<Option<Share>>,
    primes: Mutex<Option<Primes>>,
    record: Mutex<PolicyRecord>,
    sessions: Mutex<HashMap<String, Slot>>,
    finished: Mutex<HashSet<String>>,
    status: Mutex<PartyStatus>,
}

/// A party ready to serve. Build it from its config ([`Party::open`]) or from parts.
#[derive(Clone)]
pub struct Party {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Party {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Party").field("index", &self.inner.config.index).finish()
    }
}

/// A party serving in this process (tests, benchmarks); dropping it does not stop it, [`RunningParty::stop`] does.
#[derive(Debug)]
pub struct RunningParty {
    pub addr: SocketAddr,
    pub party: Party,
    task: tokio::task::JoinHandle<()>,
}

impl RunningParty {
    /// Stops listening and abandons every session, as a killed process would.
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Party {
    /// Reads the identity key, the share (if keygen ran), the primes (if
    /// given) and the record named by `config`.
    pub fn open(config: PartyConfig) -> Result<Self, ThresholdError> {
        let identity = read_identity(&config.identity_key_file)?;
        let primes = config.primes_file.as_deref().map(read_primes).transpose()?;
        Self::from_parts(config, identity, primes)
    }

    pub fn from_parts(
        config: PartyConfig,
        identity: Identity,
        primes: Option<Primes>,
    ) -> Result<Self, ThresholdError> {
        let entry = config.group.party(config.index).ok_or_else(|| {
            ThresholdError::Config(format!("index {} not in group", config.index))
        })?;
        if entry.identity != identity.address() {
            return Err(ThresholdError::Config(format!(
                "the identity key is {}, but the group lists {} for party {}",
                identity.address(),
                entry.identity,
                config.index
            )));
        }
        let share = if config.share_file.exists() {
            let share = read_share_inner(&config.share_file)?;
            if usize::from(share.n()) != config.group.parties.len()
                || share.min_signers() != config.group.threshold
                || share.i != config.index
            {
                return Err(ThresholdError::Config(format!(
                    "{} is a share of another group (index {}, {}-of-{})",
                    config.share_file.display(),
                    share.i,
                    share.min_signers(),
                    share.n()
                )));
            }
            Some(share)
        } else {
            None
        };
        let record = PolicyRecord::open(&config.record_file)?;
        let status = PartyStatus { index: config.index, ..PartyStatus::default() };
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                identity,
                share: Mutex::new(share),
                primes: Mutex::new(primes),
                record: Mutex::new(record),
                sessions: Mutex::new(HashMap::new()),
                finished: Mutex::new(HashSet::new()),
                status: Mutex::new(status),
            }),
        })
    }

    pub fn index(&self) -> u16 {
        self.inner.config.index
    }

    pub fn status(&self) -> PartyStatus {
        self.inner.status.lock().expect("status lock").clone()
    }

    /// The group key, once this party holds a share.
    pub fn group_key(&self) -> Option<GroupKey> {
        self.inner.share.lock().expect("share lock").as_ref().map(GroupKey::of)
    }

    /// Serves connections until the listener fails. Sessions run on tasks
    /// owned by this future: dropping it ends them all.
    pub async fn serve(self, listener: TcpListener) {
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let inner = self.inner.clone();
                        tasks.spawn(async move { handle(inner, stream).await });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
    }

    /// Serves `listener` on a task of the current runtime.
    pub fn spawn_on(self, listener: TcpListener) -> Result<RunningParty, ThresholdError> {
        let addr = listener.local_addr().map_err(|e| ThresholdError::Network(e.to_string()))?;
        let task = tokio::spawn(self.clone().serve(listener));
        Ok(RunningParty { addr, party: self, task })
    }

    /// Binds `addr` and serves on a task of the current runtime.
    pub async fn spawn(self, addr: SocketAddr) -> Result<RunningParty, ThresholdError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| ThresholdError::Network(format!("bind {addr}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| ThresholdError::Network(e.to_string()))?;
        let task = tokio::spawn(self.clone().serve(listener));
        Ok(RunningParty { addr, party: self, task })
    }
}

async fn handle(inner: Arc<Inner>, stream: TcpStream) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let frame: Frame = match read_line(&mut reader).await {
        Ok(Some(frame)) => frame,
        Ok(None) => return,
        Err(e) => {
            tracing::debug!(error = %e, "malformed frame dropped");
            inner.status.lock().expect("status lock").dropped_malformed += 1;
            return;
        }
    };
    match frame {
        Frame::Msg(envelope) => on_envelope(&inner, envelope),
        Frame::Status => {
            let status = inner.status.lock().expect("status lock").clone();
            let _ = write_line(&mut write, &Reply::Status(status)).await;
        }
        Frame::Start { session, participants, work } => {
            let reply = match prepare(&inner, &session, &participants, &work) {
                Err(reason) => {
                    tracing::info!(%session, %reason, "refused");
                    Reply::Refused { reason }
                }
                Ok(()) => {
                    if write_line(&mut write, &Reply::Joined).await.is_err() {
                        finish(&inner, &session);
                        return;
                    }
                    let kind = match work {
                        SessionKind::Sign { .. } => "sign",
                        SessionKind::Keygen { .. } => "keygen",
                    };
                    let timeout = match work {
                        SessionKind::Sign { .. } => inner.config.group.session_timeout(),
                        SessionKind::Keygen { .. } => inner.config.group.keygen_timeout(),
                    };
                    let run = run_session(inner.clone(), session.clone(), participants, work);
                    // The coordinator's connection stays open for the session:
                    // when it closes, nobody waits for the result any more.
                    let closed = async {
                        let _ = read_line::<serde_json::Value>(&mut reader).await;
                    };
                    let reply = tokio::select! {
                        result = tokio::time::timeout(timeout, run) => match result {
                            Ok(Ok(reply)) => reply,
                            Ok(Err((party, reason))) => Reply::Aborted { reason, party },
                            Err(_) => Reply::Aborted {
                                reason: format!("no result within {} ms", timeout.as_millis()),
                                party: None,
                            },
                        },
                        () = closed => Reply::Aborted { reason: "the coordinator left".into(), party: None },
                    };
                    finish(&inner, &session);
                    {
                        let mut status = inner.status.lock().expect("status lock");
                        let aborted = match &reply {
                            Reply::Aborted { reason, party } => {
                                tracing::warn!(%session, %reason, ?party, "session aborted");
                                status.sessions_aborted += 1;
                                Some(reason.clone())
                            }
                            _ => {
                                status.sessions_completed += 1;
                                None
                            }
                        };
                        status.last_session = Some(SessionOutcome {
                            session: session.clone(),
                            kind: kind.to_owned(),
                            outcome: if aborted.is_some() { "aborted" } else { "completed" }
                                .to_owned(),
                            reason: aborted,
                            finished_at: std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_secs()),
                        });
                    }
                    reply
                }
            };
            let _ = write_line(&mut write, &reply).await;
        }
    }
}

fn slot_keys(session: &str, work: &SessionKind) -> Vec<String> {
    match work {
        SessionKind::Sign { .. } => vec![format!("{session}/sign")],
        SessionKind::Keygen { .. } => vec![format!("{session}/aux"), format!("{session}/keygen")],
    }
}

fn finish(inner: &Inner, session: &str) {
    let prefix = format!("{session}/");
    let mut sessions = inner.sessions.lock().expect("sessions lock");
    let mut finished = inner.finished.lock().expect("finished lock");
    let keys: Vec<String> = sessions.keys().filter(|k| k.starts_with(&prefix)).cloned().collect();
    for key in keys {
        sessions.remove(&key);
        finished.insert(key);
    }
    for phase in ["sign", "aux", "keygen"] {
        finished.insert(format!("{prefix}{phase}"));
    }
}

/// Checks the session's shape and the party's policy; on success the
/// session's slots are open for messages.
fn prepare(
    inner: &Inner,
    session: &str,
    participants: &[u16],
    work: &SessionKind,
) -> Result<(), String> {
    let me = inner.config.index;
    let group = &inner.config.group;
    if session.is_empty() || session.len() > 128 || session.contains('/') {
        return Err("malformed session id".into());
    }
    if participants.windows(2).any(|w| w[0] >= w[1])
        || participants.iter().any(|p| group.party(*p).is_none())
        || !participants.contains(&me)
    {
        return Err(format!(
            "participants {participants:?} must be distinct, sorted, in the group and include party {me}"
        ));
    }
    let keys = slot_keys(session, work);
    {
        let finished = inner.finished.lock().expect("finished lock");
        if keys.iter().any(|k| finished.contains(k)) {
            return Err(format!("session {session} already ran"));
        }
    }
    match work {
        SessionKind::Sign { request } => {
            if participants.len() != usize::from(group.threshold) {
                return Err(format!(
                    "a signing session needs exactly {} participants",
                    group.threshold
                ));
            }
            let group_address = match inner.share.lock().expect("share lock").as_ref() {
                Some(share) => GroupKey::of(share).address,
                None => return Err("this party holds no key share yet (run keygen)".into()),
            };
            let mut record = inner.record.lock().expect("record lock");
            check_request(request, &inner.config.policy, &mut record, group_address, crate::now())?;
        }
        SessionKind::Keygen { threshold } => {
            if *threshold != group.threshold || participants.len() != group.parties.len() {
                return Err(format!(
                    "keygen must be {}-of-{} with every party, as the group config says",
                    group.threshold,
                    group.parties.len()
                ));
            }
            if inner.share.lock().expect("share lock").is_some() || inner.config.share_file.exists()
            {
                return Err(format!(
                    "a key share already exists at {}; keygen never overwrites one",
                    inner.config.share_file.display()
                ));
            }
        }
    }
    let mut sessions = inner.sessions.lock().expect("sessions lock");
    for key in keys {
        let slot = sessions.entry(key).or_default();
        slot.participants = Some(participants.to_vec());
    }
    Ok(())
}

fn on_envelope(inner: &Inner, envelope: Envelope) {
    let authentic = inner
        .config
        .group
        .party(envelope.sender)
        .is_some_and(|entry| envelope.signer() == Some(entry.identity));
    if !authentic || envelope.recipient.is_some_and(|r| r != inner.config.index) {
        tracing::warn!(sender = envelope.sender, session = %envelope.session, "unauthenticated message dropped");
        inner.status.lock().expect("status lock").dropped_unauthenticated += 1;
        return;
    }
    let replay = || inner.status.lock().expect("status lock").refused_replays += 1;
    if inner.finished.lock().expect("finished lock").contains(&envelope.session) {
        tracing::warn!(sender = envelope.sender, session = %envelope.session, "message for a finished session refused");
        replay();
        return;
    }
    let mut sessions = inner.sessions.lock().expect("sessions lock");
    if !sessions.contains_key(&envelope.session) && sessions.len() >= MAX_PENDING_SESSIONS {
        tracing::warn!(session = %envelope.session, "too many pending sessions; message dropped");
        return;
    }
    let slot = sessions.entry(envelope.session.clone()).or_default();
    if !slot.seen.insert((envelope.sender, envelope.seq)) {
        tracing::warn!(sender = envelope.sender, seq = envelope.seq, "replayed message refused");
        drop(sessions);
        replay();
        return;
    }
    if slot.tx.is_some() {
        deliver(slot, envelope);
    } else if slot.buffered.len() < MAX_BUFFERED {
        slot.buffered.push(envelope);
    }
}

fn deliver(slot: &mut Slot, envelope: Envelope) {
    let (Some(participants), Some(tx)) = (&slot.participants, &slot.tx) else { return };
    let Some(sender) = participants.iter().position(|p| *p == envelope.sender) else {
        tracing::warn!(
            sender = envelope.sender,
            "message from a party outside the session dropped"
        );
        return;
    };
    let id = slot.next_id;
    slot.next_id += 1;
    let _ = tx.unbounded_send(Incoming {
        id,
        sender: sender as u16,
        msg_type: if envelope.recipient.is_some() {
            MessageType::P2P
        } else {
            MessageType::Broadcast
        },
        msg: envelope.payload,
    });
}

#[derive(Debug, thiserror::Error)]
#[error("party {party} sent a message that does not parse: {reason}")]
struct Garbage {
    party: u16,
    reason: String,
}

#[derive(Debug, thiserror::Error)]
#[error("outgoing channel closed")]
struct Closed;

type Blame = Arc<Mutex<Option<u16>>>;

/// Connects a protocol to the slot `key`: incoming messages parsed as `M`
/// (a message that does not parse ends the protocol, naming its sender),
/// outgoing ones signed and sent to each recipient.
#[allow(clippy::type_complexity)]
fn delivery<M>(
    inner: &Arc<Inner>,
    key: &str,
    participants: &[u16],
    blame: &Blame,
) -> (
    impl futures_util::Stream<Item = Result<Incoming<M>, Garbage>> + Unpin + Send + use<M>,
    impl futures_util::Sink<Outgoing<M>, Error = Closed> + Unpin + Send + use<M>,
    tokio::task::JoinHandle<()>,
)
where
    M: Serialize + DeserializeOwned + Send + 'static,
{
    let (in_tx, in_rx) = mpsc::unbounded::<Incoming<String>>();
    {
        let mut sessions = inner.sessions.lock().expect("sessions lock");
        let slot = sessions.entry(key.to_owned()).or_default();
        slot.tx = Some(in_tx);
        for envelope in std::mem::take(&mut slot.buffered) {
            deliver(slot, envelope);
        }
    }
    let keygen_ids = participants.to_vec();
    let blame = blame.clone();
    let incoming = in_rx.map(move |incoming: Incoming<String>| {
        let party = keygen_ids[usize::from(incoming.sender)];
        incoming.try_map(|text| serde_json::from_str::<M>(&text)).map_err(|e| {
            *blame.lock().expect("blame lock") = Some(party);
            Garbage { party, reason: e.to_string() }
        })
    });
    let (out_tx, mut out_rx) = mpsc::unbounded::<Outgoing<M>>();
    let inner = inner.clone();
    let key = key.to_owned();
    let participants = participants.to_vec();
    let pump = tokio::spawn(async move {
        let me = inner.config.index;
        let mut seq = 0u64;
        while let Some(outgoing) = out_rx.next().await {
            let payload = match serde_json::to_string(&outgoing.msg) {
                Ok(payload) => payload,
                Err(e) => {
                    tracing::error!(error = %e, "cannot serialise a protocol message");
                    continue;
                }
            };
            let recipients: Vec<u16> = match outgoing.recipient {
                MessageDestination::AllParties => {
                    participants.iter().copied().filter(|p| *p != me).collect()
                }
                MessageDestination::OneParty(j) => {
                    participants.get(usize::from(j)).copied().into_iter().collect()
                }
            };
            let broadcast = outgoing.recipient.is_broadcast();
            for to in recipients {
                let Some(entry) = inner.config.group.party(to) else { continue };
                let envelope = Envelope::signed(
                    &inner.identity,
                    key.clone(),
                    me,
                    (!broadcast).then_some(to),
                    seq,
                    payload.clone(),
                );
                seq += 1;
                if let Err(e) = send_frame(entry.addr, &Frame::Msg(envelope)).await {
                    tracing::warn!(to, error = %e, "cannot deliver a protocol message");
                }
            }
        }
    });
    let outgoing = out_tx.sink_map_err(|_| Closed);
    (incoming, outgoing, pump)
}

use futures_util::SinkExt as _;

/// The execution id binds the session id, its participants and the work,
/// so no message of one session is valid in another.
fn execution_id(session: &str, participants: &[u16], work: &SessionKind, phase: &str) -> B256 {
    let mut bytes = b"cairn-threshold-eid-v1\0".to_vec();
    bytes.extend_from_slice(session.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(phase.as_bytes());
    bytes.push(0);
    for p in participants {
        bytes.extend_from_slice(&p.to_be_bytes());
    }
    bytes.extend_from_slice(&serde_json::to_vec(work).unwrap_or_default());
    keccak256(bytes)
}

type SessionError = (Option<u16>, String);

async fn run_session(
    inner: Arc<Inner>,
    session: String,
    participants: Vec<u16>,
    work: SessionKind,
) -> Result<Reply, SessionError> {
    let me = inner.config.index;
    let position = participants.iter().position(|p| *p == me).expect("checked in prepare") as u16;
    let blame: Blame = Arc::new(Mutex::new(None));
    let fail = |e: &dyn std::error::Error| {
        let mut reason = e.to_string();
        let mut source = e.source();
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        (*blame.lock().expect("blame lock"), reason)
    };
    match &work {
        SessionKind::Sign { request } => {
            let share =
                inner.share.lock().expect("share lock").clone().ok_or((None, "no share".into()))?;
            let digest = request.digest();
            let eid_bytes = execution_id(&session, &participants, &work, "sign");
            let eid = ExecutionId::new(eid_bytes.as_slice());
            let (incoming, outgoing, pump) =
                delivery::<cggmp21::signing::msg::Msg<Secp256k1, sha2::Sha256>>(
                    &inner,
                    &format!("{session}/sign"),
                    &participants,
                    &blame,
                );
            let party = MpcParty::connected((incoming, outgoing));
            let data =
                DataToSign::from_scalar(Scalar::<Secp256k1>::from_be_bytes_mod_order(digest));
            let result = cggmp21::signing(eid, position, &participants, &share)
                .sign(&mut rand_core::OsRng, party, data)
                .await;
            // Let the last messages leave before the session is dropped.
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), pump).await;
            let signature = result.map_err(|e| fail(&e))?;
            let public_key =
                GroupKey::of(&share).public_key_bytes().map_err(|e| (None, e.to_string()))?;
            let eth = crate::coordinator::ethereum_signature(
                signature.r.to_be_bytes().as_bytes(),
                signature.s.to_be_bytes().as_bytes(),
                digest,
                &public_key,
            )
            .ok_or((None, "the signature does not verify under the group key".to_string()))?;
            Ok(Reply::Signed { signature: format!("0x{}", hex::encode(eth.to_bytes())) })
        }
        SessionKind::Keygen { threshold } => {
            let n = participants.len() as u16;
            let stored = inner.primes.lock().expect("primes lock").take();
            let primes = match stored {
                Some(primes) => primes,
                None => tokio::task::spawn_blocking(crate::share::generate_primes)
                    .await
                    .map_err(|e| (None, e.to_string()))?,
            };
            let aux_eid_bytes = execution_id(&session, &participants, &work, "aux");
            let (incoming, outgoing, pump) =
                delivery::<
                    cggmp21::key_refresh::msg::aux_only::Msg<
                        sha2::Sha256,
                        cggmp21::security_level::SecurityLevel128,
                    >,
                >(&inner, &format!("{session}/aux"), &participants, &blame);
            let aux = cggmp21::aux_info_gen(
                ExecutionId::new(aux_eid_bytes.as_slice()),
                position,
                n,
                primes,
            )
            .start(&mut rand_core::OsRng, MpcParty::connected((incoming, outgoing)))
            .await
            .map_err(|e| fail(&e))?;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), pump).await;
            let kg_eid_bytes = execution_id(&session, &participants, &work, "keygen");
            let (incoming, outgoing, pump) =
                delivery::<
                    cggmp21::keygen::ThresholdMsg<
                        Secp256k1,
                        cggmp21::security_level::SecurityLevel128,
                        sha2::Sha256,
                    >,
                >(&inner, &format!("{session}/keygen"), &participants, &blame);
            let incomplete = cggmp21::keygen::<Secp256k1>(
                ExecutionId::new(kg_eid_bytes.as_slice()),
                position,
                n,
            )
            .set_threshold(*threshold)
            .start(&mut rand_core::OsRng, MpcParty::connected((incoming, outgoing)))
            .await
            .map_err(|e| fail(&e))?;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), pump).await;
            let share = KeyShare::from_parts((incomplete, aux)).map_err(|e| fail(&e))?;
            write_share(&inner.config.share_file, &share).map_err(|e| (None, e.to_string()))?;
            let key = GroupKey::of(&share);
            *inner.share.lock().expect("share lock") = Some(share);
            Ok(Reply::KeygenDone { public_key: key.public_key })
        }
    }
}
