//! Wallet sign-in: nonces, SIWE, SIWS, sessions.
//!
//! Every check that can fail runs before the nonce is consumed, and the
//! nonce is consumed in the same transaction that opens the session, so a
//! refused attempt never burns a nonce and two attempts with one nonce never
//! both succeed.

use alloy::primitives::B256;
use axum::{Json, extract::State, http::StatusCode};
use base64::{Engine, engine::general_purpose::STANDARD};
use cairn_auth::{
    SessionClaims, SignInInput, SignInOutput, SiweMessage, SiweParseError, SiwsError, Timestamp,
    TokenError,
    siwe::{EoaSignatureError, decode_signature_hex},
};
use cairn_store::{ConsumeOutcome, NonceRecord, SessionRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    AppState,
    extract::{ApiJson, AuthSession},
    now,
    problem::{ApiError, Problem},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonceRequest {
    /// The site asking the wallet to sign in (`host[:port]`), one of the
    /// configured sign-in domains.
    pub domain: String,
    /// The URI the message will carry; defaults to the domain's first
    /// configured URI.
    #[serde(default)]
    pub uri: Option<String>,
    /// For Sign In With Solana: bind the issued input to this address.
    #[serde(default)]
    pub solana_address: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NonceResponse {
    pub nonce: String,
    pub issued_at: String,
    pub expires_at: String,
    /// The Sign In With Solana input to pass to the wallet's `signIn`.
    #[schema(value_type = Object)]
    pub siws_input: SignInInput,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiweRequest {
    /// The EIP-4361 message exactly as the wallet signed it.
    pub message: String,
    /// `0x`-prefixed hex: 65 bytes for an account key, anything for a
    /// contract wallet (ERC-1271), ERC-6492-wrapped for one not yet deployed.
    pub signature: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SiwsRequest {
    /// The nonce the sign-in input was issued with.
    pub nonce: String,
    /// The account's address (base58).
    pub address: String,
    /// The account's public key (base58); must be the address.
    pub public_key: String,
    /// The bytes the wallet signed, base64.
    pub signed_message: String,
    /// The ed25519 signature, base64.
    pub signature: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// Bearer token for `Authorization: Bearer …`.
    pub token: String,
    /// The signed-in CAIP-10 account.
    pub account: String,
    pub session_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MeResponse {
    pub account: String,
    pub session_id: String,
    pub expires_at: i64,
}

fn random_token(bytes: usize) -> String {
    let mut out = String::with_capacity(bytes * 2);
    while out.len() < bytes * 2 {
        out.push_str(&alloy::hex::encode(B256::random()));
    }
    out.truncate(bytes * 2);
    out
}

impl AppState {
    fn check_domain(&self, domain: &str, uri: Option<&str>) -> Result<String, ApiError> {
        let allowed = self.auth.domains.iter().find(|d| d.domain == domain).ok_or_else(|| {
            ApiError::bad_request(
                "domain_not_allowed",
                format!("`{domain}` is not a sign-in domain of this service"),
            )
        })?;
        match uri {
            None => allowed.uris.first().cloned().ok_or_else(|| {
                ApiError::bad_request("uri_not_allowed", "no URI is configured for this domain")
            }),
            Some(uri) if allowed.uris.iter().any(|base| cairn_auth::uri_allowed(uri, base)) => {
                Ok(uri.to_owned())
            }
            Some(uri) => Err(ApiError::bad_request(
                "uri_not_allowed",
                format!("`{uri}` is not an allowed URI for `{domain}`"),
            )),
        }
    }

    /// Looks a nonce up and checks it may be used for `domain` now. It is not
    /// consumed here.
    async fn usable_nonce(&self, nonce: &str, domain: &str) -> Result<NonceRecord, ApiError> {
        let record = self.store.nonce(nonce).await?.ok_or_else(|| {
            ApiError::unauthorized("unknown_nonce", "this service did not issue that nonce")
        })?;
        if record.domain != domain {
            return Err(ApiError::unauthorized(
                "nonce_domain_mismatch",
                format!("the nonce was issued for `{}`", record.domain),
            ));
        }
        if record.consumed_at.is_some() {
            return Err(nonce_used());
        }
        if record.expires_at <= now() {
            return Err(ApiError::unauthorized("nonce_expired", "the nonce has expired"));
        }
        Ok(record)
    }

    /// Consumes the nonce and opens a session for `account`.
    async fn open_session(
        &self,
        nonce: &str,
        account: String,
    ) -> Result<SessionResponse, ApiError> {
        let now = now();
        // The message's Expiration Time says until when the signed message may
        // be presented (EIP-4361), not how long the session it opens lasts:
        // that is the service's `auth.session_ttl_secs`.
        let ttl = i64::try_from(self.auth.session_ttl_secs).unwrap_or(i64::MAX);
        let expires_at = now.saturating_add(ttl);
        let session = SessionRecord {
            session_id: random_token(16),
            account: account.clone(),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        match self.store.consume_nonce_and_open_session(nonce, now, &session).await? {
            ConsumeOutcome::Consumed => {}
            ConsumeOutcome::AlreadyUsed => return Err(nonce_used()),
        }
        let token = self.jwt.issue(&SessionClaims {
            iss: self.jwt.issuer().to_owned(),
            sub: account.clone(),
            sid: session.session_id.clone(),
            iat: now,
            exp: expires_at,
        });
        Ok(SessionResponse { token, account, session_id: session.session_id, expires_at })
    }

    /// The open session a bearer token stands for.
    pub(crate) async fn authenticate(&self, token: &str) -> Result<AuthSession, ApiError> {
        let claims = self.jwt.verify(token, now()).map_err(|e| match e {
            TokenError::Expired(_) => ApiError::unauthorized("token_expired", e.to_string()),
            _ => ApiError::unauthorized("invalid_token", e.to_string()),
        })?;
        let session = self.store.session(&claims.sid).await?;
        match session {
            Some(s) if s.revoked_at.is_none() && s.account == claims.sub => Ok(AuthSession {
                account: s.account,
                session_id: s.session_id,
                expires_at: claims.exp,
            }),
            Some(s) if s.revoked_at.is_some() => {
                Err(ApiError::unauthorized("session_revoked", "this session was logged out"))
            }
            _ => Err(ApiError::unauthorized("invalid_token", "the session does not exist")),
        }
    }
}

fn nonce_used() -> ApiError {
    ApiError::unauthorized("nonce_used", "the nonce has already been used")
}

/// Issues a single-use nonce and the Sign In With Solana input built on it.
#[utoipa::path(
    post, path = "/v1/auth/nonce", tag = "auth",
    request_body = NonceRequest,
    responses(
        (status = 200, description = "A fresh nonce", body = NonceResponse),
        (status = 400, description = "Domain or URI not allowed", body = Problem),
    )
)]
pub(crate) async fn issue_nonce(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<NonceRequest>,
) -> Result<Json<NonceResponse>, ApiError> {
    let uri = state.check_domain(&request.domain, request.uri.as_deref())?;
    if let Some(address) = &request.solana_address {
        cairn_auth::siws::decode_address(address)
            .map_err(|e| ApiError::bad_request("invalid_address", e.to_string()))?;
    }
    let nonce = random_token(12);
    let issued = now();
    let expires = issued.saturating_add(i64::try_from(state.auth.nonce_ttl_secs).unwrap_or(0));
    let (issued_at, expires_at) = (Timestamp::from_unix(issued), Timestamp::from_unix(expires));
    let siws_input = SignInInput {
        domain: request.domain.clone(),
        address: request.solana_address,
        statement: Some(state.auth.statement.clone()),
        uri: Some(uri),
        version: Some("1".to_owned()),
        chain_id: Some(state.auth.solana_chain.clone()),
        nonce: Some(nonce.clone()),
        issued_at: Some(issued_at.as_str().to_owned()),
        expiration_time: Some(expires_at.as_str().to_owned()),
        not_before: None,
        request_id: None,
        resources: Vec::new(),
    };
    state
        .store
        .insert_nonce(&NonceRecord {
            nonce: nonce.clone(),
            domain: request.domain,
            issued_at: issued,
            expires_at: expires,
            consumed_at: None,
            siws_input: Some(serde_json::to_string(&siws_input).map_err(ApiError::internal)?),
        })
        .await?;
    Ok(Json(NonceResponse {
        nonce,
        issued_at: issued_at.as_str().to_owned(),
        expires_at: expires_at.as_str().to_owned(),
        siws_input,
    }))
}

/// Signs in with an Ethereum account or contract wallet (EIP-4361).
#[utoipa::path(
    post, path = "/v1/auth/siwe", tag = "auth",
    request_body = SiweRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 400, description = "Malformed or not allowed", body = Problem),
        (status = 401, description = "Expired, replayed or wrongly signed", body = Problem),
    )
)]
pub(crate) async fn sign_in_with_ethereum(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SiweRequest>,
) -> Result<Json<SessionResponse>, ApiError> {
    let message = SiweMessage::parse(&request.message).map_err(|e| match e {
        SiweParseError::TooLarge { .. } => {
            ApiError::bad_request("message_too_large", e.to_string())
        }
        SiweParseError::Malformed { .. } => {
            ApiError::bad_request("malformed_message", e.to_string())
        }
    })?;
    state.check_domain(&message.domain, Some(&message.uri))?;
    let chain = state.chain(&format!("eip155:{}", message.chain_id)).ok_or_else(|| {
        ApiError::bad_request(
            "chain_not_supported",
            format!("chain {} is not served here", message.chain_id),
        )
    })?;
    check_times(
        state.auth.max_clock_skew_secs,
        &message.issued_at,
        message.expiration_time.as_ref(),
        message.not_before.as_ref(),
    )?;
    state.usable_nonce(&message.nonce, &message.domain).await?;

    let signature = decode_signature_hex(&request.signature)
        .map_err(|e| ApiError::bad_request("bad_signature_encoding", e.to_string()))?;
    super::wallet::verify(chain, message.address, message.eip191_hash(), &signature).await?;

    let account = format!("eip155:{}:{}", message.chain_id, message.address.to_checksum(None));
    Ok(Json(state.open_session(&message.nonce, account).await?))
}

