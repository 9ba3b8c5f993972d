//! Sign-In with Ethereum (EIP-4361).
//!
//! Parsing is strict on purpose: every field is checked against the
//! standard's grammar, and the message must be exactly the canonical text of
//! what was parsed (line feeds only, no trailing newline, fields in order).
//! A wallet shows the user this text; two texts that parse to the same
//! fields would let a message say one thing and mean another.

use std::{fmt, str::FromStr};

use alloy_primitives::{Address, B256, eip191_hash_message};
use chrono::{DateTime, FixedOffset};
use url::Url;

/// Longest message accepted, in bytes. Real sign-in messages are a few
/// hundred bytes; the cap bounds the work an anonymous request can cause.
pub const MAX_MESSAGE_BYTES: usize = 4096;

const HEADER_SUFFIX: &str = " wants you to sign in with your Ethereum account:";
const MIN_NONCE_CHARS: usize = 8;

/// Why a message is not a valid EIP-4361 message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SiweParseError {
    #[error("message is {len} bytes; the limit is {max}")]
    TooLarge { len: usize, max: usize },
    #[error("line {line}: {reason}")]
    Malformed { line: usize, reason: String },
}

fn malformed(line: usize, reason: impl Into<String>) -> SiweParseError {
    SiweParseError::Malformed { line: line + 1, reason: reason.into() }
}

/// A timestamp as written in the message (kept verbatim) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    text: String,
    value: DateTime<FixedOffset>,
}

impl Timestamp {
    pub fn parse(text: &str) -> Result<Self, String> {
        let value = DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("`{text}` is not an RFC 3339 date-time: {e}"))?;
        // RFC 3339 allows a space for `T` and lowercase letters; EIP-4361's
        // grammar (and every wallet) writes `T` and `Z`.
        if text.contains(' ') || text.contains('t') || text.contains('z') {
            return Err(format!("`{text}` must use `T` and `Z` as RFC 3339 writes them"));
        }
        Ok(Self { text: text.to_owned(), value })
    }

    pub fn from_unix(seconds: i64) -> Self {
        let value = DateTime::from_timestamp(seconds, 0).unwrap_or_default().fixed_offset();
        Self { text: value.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), value }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn unix(&self) -> i64 {
        self.value.timestamp()
    }
}

/// An EIP-4361 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiweMessage {
    pub scheme: Option<String>,
    /// RFC 3986 authority (host and optional port) asking for the sign-in.
    pub domain: String,
    pub address: Address,
    pub statement: Option<String>,
    pub uri: String,
    pub version: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at: Timestamp,
    pub expiration_time: Option<Timestamp>,
    pub not_before: Option<Timestamp>,
    pub request_id: Option<String>,
    pub resources: Vec<String>,
}

impl SiweMessage {
    /// The digest an externally owned account signs (`personal_sign`,
    /// EIP-191 version 0x45) and a contract wallet is asked about.
    pub fn eip191_hash(&self) -> B256 {
        eip191_hash_message(self.to_string())
    }

    /// Parses with the length cap applied first.
    pub fn parse(text: &str) -> Result<Self, SiweParseError> {
        text.parse()
    }
}

impl fmt::Display for SiweMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scheme) = &self.scheme {
            write!(f, "{scheme}://")?;
        }
        writeln!(f, "{}{HEADER_SUFFIX}", self.domain)?;
        writeln!(f, "{}", self.address.to_checksum(None))?;
        writeln!(f)?;
        if let Some(statement) = &self.statement {
            writeln!(f, "{statement}")?;
        }
        writeln!(f)?;
        writeln!(f, "URI: {}", self.uri)?;
        writeln!(f, "Version: {}", self.version)?;
        writeln!(f, "Chain ID: {}", self.chain_id)?;
        writeln!(f, "Nonce: {}", self.nonce)?;
        write!(f, "Issued At: {}", self.issued_at.as_str())?;
        if let Some(t) = &self.expiration_time {
            write!(f, "\nExpiration Time: {}", t.as_str())?;
        }
        if let Some(t) = &self.not_before {
            write!(f, "\nNot Before: {}", t.as_str())?;
        }
        if let Some(id) = &self.request_id {
            write!(f, "\nRequest ID: {id}")?;
        }
        if !self.resources.is_empty() {
            write!(f, "\nResources:")?;
            for resource in &self.resources {
                write!(f, "\n- {resource}")?;
            }
        }
        Ok(())
    }
}

