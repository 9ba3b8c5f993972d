//! The refusals: every way a sign-in, a session, a metadata write or a
//! request can be wrong, each with the problem code it must get. Run on both
//! backends.

use std::net::SocketAddr;

use alloy::{primitives::B256, sol_types::SolCall};
use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{Request, StatusCode, header},
};
use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use cairn_auth::{SessionClaims, SiweMessage, Timestamp};
use cairn_bindings::DevWalletFactory;
use cairn_service::http::{AppState, app};
use cairn_test_utils::{DEV_KEY_1, DEV_KEY_2, DEV_KEY_3, Mined, address_of, wallet};
use ed25519_dalek::SigningKey;
use serde_json::{Value, json};

use crate::support::{
    Answer, Chain, DOMAIN, OTHER_DOMAIN, apps, erc6492, get, get_with_token, hex0x, json_request,
    jwt_key, nonce, p1, p2, post, send, service_config, sign_digest_hex, sign_in, sign_message,
    siwe_message, siws_body, siws_nonce, wallet_factory,
};

/// secp256k1's group order.
const ORDER: [u8; 32] =
    alloy::hex!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

struct Outcomes(Vec<(&'static str, StatusCode, &'static str, Answer)>);

impl Outcomes {
    fn expect(
        &mut self,
        case: &'static str,
        status: StatusCode,
        code: &'static str,
        answer: Answer,
    ) {
        self.0.push((case, status, code, answer));
    }

    fn check(self, backend: &str) -> usize {
        let mut failures = Vec::new();
        for (case, status, code, answer) in &self.0 {
            if answer.status != *status || answer.code() != *code {
                failures.push(format!("{case}: expected {status} {code}, got {answer:?}"));
            }
        }
        assert!(failures.is_empty(), "{backend}:\n{}", failures.join("\n"));
        self.0.len()
    }
}

async fn siwe(app: &Router, message: &str, signature: &str) -> Answer {
    post(app, "/v1/auth/siwe", json!({ "message": message, "signature": signature })).await
}

/// Signs `message` with `key` and submits it.
async fn signed(app: &Router, key: &str, message: &SiweMessage) -> Answer {
    siwe(app, &message.to_string(), &sign_message(key, message).await).await
}

