//! The wire: one JSON object per line over TCP. A coordinator opens a
//! connection per party and keeps it for the session; protocol messages
//! between parties go one connection each, signed by the sender's identity.

use std::{net::SocketAddr, time::Duration};

use alloy_primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use cairn_signer::SigningRequest;

use crate::{ThresholdError, identity::Identity};

/// The largest line a party reads: keygen messages carry Paillier proofs of
/// some hundreds of kilobytes; anything far past that is refused unread.
pub(crate) const MAX_LINE: usize = 8 << 20;

// Externally tagged, as the request inside it must be (see `SigningRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    Sign { request: Box<SigningRequest> },
    Keygen { threshold: u16 },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frame {
    /// From a coordinator: join `session` with `participants` (keygen indices).
    Start { session: String, participants: Vec<u16>, work: SessionKind },
    /// A protocol message from another party.
    Msg(Envelope),
    /// Counters, for operators and tests.
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Joined,
    Refused { reason: String },
    Signed { signature: String },
    KeygenDone { public_key: String },
    Aborted { reason: String, party: Option<u16> },
    Status(PartyStatus),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyStatus {
    pub index: u16,
    /// Messages whose signature did not recover to the identity of the party they claim to be from.
    pub dropped_unauthenticated: u64,
    /// Messages seen before (same session, sender and sequence number) or for a finished session.
    pub refused_replays: u64,
    /// Frames that were not JSON of the wire format.
    pub dropped_malformed: u64,
    pub sessions_completed: u64,
    pub sessions_aborted: u64,
    /// The session this party finished last since it started; absent from
    /// parties older than this field.
    #[serde(default)]
    pub last_session: Option<SessionOutcome>,
}

/// How a party's session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOutcome {
    pub session: String,
    /// `sign` or `keygen`.
    pub kind: String,
    /// `completed` or `aborted`.
    pub outcome: String,
    /// Why it was aborted.
    pub reason: Option<String>,
    /// Unix seconds.
    pub finished_at: u64,
}

/// A protocol message, signed by its sender's identity key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub session: String,
    pub sender: u16,
    /// `None` for a broadcast.
    pub recipient: Option<u16>,
    pub seq: u64,
    /// The cggmp21 message as JSON text.
    pub payload: String,
    /// Recoverable secp256k1 signature over [`Envelope::digest`], hex.
    pub signature: String,
}

impl Envelope {
    pub(crate) fn digest(
        session: &str,
        sender: u16,
        recipient: Option<u16>,
        seq: u64,
        payload: &str,
    ) -> B256 {
        let mut bytes = Vec::with_capacity(payload.len() + session.len() + 32);
        bytes.extend_from_slice(b"cairn-threshold-msg-v1\0");
        bytes.extend_from_slice(&(session.len() as u64).to_be_bytes());
        bytes.extend_from_slice(session.as_bytes());
        bytes.extend_from_slice(&sender.to_be_bytes());
        match recipient {
            Some(r) => {
                bytes.push(1);
                bytes.extend_from_slice(&r.to_be_bytes());
            }
            None => bytes.push(0),
        }
        bytes.extend_from_slice(&seq.to_be_bytes());
        bytes.extend_from_slice(payload.as_bytes());
        keccak256(bytes)
    }

    /// Signs a message as party `sender`; `session` is `<session id>/<phase>`
    /// with phase `sign`, `aux` or `keygen`.
    pub fn signed(
        identity: &Identity,
        session: String,
        sender: u16,
        recipient: Option<u16>,
        seq: u64,
        payload: String,
    ) -> Self {
        let digest = Self::digest(&session, sender, recipient, seq, &payload);
        let signature = hex::encode(identity.sign(digest));
        Self { session, sender, recipient, seq, payload, signature }
    }

    /// The address the signature recovers to.
    pub(crate) fn signer(&self) -> Option<alloy_primitives::Address> {
        let digest =
            Self::digest(&self.session, self.sender, self.recipient, self.seq, &self.payload);
        let signature = hex::decode(&self.signature).ok()?;
        crate::identity::recover(digest, &signature)
    }
}

pub(crate) async fn write_line<T: Serialize>(
    stream: &mut (impl AsyncWriteExt + Unpin),
    value: &T,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line).await?;
    stream.flush().await
}

/// Reads one line; `Ok(None)` at end of stream.
pub(crate) async fn read_line<T: for<'de> Deserialize<'de>>(
    reader: &mut BufReader<impl tokio::io::AsyncRead + Unpin>,
) -> std::io::Result<Option<T>> {
    let mut line = Vec::new();
    let mut limited = (&mut *reader).take(MAX_LINE as u64);
    let n = tokio::io::AsyncBufReadExt::read_until(&mut limited, b'\n', &mut line).await?;
    if n == 0 {
        return Ok(None);
    }
    if !line.ends_with(b"\n") && line.len() >= MAX_LINE {
        return Err(std::io::Error::other("line too long"));
    }
    serde_json::from_slice(&line).map(Some).map_err(std::io::Error::other)
}

/// Sends one frame and closes: how parties pass protocol messages.
pub async fn send_frame(addr: SocketAddr, frame: &Frame) -> Result<(), ThresholdError> {
    let mut stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .map_err(|_| ThresholdError::Network(format!("connect to {addr} timed out")))?
        .map_err(|e| ThresholdError::Network(format!("connect to {addr}: {e}")))?;
    write_line(&mut stream, frame).await.map_err(|e| ThresholdError::Network(e.to_string()))?;
    let _ = stream.shutdown().await;
    Ok(())
}

/// Sends one frame and reads one reply (for `Status`).
pub async fn request_reply(addr: SocketAddr, frame: &Frame) -> Result<Reply, ThresholdError> {
    let stream = tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr))
        .await
        .map_err(|_| ThresholdError::Network(format!("connect to {addr} timed out")))?
        .map_err(|e| ThresholdError::Network(format!("connect to {addr}: {e}")))?;
    let (read, mut write) = stream.into_split();
    write_line(&mut write, frame).await.map_err(|e| ThresholdError::Network(e.to_string()))?;
    let mut reader = BufReader::new(read);
    read_line(&mut reader)
        .await
        .map_err(|e| ThresholdError::Network(e.to_string()))?
        .ok_or_else(|| ThresholdError::Network(format!("{addr} closed without a reply")))
}
