use cairn_service::exit;

use crate::{cairn, stderr, stdout};

fn write_config(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path.display().to_string())
}

#[test]
fn a_malformed_value_names_file_key_and_type_and_exits_2() {
    let (_dir, path) = write_config("[service]\nrequest_timeout_ms = \"soon\"\n");
    let out = cairn(&["--config", &path, "config", "check"], &[]);
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)));
    let err = stderr(&out);
    assert!(err.contains(&path), "file missing: {err}");
    assert!(err.contains("service.request_timeout_ms"), "key missing: {err}");
    assert!(err.contains("expected u64"), "type missing: {err}");
    assert!(stdout(&out).is_empty(), "nothing reported as ok");
}

#[test]
fn invalid_toml_exits_2_naming_the_file() {
    let (_dir, path) = write_config("[service\n");
    let out = cairn(&["--config", &path, "config", "show"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains(&path));
}

#[test]
fn a_bad_environment_override_names_the_variable() {
    let out = cairn(&["config", "check"], &[("CAIRN_SERVICE__LISTEN", "everywhere")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CAIRN_SERVICE__LISTEN"), "{}", stderr(&out));
}

#[test]
fn config_file_from_the_environment_is_used() {
    let (_dir, path) = write_config("[evm]\nchain_id = 7\n");
    let out = cairn(&["config", "show"], &[("CAIRN_CONFIG", &path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("chain_id = 7"), "{}", stdout(&out));
}

#[test]
fn a_missing_explicit_config_file_is_an_error() {
    let out = cairn(&["--config", "/nonexistent/cairn.toml", "config", "check"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/cairn.toml"));
}

#[test]
fn a_bad_log_filter_is_a_configuration_error() {
    let out = cairn(&["config", "check"], &[("CAIRN_LOG__FILTER", "info,,=")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("log.filter"), "{}", stderr(&out));
}

#[test]
fn a_prober_setting_below_its_minimum_stops_serve_before_it_starts() {
    let out = cairn(&["serve"], &[("CAIRN_PROBER__TIMEOUT_MS", "0")]);
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)));
    let err = stderr(&out);
    assert!(err.contains("prober.timeout_ms must be at least 1"), "{err}");
    // Turned off, the setting is not used and serve goes on (to the
    // missing deployment file here).
    let off =
        cairn(&["serve"], &[("CAIRN_PROBER__TIMEOUT_MS", "0"), ("CAIRN_PROBER__ENABLED", "false")]);
    assert!(stderr(&off).contains("deployment"), "{}", stderr(&off));
}