fn check_times(
    skew: u64,
    issued_at: &Timestamp,
    expiration: Option<&Timestamp>,
    not_before: Option<&Timestamp>,
) -> Result<(), ApiError> {
    let now = now();
    let skew = i64::try_from(skew).unwrap_or(0);
    if issued_at.unix() > now + skew {
        return Err(ApiError::unauthorized(
            "issued_in_future",
            format!("Issued At {} is ahead of this service's clock", issued_at.as_str()),
        ));
    }
    if let Some(expiration) = expiration
        && expiration.unix() <= now
    {
        return Err(ApiError::unauthorized(
            "message_expired",
            format!("the message expired at {}", expiration.as_str()),
        ));
    }
    if let Some(not_before) = not_before
        && not_before.unix() > now + skew
    {
        return Err(ApiError::unauthorized(
            "message_not_yet_valid",
            format!("the message is not valid before {}", not_before.as_str()),
        ));
    }
    Ok(())
}

pub(crate) fn eoa_error(error: EoaSignatureError) -> ApiError {
    match error {
        EoaSignatureError::Encoding(_) => {
            ApiError::bad_request("bad_signature_encoding", error.to_string())
        }
        EoaSignatureError::BadV(_) => ApiError::bad_request("bad_signature_v", error.to_string()),
        EoaSignatureError::HighS => {
            ApiError::unauthorized("signature_malleable", error.to_string())
        }
        EoaSignatureError::Mismatch { .. } => {
            ApiError::unauthorized("signature_mismatch", error.to_string())
        }
    }
}

