use alloy_primitives::address;
use cairn_auth::{SiweMessage, SiweParseError, siwe::MAX_MESSAGE_BYTES};
use proptest::prelude::*;

/// The example message of EIP-4361, with every optional field.
const FULL: &str = "https://example.com wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2

I accept the ExampleOrg Terms of Service: https://example.com/tos

URI: https://example.com/login
Version: 1
Chain ID: 1
Nonce: 32891756
Issued At: 2021-09-30T16:25:24Z
Expiration Time: 2021-10-30T16:25:24Z
Not Before: 2021-09-30T16:25:24Z
Request ID: some-id_1
Resources:
- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/
- https://example.com/my-web2-claim.json";

const MINIMAL: &str = "example.com:8443 wants you to sign in with your Ethereum account:
0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2


URI: https://example.com:8443/
Version: 1
Chain ID: 31337
Nonce: abcdefgh1
Issued At: 2026-11-25T12:00:00.123+01:00";

#[test]
fn full_message_parses_into_its_fields_and_renders_back() {
    let message = SiweMessage::parse(FULL).unwrap();
    assert_eq!(message.scheme.as_deref(), Some("https"));
    assert_eq!(message.domain, "example.com");
    assert_eq!(message.address, address!("C02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"));
    assert_eq!(
        message.statement.as_deref(),
        Some("I accept the ExampleOrg Terms of Service: https://example.com/tos")
    );
    assert_eq!(message.uri, "https://example.com/login");
    assert_eq!(message.chain_id, 1);
    assert_eq!(message.nonce, "32891756");
    assert_eq!(message.issued_at.unix(), 1_633_019_124);
    assert_eq!(message.expiration_time.as_ref().unwrap().unix(), 1_635_611_124);
    assert_eq!(message.request_id.as_deref(), Some("some-id_1"));
    assert_eq!(message.resources.len(), 2);
    assert_eq!(message.to_string(), FULL);
}

#[test]
fn message_without_statement_or_optional_fields_parses() {
    let message = SiweMessage::parse(MINIMAL).unwrap();
    assert_eq!(message.scheme, None);
    assert_eq!(message.domain, "example.com:8443");
    assert_eq!(message.statement, None);
    assert_eq!(message.chain_id, 31337);
    assert_eq!(message.issued_at.unix(), 1_795_604_400);
    assert!(message.expiration_time.is_none() && message.resources.is_empty());
    assert_eq!(message.to_string(), MINIMAL);
}

fn line_of(error: SiweParseError) -> usize {
    match error {
        SiweParseError::Malformed { line, .. } => line,
        other => panic!("expected a malformed-message error, got {other:?}"),
    }
}

#[test]
fn each_broken_field_is_refused_with_its_line() {
    let cases: &[(&str, &str, usize)] = &[
        ("wants you to sign in with your Ethereum account:", "wants you to log in:", 1),
        ("https://example.com wants", "ht tp://example.com wants", 1),
        ("https://example.com wants", "https://exa mple.com wants", 1),
        ("https://example.com wants", "https://user@example.com wants", 1),
        (
            "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2",
            2,
        ),
        (
            "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc",
            2,
        ),
        ("I accept the ExampleOrg", "I accept the \"ExampleOrg\"", 4),
        ("URI: https://example.com/login", "URI: not a uri", 6),
        ("URI: https://example.com/login", "Uri: https://example.com/login", 6),
        ("Version: 1", "Version: 2", 7),
        ("Chain ID: 1\n", "Chain ID: 01\n", 8),
        ("Chain ID: 1\n", "Chain ID: -1\n", 8),
        ("Chain ID: 1\n", "Chain ID: 99999999999999999999999\n", 8),
        ("Nonce: 32891756", "Nonce: 3289", 9),
        ("Nonce: 32891756", "Nonce: 3289-1756", 9),
        ("Issued At: 2021-09-30T16:25:24Z", "Issued At: yesterday", 10),
        ("Issued At: 2021-09-30T16:25:24Z", "Issued At: 2021-09-30 16:25:24Z", 10),
        ("Expiration Time: 2021-10-30T16:25:24Z", "Expiration Time: 2021-13-30T16:25:24Z", 11),
        ("Request ID: some-id_1", "Request ID: some id", 13),
        (
            "- https://example.com/my-web2-claim.json",
            "* https://example.com/my-web2-claim.json",
            16,
        ),
    ];
    for (from, to, line) in cases {
        assert!(FULL.contains(from), "case {from:?} does not apply");
        let broken = FULL.replacen(from, to, 1);
        let error = SiweParseError::clone(&SiweMessage::parse(&broken).unwrap_err());
        assert_eq!(line_of(error), *line, "{from:?} -> {to:?}");
    }
}

