//! Sign-in URIs are matched by origin and path, not by text prefix.

use cairn_auth::uri_allowed;

#[test]
fn the_bare_origin_and_paths_below_the_allowed_one_pass() {
    for uri in [
        "http://127.0.0.1:8080",
        "http://127.0.0.1:8080/",
        "http://127.0.0.1:8080/login",
        "http://127.0.0.1:8080/login?next=/x#top",
    ] {
        assert!(uri_allowed(uri, "http://127.0.0.1:8080/"), "{uri} refused");
    }
    assert!(uri_allowed("https://app.example/app", "https://app.example/app"));
    assert!(uri_allowed("https://app.example/app/login", "https://app.example/app/"));
    // The default port written out is the same origin.
    assert!(uri_allowed("https://app.example:443/", "https://app.example/"));
    assert!(uri_allowed("HTTPS://APP.EXAMPLE/", "https://app.example/"));
}

#[test]
fn other_origins_that_share_a_text_prefix_are_refused() {
    for uri in [
        "https://app.example.evil.io/",
        "https://app.example@evil.io/",
        "https://user@app.example/",
        "https://user:pw@app.example/",
        "http://app.example/",
        "https://app.example:8443/",
        "https://app.exampl/",
        "wss://app.example/",
        "not a uri",
        "mailto:app.example",
    ] {
        assert!(!uri_allowed(uri, "https://app.example/"), "{uri} allowed");
    }
}

#[test]
fn paths_match_on_segment_boundaries() {
    assert!(!uri_allowed("https://app.example/application", "https://app.example/app"));
    assert!(!uri_allowed("https://app.example/", "https://app.example/app"));
    assert!(!uri_allowed("https://app.example/ap", "https://app.example/app/"));
    // Dot segments are resolved before matching, so they cannot climb out.
    assert!(!uri_allowed("https://app.example/app/../admin", "https://app.example/app/"));
}
