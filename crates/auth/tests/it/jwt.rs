use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use cairn_auth::{JwtKey, SessionClaims, TokenError};

fn claims() -> SessionClaims {
    SessionClaims {
        iss: "cairn".into(),
        sub: "eip155:1:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2".into(),
        sid: "s1".into(),
        iat: 1_000,
        exp: 2_000,
    }
}

fn key(byte: u8) -> JwtKey {
    JwtKey::new(&[byte; 32], "cairn").unwrap()
}

#[test]
fn issued_tokens_verify_until_they_expire() {
    let token = key(1).issue(&claims());
    assert_eq!(key(1).verify(&token, 1_999), Ok(claims()));
    assert_eq!(key(1).verify(&token, 2_000), Err(TokenError::Expired(2_000)));
}

#[test]
fn forged_tokens_are_refused() {
    let token = key(1).issue(&claims());
    assert_eq!(key(2).verify(&token, 1_500), Err(TokenError::BadSignature));

    let parts: Vec<&str> = token.split('.').collect();
    let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{}.", parts[1]);
    assert_eq!(key(1).verify(&alg_none, 1_500), Err(TokenError::UnsupportedHeader));

    let mut richer = claims();
    richer.sub = "eip155:1:0x0000000000000000000000000000000000000001".into();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&richer).unwrap());
    let swapped = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert_eq!(key(1).verify(&swapped, 1_500), Err(TokenError::BadSignature));

    let other_issuer = JwtKey::new(&[1; 32], "elsewhere")
        .unwrap()
        .issue(&SessionClaims { iss: "elsewhere".into(), ..claims() });
    assert_eq!(
        key(1).verify(&other_issuer, 1_500),
        Err(TokenError::WrongIssuer("elsewhere".into()))
    );

    for garbage in ["", "a.b", "a.b.c.d", "!!.!!.!!", &format!("{token}x")] {
        assert!(key(1).verify(garbage, 1_500).is_err(), "accepted {garbage:?}");
    }
    assert_eq!(JwtKey::new(&[1; 31], "cairn").unwrap_err(), TokenError::WeakSecret);
}