fn unix(offset: i64) -> Timestamp {
    Timestamp::from_unix(now() + offset)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_has_its_own_code_on_both_backends() {
    let chain = Chain::with_providers().await;
    let factory = wallet_factory(&chain).await;
    let owner = address_of(DEV_KEY_1);
    let as_owner = DevWalletFactory::new(factory, wallet(&chain.rpc(), DEV_KEY_1));
    as_owner.deployWallet(owner, B256::ZERO).mined().await;
    let deployed_wallet = as_owner.addressOf(owner, B256::ZERO).call().await.unwrap();

    let (stores, apps) = apps(&chain).await;
    for (backend, app) in &apps {
        let store = if backend == "Sqlite" { &stores.sqlite } else { &stores.postgres };
        let mut out = Outcomes(Vec::new());
        let key1 = address_of(DEV_KEY_1);
        let bad = StatusCode::BAD_REQUEST;
        let unauthorized = StatusCode::UNAUTHORIZED;

        // --- SIWE: origin and chain
        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.domain = "evil.test".into();
        m.uri = "https://evil.test/".into();
        out.expect("wrong domain", bad, "domain_not_allowed", signed(app, DEV_KEY_1, &m).await);

        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.uri = "https://evil.test/login".into();
        out.expect(
            "URI outside the domain's list",
            bad,
            "uri_not_allowed",
            signed(app, DEV_KEY_1, &m).await,
        );

        // A text prefix of the allowed `https://cairn.test/` that is another host.
        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.uri = format!("https://{DOMAIN}.evil.io/");
        out.expect(
            "URI on a host that extends the allowed one",
            bad,
            "uri_not_allowed",
            signed(app, DEV_KEY_1, &m).await,
        );

        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.uri = format!("http://{DOMAIN}/login");
        out.expect(
            "URI with another scheme",
            bad,
            "uri_not_allowed",
            signed(app, DEV_KEY_1, &m).await,
        );

        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.chain_id = 1;
        out.expect(
            "chain not served",
            bad,
            "chain_not_supported",
            signed(app, DEV_KEY_1, &m).await,
        );

        // --- SIWE: time
        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.issued_at = unix(-7200);
        m.expiration_time = Some(unix(-3600));
        out.expect(
            "expired message",
            unauthorized,
            "message_expired",
            signed(app, DEV_KEY_1, &m).await,
        );

        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.not_before = Some(unix(3600));
        out.expect(
            "not yet valid",
            unauthorized,
            "message_not_yet_valid",
            signed(app, DEV_KEY_1, &m).await,
        );

        let mut m = siwe_message(key1, &nonce(app, DOMAIN).await);
        m.issued_at = unix(3600);
        out.expect(
            "issued in the future",
            unauthorized,
            "issued_in_future",
            signed(app, DEV_KEY_1, &m).await,
        );

        // --- SIWE: nonces
        let m = siwe_message(key1, &nonce(app, DOMAIN).await);
        let first = signed(app, DEV_KEY_1, &m).await;
        assert_eq!(first.status, StatusCode::OK, "{backend}: {first:?}");
        out.expect("replayed nonce", unauthorized, "nonce_used", signed(app, DEV_KEY_1, &m).await);

        let m = siwe_message(key1, "neverissued123");
        out.expect(
            "unknown nonce",
            unauthorized,
            "unknown_nonce",
            signed(app, DEV_KEY_1, &m).await,
        );

        let m = siwe_message(key1, &nonce(app, OTHER_DOMAIN).await);
        out.expect(
            "nonce of another domain",
            unauthorized,
            "nonce_domain_mismatch",
            signed(app, DEV_KEY_1, &m).await,
        );

        let short_nonces = {
            let mut auth = crate::support::auth_config();
            auth.nonce_ttl_secs = 0;
            AppState::new(store.clone(), jwt_key(), auth, service_config(), vec![chain.evm_chain()])
        };
        let short_app = app_of(short_nonces);
        let m = siwe_message(key1, &nonce(&short_app, DOMAIN).await);
        out.expect(
            "expired nonce",
            unauthorized,
            "nonce_expired",
            signed(&short_app, DEV_KEY_1, &m).await,
        );

        // --- SIWE: signatures
        let m = siwe_message(key1, &nonce(app, DOMAIN).await);
        let signature = sign_message(DEV_KEY_1, &m).await;
        let mut tampered = m.clone();
        tampered.statement = Some("Sign in to Cairn and approve everything.".into());
        out.expect(
            "tampered statement",
            unauthorized,
            "signature_mismatch",
            siwe(app, &tampered.to_string(), &signature).await,
        );

        let m = siwe_message(key1, &nonce(app, DOMAIN).await);
        out.expect(
            "signed by another key",
            unauthorized,
            "signature_mismatch",
            signed(app, DEV_KEY_2, &m).await,
        );

        let m = siwe_message(key1, &nonce(app, DOMAIN).await);
        let good = sign_digest_hex(DEV_KEY_1, m.eip191_hash()).await;
        let mut malleated = good.clone();
        let s = alloy::primitives::U256::from_be_slice(&good[32..64]);
        malleated[32..64].copy_from_slice(
            &(alloy::primitives::U256::from_be_bytes(ORDER) - s).to_be_bytes::<32>(),
        );
        malleated[64] = if good[64] == 27 { 28 } else { 27 };
        out.expect(
            "malleated (high s)",
            unauthorized,
            "signature_malleable",
            siwe(app, &m.to_string(), &hex0x(&malleated)).await,
        );

        let mut bad_v = good.clone();
        bad_v[64] = 29;
        out.expect(
            "bad v",
            bad,
            "bad_signature_v",
            siwe(app, &m.to_string(), &hex0x(&bad_v)).await,
        );
        out.expect(
            "signature not hex",
            bad,
            "bad_signature_encoding",
            siwe(app, &m.to_string(), "0xnothex").await,
        );
        out.expect(
            "signature without 0x",
            bad,
            "bad_signature_encoding",
            siwe(app, &m.to_string(), &alloy::hex::encode(&good)).await,
        );
        out.expect(
            "signature of 64 bytes",
            bad,
            "bad_signature_encoding",
            siwe(app, &m.to_string(), &hex0x(&good[..64])).await,
        );

        // --- SIWE: message shape
        let mut huge = siwe_message(key1, &nonce(app, DOMAIN).await);
        huge.statement = Some("a".repeat(5000));
        out.expect(
            "oversized message",
            bad,
            "message_too_large",
            signed(app, DEV_KEY_1, &huge).await,
        );
        out.expect(
            "malformed message",
            bad,
            "malformed_message",
            siwe(app, "hello, sign me in", &hex0x(&good)).await,
        );
        let text = m.to_string();
        out.expect(
            "address not checksummed",
            bad,
            "malformed_message",
            siwe(app, &text.replace(&key1.to_checksum(None), &format!("{key1:#x}")), &hex0x(&good))
                .await,
        );
        out.expect(
            "CRLF line ends",
            bad,
            "malformed_message",
            siwe(app, &text.replace('\n', "\r\n"), &hex0x(&good)).await,
        );
        out.expect(
            "trailing newline",
            bad,
            "malformed_message",
            siwe(app, &format!("{text}\n"), &hex0x(&good)).await,
        );

        // --- SIWE: contract wallets
        let m = siwe_message(deployed_wallet, &nonce(app, DOMAIN).await);
        let by_stranger = sign_digest_hex(DEV_KEY_2, m.eip191_hash()).await;
        out.expect(
            "ERC-1271 wallet says no",
            unauthorized,
            "contract_signature_invalid",
            siwe(app, &m.to_string(), &hex0x(&by_stranger)).await,
        );

        let salt = B256::repeat_byte(0x66);
        let counterfactual = as_owner.addressOf(owner, salt).call().await.unwrap();
        let m = siwe_message(counterfactual, &nonce(app, DOMAIN).await);
        let inner = sign_digest_hex(DEV_KEY_1, m.eip191_hash()).await;
        let wrong_call = b"\xde\xad\xbe\xef".to_vec();
        out.expect(
            "ERC-6492 with a bad factory call",
            unauthorized,
            "erc6492_deploy_failed",
            siwe(app, &m.to_string(), &hex0x(&erc6492(factory, wrong_call, inner.clone()))).await,
        );
        let deploy_call = DevWalletFactory::deployWalletCall { owner, salt }.abi_encode();
        let inner_by_stranger = sign_digest_hex(DEV_KEY_2, m.eip191_hash()).await;
        out.expect(
            "ERC-6492 signed by a stranger",
            unauthorized,
            "contract_signature_invalid",
            siwe(app, &m.to_string(), &hex0x(&erc6492(factory, deploy_call, inner_by_stranger)))
                .await,
        );

        // --- request bodies
        out.expect(
            "missing field",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            post(app, "/v1/auth/siwe", json!({ "message": "x" })).await,
        );
        out.expect(
            "unknown field",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            post(app, "/v1/auth/siwe", json!({ "message": "x", "signature": "0x", "extra": 1 }))
                .await,
        );
        let raw = Request::post("/v1/auth/siwe")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        out.expect("invalid JSON", bad, "invalid_json", send(app, raw).await);
        // One reader on every route: the same text is the same refusal, and
        // no detail starts with serde's `?:` for "no path".
        for (route, text) in [
            ("/v1/intents", "{not json"),
            ("/v1/intents", "{\"intents\": []} trailing"),
            ("/v1/auth/nonce", "[1, 2"),
            ("/v1/auth/siwe", "{\"message\": \"x\"} {}"),
        ] {
            let raw = Request::post(route)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(text))
                .unwrap();
            let answer = send(app, raw).await;
            let detail = answer.body["detail"].as_str().unwrap_or_default().to_owned();
            assert!(!detail.starts_with('?'), "{route} {text}: detail {detail:?}");
            out.expect("invalid JSON on any route", bad, "invalid_json", answer);
        }
        let raw = Request::post("/v1/intents")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"intent\": 1}"))
            .unwrap();
        out.expect(
            "JSON of the wrong shape on intents",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
            send(app, raw).await,
        );
        let plain = Request::post("/v1/auth/siwe")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{}"))
            .unwrap();
        out.expect(
            "not JSON",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            send(app, plain).await,
        );
        let small_body = app_of({
            let mut config = service_config();
            config.max_body_bytes = 256;
            chain.state(store, config)
        });
        out.expect(
            "body over the limit",
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            post(
                &small_body,
                "/v1/auth/siwe",
                json!({ "message": "m".repeat(1000), "signature": "0x" }),
            )
            .await,
        );

        // --- nonce issuance
        out.expect(
            "nonce for an unknown domain",
            bad,
            "domain_not_allowed",
            post(app, "/v1/auth/nonce", json!({ "domain": "evil.test" })).await,
        );
        out.expect(
            "nonce with a foreign URI",
            bad,
            "uri_not_allowed",
            post(app, "/v1/auth/nonce", json!({ "domain": DOMAIN, "uri": "https://evil.test/" }))
                .await,
        );
        out.expect(
            "nonce for a bad Solana address",
            bad,
            "invalid_address",
            post(app, "/v1/auth/nonce", json!({ "domain": DOMAIN, "solana_address": "0OIl" }))
                .await,
        );

        // --- SIWS
        let sol = SigningKey::from_bytes(&[21; 32]);
        let other_sol = SigningKey::from_bytes(&[22; 32]);
        let (n, input) = siws_nonce(app, json!({ "domain": DOMAIN })).await;
        let mut altered = input.clone();
        altered.statement = Some("Give me everything".into());
        out.expect(
            "SIWS with altered input",
            unauthorized,
            "siws_message_mismatch",
            post(app, "/v1/auth/siws", siws_body(&sol, &n, &altered)).await,
        );
        let mut body = siws_body(&sol, &n, &input);
        body["public_key"] =
            Value::String(bs58::encode(other_sol.verifying_key().as_bytes()).into_string());
        out.expect(
            "SIWS public key is not the address",
            unauthorized,
            "public_key_mismatch",
            post(app, "/v1/auth/siws", body).await,
        );
        let mut body = siws_body(&sol, &n, &input);
        let message = input.message(body["address"].as_str().unwrap());
        use ed25519_dalek::Signer as _;
        body["signature"] =
            Value::String(STANDARD.encode(other_sol.sign(message.as_bytes()).to_bytes()));
        out.expect(
            "SIWS signed by another key",
            unauthorized,
            "signature_mismatch",
            post(app, "/v1/auth/siws", body).await,
        );
        let mut body = siws_body(&sol, &n, &input);
        body["signature"] = Value::String("***".into());
        out.expect(
            "SIWS signature not base64",
            bad,
            "bad_signature_encoding",
            post(app, "/v1/auth/siws", body).await,
        );
        let mut body = siws_body(&sol, &n, &input);
        body["address"] = Value::String("not-base58!".into());
        out.expect(
            "SIWS bad address",
            bad,
            "invalid_address",
            post(app, "/v1/auth/siws", body).await,
        );
        out.expect(
            "SIWS unknown nonce",
            unauthorized,
            "unknown_nonce",
            post(app, "/v1/auth/siws", siws_body(&sol, "neverissued123", &input)).await,
        );
        let ok = post(app, "/v1/auth/siws", siws_body(&sol, &n, &input)).await;
        assert_eq!(ok.status, StatusCode::OK, "{backend}: {ok:?}");
        out.expect(
            "SIWS replay",
            unauthorized,
            "nonce_used",
            post(app, "/v1/auth/siws", siws_body(&sol, &n, &input)).await,
        );
        let bound_to = bs58::encode(other_sol.verifying_key().as_bytes()).into_string();
        let (n, input) =
            siws_nonce(app, json!({ "domain": DOMAIN, "solana_address": bound_to })).await;
        out.expect(
            "SIWS issued for another address",
            unauthorized,
            "address_mismatch",
            post(app, "/v1/auth/siws", siws_body(&sol, &n, &input)).await,
        );

        // --- sessions
        out.expect("no token", unauthorized, "missing_token", get(app, "/v1/me").await);
        let token = sign_in(app, DEV_KEY_1).await;
        let logout =
            send(app, json_request("POST", "/v1/auth/logout", &json!({}), Some(&token))).await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        out.expect(
            "revoked session",
            unauthorized,
            "session_revoked",
            get_with_token(app, "/v1/me", &token).await,
        );
        let live = sign_in(app, DEV_KEY_1).await;
        let claims = jwt_key().verify(&live, now()).unwrap();
        let expired =
            jwt_key().issue(&SessionClaims { iat: now() - 100, exp: now() - 10, ..claims.clone() });
        out.expect(
            "expired token",
            unauthorized,
            "token_expired",
            get_with_token(app, "/v1/me", &expired).await,
        );
        let foreign = cairn_auth::JwtKey::new(&[0x77; 32], "cairn").unwrap().issue(&claims);
        out.expect(
            "token signed with another key",
            unauthorized,
            "invalid_token",
            get_with_token(app, "/v1/me", &foreign).await,
        );
        let parts: Vec<&str> = live.split('.').collect();
        let alg_none =
            format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        out.expect(
            "alg none token",
            unauthorized,
            "invalid_token",
            get_with_token(app, "/v1/me", &alg_none).await,
        );
        let ghost =
            jwt_key().issue(&SessionClaims { sid: "no-such-session".into(), ..claims.clone() });
        out.expect(
            "token of no session",
            unauthorized,
            "invalid_token",
            get_with_token(app, "/v1/me", &ghost).await,
        );
        let swapped = jwt_key().issue(&SessionClaims {
            sub: format!("eip155:31337:{}", address_of(DEV_KEY_2).to_checksum(None)),
            ..claims.clone()
        });
        out.expect(
            "token naming another account",
            unauthorized,
            "invalid_token",
            get_with_token(app, "/v1/me", &swapped).await,
        );
        out.expect(
            "garbage token",
            unauthorized,
            "invalid_token",
            get_with_token(app, "/v1/me", "abc").await,
        );

        // --- provider metadata
        let p2_uri = format!("/v1/providers/eip155:31337:{}/metadata", p2().to_checksum(None));
        let p1_token = sign_in(app, DEV_KEY_1).await;
        out.expect(
            "another provider's metadata",
            StatusCode::FORBIDDEN,
            "not_provider_operator",
            send(app, json_request("PUT", &p2_uri, &json!({ "region": "x" }), Some(&p1_token)))
                .await,
        );
        let operator = sign_in(app, DEV_KEY_3).await;
        out.expect(
            "metadata too long",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_metadata",
            send(
                app,
                json_request("PUT", &p2_uri, &json!({ "region": "r".repeat(65) }), Some(&operator)),
            )
            .await,
        );
        out.expect(
            "metadata with control characters",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_metadata",
            send(
                app,
                json_request("PUT", &p2_uri, &json!({ "contact": "a\u{7}b" }), Some(&operator)),
            )
            .await,
        );
        out.expect(
            "metadata without a session",
            unauthorized,
            "missing_token",
            send(app, json_request("PUT", &p2_uri, &json!({ "region": "x" }), None)).await,
        );
        out.expect("metadata of no provider", StatusCode::NOT_FOUND, "provider_not_found",
            send(app, json_request("PUT", "/v1/providers/eip155:31337:0x0000000000000000000000000000000000000009/metadata",
                &json!({ "region": "x" }), Some(&operator))).await);
        let p1_uri = format!("/v1/providers/eip155:31337:{}/metadata", p1().to_checksum(None));
        out.expect(
            "P2's operator on P1",
            StatusCode::FORBIDDEN,
            "not_provider_operator",
            send(app, json_request("PUT", &p1_uri, &json!({ "region": "x" }), Some(&operator)))
                .await,
        );

        // --- limits and routing
        let limited = app_of({
            let mut config = service_config();
            config.rate_limit.anonymous_per_second = 1;
            config.rate_limit.anonymous_burst = 2;
            chain.state(store, config)
        });
        let from = |peer: &str, forwarded: &str| {
            let mut request = Request::get("/v1/chains")
                .header("x-forwarded-for", forwarded)
                .body(Body::empty())
                .unwrap();
            request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            request
        };
        for i in 0..2 {
            let answer = send(&limited, from("203.0.113.9:4000", &format!("198.51.100.{i}"))).await;
            assert_eq!(answer.status, StatusCode::OK, "within the burst");
        }
        let spoofed = send(&limited, from("203.0.113.9:4000", "198.51.100.77")).await;
        assert!(spoofed.headers.get(header::RETRY_AFTER).is_some(), "Retry-After on 429");
        out.expect(
            "spoofed X-Forwarded-For",
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            spoofed,
        );
        out.expect(
            "unknown route",
            StatusCode::NOT_FOUND,
            "route_not_found",
            get(app, "/v1/nothing").await,
        );
        out.expect(
            "wrong method",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            send(app, Request::delete("/v1/chains").body(Body::empty()).unwrap()).await,
        );

        let cases = out.check(backend);
        assert!(cases >= 40, "{backend}: only {cases} cases");
    }
    stores.cleanup().await;
}