impl FromStr for SiweMessage {
    type Err = SiweParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_MESSAGE_BYTES {
            return Err(SiweParseError::TooLarge { len: text.len(), max: MAX_MESSAGE_BYTES });
        }
        if let Some(position) = text.find(|c: char| c.is_control() && c != '\n') {
            let line = text[..position].matches('\n').count();
            return Err(malformed(
                line,
                "control characters (other than line feeds) are not allowed",
            ));
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let mut cursor = Lines { lines: &lines, next: 0 };

        let (n, header) = cursor.take("the header")?;
        let origin = header
            .strip_suffix(HEADER_SUFFIX)
            .ok_or_else(|| malformed(n, format!("expected `<domain>{HEADER_SUFFIX}`")))?;
        let (scheme, domain) = match origin.split_once("://") {
            Some((scheme, domain)) => (Some(scheme), domain),
            None => (None, origin),
        };
        if let Some(scheme) = scheme {
            check_scheme(scheme).map_err(|r| malformed(n, r))?;
        }
        check_authority(domain).map_err(|r| malformed(n, r))?;

        let (n, address_text) = cursor.take("the address")?;
        let address = Address::parse_checksummed(address_text, None).map_err(|_| {
            malformed(n, "the address must be 0x and 40 hex digits with its EIP-55 checksum")
        })?;

        cursor.blank()?;
        let (n, line) = cursor.take("the statement or a blank line")?;
        let statement = if line.is_empty() {
            None
        } else {
            check_statement(line).map_err(|r| malformed(n, r))?;
            cursor.blank()?;
            Some(line.to_owned())
        };

        let (n, uri) = cursor.field("URI")?;
        check_uri(uri).map_err(|r| malformed(n, r))?;
        let (n, version) = cursor.field("Version")?;
        if version != "1" {
            return Err(malformed(n, format!("version must be 1, not `{version}`")));
        }
        let (n, chain_text) = cursor.field("Chain ID")?;
        let chain_id = parse_decimal(chain_text).ok_or_else(|| {
            malformed(n, format!("chain id `{chain_text}` is not a decimal number"))
        })?;
        let (n, nonce) = cursor.field("Nonce")?;
        if nonce.len() < MIN_NONCE_CHARS || !nonce.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(malformed(
                n,
                format!("the nonce must be at least {MIN_NONCE_CHARS} letters or digits"),
            ));
        }
        let (n, issued) = cursor.field("Issued At")?;
        let issued_at = Timestamp::parse(issued).map_err(|r| malformed(n, r))?;

        let expiration_time = cursor
            .optional_field("Expiration Time")
            .map(|(n, t)| Timestamp::parse(t).map_err(|r| malformed(n, r)))
            .transpose()?;
        let not_before = cursor
            .optional_field("Not Before")
            .map(|(n, t)| Timestamp::parse(t).map_err(|r| malformed(n, r)))
            .transpose()?;
        let request_id = cursor
            .optional_field("Request ID")
            .map(|(n, id)| {
                if id.chars().any(char::is_whitespace) {
                    Err(malformed(n, "the request id must not contain spaces"))
                } else {
                    Ok(id.to_owned())
                }
            })
            .transpose()?;
        let mut resources = Vec::new();
        if cursor.peek() == Some("Resources:") {
            cursor.next += 1;
            while let Some(line) = cursor.peek() {
                let n = cursor.next;
                let resource = line
                    .strip_prefix("- ")
                    .ok_or_else(|| malformed(n, "a resource line must start with `- `"))?;
                check_uri(resource).map_err(|r| malformed(n, r))?;
                resources.push(resource.to_owned());
                cursor.next += 1;
            }
            if resources.is_empty() {
                return Err(malformed(cursor.next - 1, "`Resources:` must list at least one URI"));
            }
        }
        if let Some(extra) = cursor.peek() {
            return Err(malformed(cursor.next, format!("unexpected line `{}`", clip(extra))));
        }

        let message = Self {
            scheme: scheme.map(str::to_owned),
            domain: domain.to_owned(),
            address,
            statement,
            uri: uri.to_owned(),
            version: version.to_owned(),
            chain_id,
            nonce: nonce.to_owned(),
            issued_at,
            expiration_time,
            not_before,
            request_id,
            resources,
        };
        // Everything above reads fields in order and keeps them verbatim, so
        // this holds unless the grammar and the renderer disagree.
        if message.to_string() != text {
            return Err(malformed(0, "the message is not in canonical form"));
        }
        Ok(message)
    }
}

struct Lines<'a> {
    lines: &'a [&'a str],
    next: usize,
}

impl<'a> Lines<'a> {
    fn take(&mut self, what: &str) -> Result<(usize, &'a str), SiweParseError> {
        let line = *self
            .lines
            .get(self.next)
            .ok_or_else(|| malformed(self.next, format!("message ends where {what} should be")))?;
        self.next += 1;
        Ok((self.next - 1, line))
    }

