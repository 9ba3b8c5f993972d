use crate::{cairn, stdout};

#[test]
fn help_lists_every_subcommand() {
    let out = cairn(&["--help"], &[]);
    assert!(out.status.success());
    let text = stdout(&out);
    for sub in [
        "dev",
        "serve",
        "index",
        "deploy",
        "provider",
        "discover",
        "login",
        "verify-batch",
        "evidence",
        "slash",
        "config",
        "store",
        "signer",
    ] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "`{sub}` missing from:\n{text}"
        );
    }
}

#[test]
fn provider_help_lists_its_subcommands() {
    let out = cairn(&["provider", "--help"], &[]);
    assert!(out.status.success());
    let text = stdout(&out);
    for sub in ["register", "add-endpoint", "remove-endpoint", "unbond", "withdraw", "serve"] {
        assert!(text.contains(sub), "`{sub}` missing from:\n{text}");
    }
}

#[test]
fn signer_help_lists_its_subcommands() {
    let out = cairn(&["signer", "--help"], &[]);
    assert!(out.status.success());
    let text = stdout(&out);
    for sub in ["init", "party", "keygen", "sign"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "`{sub}` missing from:\n{text}"
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    let out = cairn(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), format!("cairn {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let out = cairn(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
}
