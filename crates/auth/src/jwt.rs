//! Session tokens: HS256 JWTs bound to a CAIP-10 account and a session id.
//!
//! Only the header this module writes is accepted, so `alg: none` and
//! algorithm-confusion tokens are refused before any key is used. Whether the
//! session is still open (logout revokes it) is the store's to say.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
/// Shortest secret accepted: HS256 is only as strong as its key.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClaims {
    pub iss: String,
    /// The CAIP-10 account signed in.
    pub sub: String,
    /// The session id, which logout revokes.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a JWT (three base64url parts)")]
    Malformed,
    #[error("the token's header is not the one this service issues")]
    UnsupportedHeader,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was issued by `{0}`, not by this service")]
    WrongIssuer(String),
    #[error("the token expired at {0}")]
    Expired(i64),
    #[error("the session secret must be at least {MIN_SECRET_BYTES} bytes")]
    WeakSecret,
}

/// The key sessions are signed with.
#[derive(Clone)]
pub struct JwtKey {
    secret: Vec<u8>,
    issuer: String,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKey").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl JwtKey {
    pub fn new(secret: &[u8], issuer: impl Into<String>) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::WeakSecret);
        }
        Ok(Self { secret: secret.to_vec(), issuer: issuer.into() })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length")
    }

    pub fn issue(&self, claims: &SessionClaims) -> String {
        let payload = serde_json::to_vec(claims).expect("claims always serialize");
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(HEADER_JSON), URL_SAFE_NO_PAD.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The claims of a token this key signed, unexpired at `now` (seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<SessionClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
        if header != HEADER_JSON.as_bytes() {
            return Err(TokenError::UnsupportedHeader);
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| TokenError::Malformed)?;
        let signing_input = &token[..token.rfind('.').ok_or(TokenError::Malformed)?];
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&tag).map_err(|_| TokenError::BadSignature)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Malformed)?;
        let claims: SessionClaims =
            serde_json::from_slice(&payload).map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer(claims.iss));
        }
        if claims.exp <= now {
            return Err(TokenError::Expired(claims.exp));
        }
        Ok(claims)
    }
}