/// Signs in with a Solana account (Sign In With Solana), against the input
/// issued with the nonce.
#[utoipa::path(
    post, path = "/v1/auth/siws", tag = "auth",
    request_body = SiwsRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 400, description = "Malformed", body = Problem),
        (status = 401, description = "Altered, replayed or wrongly signed", body = Problem),
    )
)]
pub(crate) async fn sign_in_with_solana(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<SiwsRequest>,
) -> Result<Json<SessionResponse>, ApiError> {
    let decode = |field: &'static str, text: &str| {
        STANDARD.decode(text).map_err(|_| {
            ApiError::bad_request("bad_signature_encoding", format!("{field} is not base64"))
        })
    };
    let output = SignInOutput {
        address: request.address.clone(),
        public_key: bs58_decode(&request.public_key)?,
        signed_message: decode("signed_message", &request.signed_message)?,
        signature: decode("signature", &request.signature)?,
    };
    let record = state.store.nonce(&request.nonce).await?.ok_or_else(|| {
        ApiError::unauthorized("unknown_nonce", "this service did not issue that nonce")
    })?;
    let input: SignInInput = record
        .siws_input
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::unauthorized("unknown_nonce", "no Solana sign-in was issued with that nonce")
        })?;
    state.check_domain(&input.domain, input.uri.as_deref())?;
    state.usable_nonce(&request.nonce, &input.domain).await?;
    cairn_auth::siws::verify(&input, &output).map_err(|e| match e {
        SiwsError::BadAddress(_) => ApiError::bad_request("invalid_address", e.to_string()),
        SiwsError::AddressMismatch { .. } => {
            ApiError::unauthorized("address_mismatch", e.to_string())
        }
        SiwsError::PublicKeyMismatch => {
            ApiError::unauthorized("public_key_mismatch", e.to_string())
        }
        SiwsError::MessageMismatch => {
            ApiError::unauthorized("siws_message_mismatch", e.to_string())
        }
        SiwsError::SignatureEncoding => {
            ApiError::bad_request("bad_signature_encoding", e.to_string())
        }
        SiwsError::SignatureInvalid => ApiError::unauthorized("signature_mismatch", e.to_string()),
    })?;
    let account = format!("{}:{}", state.auth.solana_chain, request.address);
    Ok(Json(state.open_session(&request.nonce, account).await?))
}

fn bs58_decode(text: &str) -> Result<Vec<u8>, ApiError> {
    cairn_auth::siws::decode_address(text)
        .map(|key| key.to_vec())
        .map_err(|_| ApiError::bad_request("invalid_address", "public_key is not a base58 key"))
}

/// Ends the session the token belongs to; the token stops working at once.
#[utoipa::path(
    post, path = "/v1/auth/logout", tag = "auth",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid session", body = Problem),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    session: AuthSession,
) -> Result<StatusCode, ApiError> {
    state.store.revoke_session(&session.session_id, now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in account.
#[utoipa::path(
    get, path = "/v1/me", tag = "auth",
    responses(
        (status = 200, description = "The session's account", body = MeResponse),
        (status = 401, description = "No valid session", body = Problem),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn me(session: AuthSession) -> Json<MeResponse> {
    Json(MeResponse {
        account: session.account,
        session_id: session.session_id,
        expires_at: session.expires_at,
    })
}
