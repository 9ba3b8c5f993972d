//! Whether a sign-in message's URI falls under a URI the service allows.
//!
//! Matching is by parsed parts, never by text prefix: `https://app.example`
//! as a prefix would also admit `https://app.example.evil.io` and
//! `https://app.example@evil.io`, and would refuse the bare origin
//! `https://app.example` for an allowed `https://app.example/`.

use url::Url;

/// True when `uri` has the allowed URI's scheme, host and port, carries no
/// user name or password, and its path lies under the allowed path on a
/// segment boundary (`/app` admits `/app` and `/app/login`, not
/// `/application`). A bare origin has the path `/`. Query and fragment of
/// `uri` are not compared.
pub fn uri_allowed(uri: &str, allowed: &str) -> bool {
    let (Ok(uri), Ok(allowed)) = (Url::parse(uri), Url::parse(allowed)) else {
        return false;
    };
    if uri.cannot_be_a_base() || !uri.username().is_empty() || uri.password().is_some() {
        return false;
    }
    if uri.scheme() != allowed.scheme()
        || uri.host() != allowed.host()
        || uri.port_or_known_default() != allowed.port_or_known_default()
    {
        return false;
    }
    let base = allowed.path().trim_end_matches('/');
    let path = uri.path();
    path == base || path.strip_prefix(base).is_some_and(|rest| rest.starts_with('/'))
}