#[test]
fn non_canonical_layouts_are_refused() {
    let variants = [
        FULL.replace('\n', "\r\n"),
        format!("{FULL}\n"),
        format!(" {FULL}"),
        FULL.replace("Version: 1\nChain ID: 1", "Chain ID: 1\nVersion: 1"),
        FULL.replace("Not Before: 2021-09-30T16:25:24Z\n", "")
            .replace("Expiration Time", "Not Before: 2021-09-30T16:25:24Z\nExpiration Time"),
        FULL.replace("\n\nURI:", "\nURI:"),
        FULL.replace("Resources:\n- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n- https://example.com/my-web2-claim.json", "Resources:"),
        format!("{FULL}\nExtra: field"),
        FULL.replace("Nonce: 32891756", "Nonce: 32891756\u{0}"),
        MINIMAL.replace("\n\n\nURI", "\n\nURI"),
        String::new(),
    ];
    for variant in &variants {
        assert!(SiweMessage::parse(variant).is_err(), "accepted:\n{variant:?}");
    }
}

#[test]
fn oversized_messages_are_refused_before_parsing() {
    let statement = "a".repeat(MAX_MESSAGE_BYTES);
    let oversized = FULL.replace("I accept the ExampleOrg", &statement);
    assert_eq!(
        SiweMessage::parse(&oversized).unwrap_err(),
        SiweParseError::TooLarge { len: oversized.len(), max: MAX_MESSAGE_BYTES }
    );
}

fn statement() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(
        "[A-Za-z0-9 .,:/?#@!$&'()*+;=-]{1,80}".prop_filter("not blank", |s| !s.is_empty()),
    )
}

proptest! {
    /// Rendering then parsing gives back the same message, and the text is stable.
    #[test]
    fn rendered_messages_parse_back(
        key in proptest::array::uniform20(any::<u8>()),
        statement in statement(),
        chain_id in any::<u64>(),
        nonce in "[A-Za-z0-9]{8,32}",
        issued in 0i64..4_000_000_000,
        lifetime in proptest::option::of(1i64..1_000_000),
        port in proptest::option::of(1u16..),
        resources in proptest::collection::vec("[a-z]{1,10}", 0..4),
    ) {
        let domain = match port {
            Some(port) if port != 443 => format!("app.example.org:{port}"),
            _ => "app.example.org".to_owned(),
        };
        let message = SiweMessage {
            scheme: None,
            domain: domain.clone(),
            address: alloy_primitives::Address::from(key),
            statement: statement.filter(|s| s.trim() == s && !s.is_empty()),
            uri: format!("https://{domain}/login"),
            version: "1".to_owned(),
            chain_id,
            nonce,
            issued_at: cairn_auth::Timestamp::from_unix(issued),
            expiration_time: lifetime.map(|l| cairn_auth::Timestamp::from_unix(issued + l)),
            not_before: None,
            request_id: None,
            resources: resources.iter().map(|r| format!("https://{r}.example/")).collect(),
        };
        let text = message.to_string();
        let parsed = SiweMessage::parse(&text).unwrap();
        prop_assert_eq!(&parsed, &message);
        prop_assert_eq!(parsed.to_string(), text);
    }

    /// Parsing arbitrary text never panics, and whatever parses renders to itself.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        if let Ok(message) = SiweMessage::parse(&text) {
            prop_assert_eq!(message.to_string(), text);
        }
    }
}