fn app_of(state: AppState) -> Router {
    app(state)
}

/// Behind a trusted proxy, each forwarded client has its own bucket; the
/// proxy itself is never limited as one client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_clients_are_told_apart_only_behind_trusted_proxies() {
    let chain = Chain::with_providers().await;
    let stores = cairn_test_utils::stores().await;
    let mut config = service_config();
    config.rate_limit.anonymous_per_second = 1;
    config.rate_limit.anonymous_burst = 1;
    config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
    let app = app(chain.state(&stores.sqlite, config));
    let via_proxy = |client: &str| {
        let mut request = Request::get("/v1/chains")
            .header("x-forwarded-for", format!("{client}, 10.1.2.3"))
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo("10.0.0.1:5000".parse::<SocketAddr>().unwrap()));
        request
    };
    for client in ["198.51.100.1", "198.51.100.2", "198.51.100.3"] {
        let answer = send(&app, via_proxy(client)).await;
        assert_eq!(answer.status, StatusCode::OK, "{client} has its own bucket: {answer:?}");
    }
    let again = send(&app, via_proxy("198.51.100.1")).await;
    assert_eq!((again.status, again.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));

    // The client writes its own X-Forwarded-For with a made-up first hop and
    // junk after it; the proxy appends the real address. Each made-up hop
    // must not buy the real client a fresh bucket.
    let spoofing = |made_up: &str| {
        let mut request = Request::get("/v1/chains")
            .header("x-forwarded-for", format!("{made_up}, junk, 198.51.100.9"))
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo("10.0.0.1:5000".parse::<SocketAddr>().unwrap()));
        request
    };
    assert_eq!(send(&app, spoofing("6.6.6.6")).await.status, StatusCode::OK);
    let spoofed = send(&app, spoofing("6.6.6.7")).await;
    assert_eq!(
        (spoofed.status, spoofed.code()),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "a spoofed first hop opened a new bucket"
    );

    // One IPv6 /64 is one client, whichever of its addresses it calls from.
    let from_v6 = |peer: &str| {
        let mut request = Request::get("/v1/chains").body(Body::empty()).unwrap();
        request.extensions_mut().insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        request
    };
    assert_eq!(send(&app, from_v6("[2001:db8:0:1::1]:4000")).await.status, StatusCode::OK);
    let same_64 = send(&app, from_v6("[2001:db8:0:1:ffff::2]:4000")).await;
    assert_eq!((same_64.status, same_64.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    let other_64 = send(&app, from_v6("[2001:db8:0:2::1]:4000")).await;
    assert_eq!(other_64.status, StatusCode::OK, "another /64 is another client");
    // Probes are never limited.
    for _ in 0..5 {
        assert_eq!(get(&app, "/healthz").await.status, StatusCode::OK);
    }
    stores.cleanup().await;
}

/// A signed-in wallet has its own bucket, whatever address it calls from;
/// exhausting it does not limit anonymous callers at that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wallets_are_limited_per_account() {
    let chain = Chain::with_providers().await;
    let stores = cairn_test_utils::stores().await;
    let open = app(chain.state(&stores.postgres, service_config()));
    let token = sign_in(&open, DEV_KEY_1).await;
    let mut config = service_config();
    config.rate_limit.wallet_per_second = 1;
    config.rate_limit.wallet_burst = 2;
    config.rate_limit.anonymous_per_second = 100;
    config.rate_limit.anonymous_burst = 100;
    let limited = app(chain.state(&stores.postgres, config));
    for _ in 0..2 {
        assert_eq!(get_with_token(&limited, "/v1/me", &token).await.status, StatusCode::OK);
    }
    let refused = get_with_token(&limited, "/v1/me", &token).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    let wait: u64 = refused.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    assert_eq!(
        get(&limited, "/v1/chains").await.status,
        StatusCode::OK,
        "anonymous bucket untouched"
    );
    let metrics = get(&limited, "/metrics").await;
    assert!(metrics.body.as_str().unwrap().contains("cairn_http_rate_limited_total 1"));

    // Logged out, the token no longer names the wallet: its requests count
    // against the address, not the (empty) wallet bucket.
    let logout = crate::support::send(
        &open,
        crate::support::json_request(
            "POST",
            "/v1/auth/logout",
            &serde_json::json!({}),
            Some(&token),
        ),
    )
    .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT, "{logout:?}");
    let revoked = get_with_token(&limited, "/v1/chains", &token).await;
    assert_eq!(
        revoked.status,
        StatusCode::OK,
        "a revoked token keyed the wallet bucket: {revoked:?}"
    );
    let me = get_with_token(&limited, "/v1/me", &token).await;
    assert_eq!((me.status, me.code()), (StatusCode::UNAUTHORIZED, "session_revoked"));
    stores.cleanup().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn slashes_refuse_an_unknown_stage_and_a_provider_that_is_no_address() {
    let chain = Chain::with_providers().await;
    let (stores, apps) = apps(&chain).await;
    for (backend, app) in &apps {
        for query in ["stage=sunk", "provider=nobody", "limit=0", "limit=201", "colour=red"] {
            let answer = get(app, &format!("/v1/slashes?{query}")).await;
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{backend} {query}: {answer:?}");
            assert_eq!(answer.code(), "invalid_query", "{backend} {query}: {answer:?}");
        }
        let answer = get(app, "/v1/slashes?stage=slashed").await;
        assert_eq!(answer.status, StatusCode::OK, "{backend}: {answer:?}");
        assert_eq!(answer.body["items"], json!([]), "{backend}");
    }
    stores.cleanup().await;
}