    fn peek(&self) -> Option<&'a str> {
        self.lines.get(self.next).copied()
    }

    fn blank(&mut self) -> Result<(), SiweParseError> {
        let (n, line) = self.take("a blank line")?;
        if line.is_empty() { Ok(()) } else { Err(malformed(n, "expected a blank line")) }
    }

    fn field(&mut self, name: &str) -> Result<(usize, &'a str), SiweParseError> {
        let (n, line) = self.take(&format!("`{name}:`"))?;
        line.strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(": "))
            .map(|value| (n, value))
            .ok_or_else(|| malformed(n, format!("expected `{name}: …`, found `{}`", clip(line))))
    }

    fn optional_field(&mut self, name: &str) -> Option<(usize, &'a str)> {
        let value = self.peek()?.strip_prefix(name)?.strip_prefix(": ")?;
        self.next += 1;
        Some((self.next - 1, value))
    }
}

fn clip(line: &str) -> String {
    line.chars().take(40).collect()
}

fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn check_scheme(scheme: &str) -> Result<(), String> {
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if valid { Ok(()) } else { Err(format!("`{scheme}` is not a URI scheme")) }
}

/// RFC 3986 authority without userinfo: a host (name, IPv4 or bracketed
/// IPv6) and an optional port.
fn check_authority(domain: &str) -> Result<(), String> {
    let bad = || Err(format!("`{}` is not a domain (host and optional port)", clip(domain)));
    if domain.is_empty() || domain.contains('@') {
        return bad();
    }
    let parsed = match Url::parse(&format!("https://{domain}")) {
        Ok(url) => url,
        Err(_) => return bad(),
    };
    let host = parsed.host_str().unwrap_or_default();
    let rendered = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    // `Url` lowercases and normalises; a domain that changes under it was not
    // plain host[:port] (path, query, odd encodings) or used the default
    // port, which a wallet would not write either.
    if rendered != domain || parsed.path() != "/" { bad() } else { Ok(()) }
}

fn check_statement(statement: &str) -> Result<(), String> {
    // The grammar allows RFC 3986 reserved and unreserved characters and
    // spaces; wallets show the statement to users, so nothing else.
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || c == ' ' || "-._~:/?#[]@!$&'()*+,;=%".contains(c);
    match statement.chars().find(|&c| !allowed(c)) {
        Some(c) => Err(format!("the statement may not contain {c:?}")),
        None => Ok(()),
    }
}

fn check_uri(uri: &str) -> Result<(), String> {
    match Url::parse(uri) {
        Ok(_) if !uri.contains(char::is_whitespace) => Ok(()),
        _ => Err(format!("`{}` is not an absolute URI", clip(uri))),
    }
}

/// Why an externally owned account's signature does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EoaSignatureError {
    #[error("the signature is not 65 bytes of hex (r, s, v): {0}")]
    Encoding(String),
    #[error("the signature's v is {0}; expected 27 or 28 (or 0 or 1)")]
    BadV(u8),
    #[error("the signature's s is in the upper half of the curve order (a malleated signature)")]
    HighS,
    #[error("the signature was made by {recovered}, not by {expected}")]
    Mismatch { expected: Address, recovered: Address },
}

/// A signature as wallets send it: `0x`-prefixed hex.
pub fn decode_signature_hex(text: &str) -> Result<Vec<u8>, EoaSignatureError> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| EoaSignatureError::Encoding("missing 0x prefix".into()))?;
    alloy_primitives::hex::decode(digits).map_err(|e| EoaSignatureError::Encoding(e.to_string()))
}

/// Recovers the signer of `digest` and requires it to be `expected`.
pub fn verify_eoa(
    expected: Address,
    digest: &B256,
    signature: &[u8],
) -> Result<(), EoaSignatureError> {
    use cairn_core::signature::{SignatureError, recover_address};
    match recover_address(digest, signature) {
        Ok(recovered) if recovered == expected => Ok(()),
        Ok(recovered) => Err(EoaSignatureError::Mismatch { expected, recovered }),
        Err(SignatureError::Length(n)) => {
            Err(EoaSignatureError::Encoding(format!("{n} bytes, expected 65")))
        }
        Err(SignatureError::RecoveryId(v)) => Err(EoaSignatureError::BadV(v)),
        Err(SignatureError::HighS) => Err(EoaSignatureError::HighS),
        Err(SignatureError::Unrecoverable) => {
            Err(EoaSignatureError::Encoding("no public key recovers from it".into()))
        }
    }
}

/// ERC-6492's suffix on a signature for a wallet that may not be deployed.
pub const ERC6492_SUFFIX: [u8; 32] = [
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
    0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92, 0x64, 0x92,
];

/// Whether a signature is ERC-6492-wrapped (it must then be checked on chain).
pub fn is_erc6492(signature: &[u8]) -> bool {
    signature.len() >= 32 && signature[signature.len() - 32..] == ERC6492_SUFFIX
}
