use cairn_config::{ConfigError, Origin, load};

use crate::{config_file, env};

fn invalid(result: Result<cairn_config::Config, ConfigError>) -> (String, Origin, String) {
    match result {
        Err(ConfigError::Invalid { key, origin, message }) => (key, origin, message),
        other => panic!("expected an Invalid error, got {other:?}"),
    }
}

#[test]
fn wrong_type_in_the_file_names_file_key_and_expected_type() {
    let (_dir, path) = config_file("[evm]\nchain_id = \"one\"\n");
    let err = load(Some(&path), Vec::new()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("`evm.chain_id`"), "{text}");
    assert!(text.contains("expected u64"), "{text}");
    let (key, origin, _) = invalid(Err(err));
    assert_eq!(key, "evm.chain_id");
    assert_eq!(origin, Origin::File(path));
}

#[test]
fn a_bad_socket_address_says_what_one_looks_like() {
    let (_dir, path) = config_file("[service]\nlisten = \"localhost\"\n");
    let (key, _, message) = invalid(load(Some(&path), Vec::new()));
    assert_eq!(key, "service.listen");
    assert!(message.contains("expected a socket address"), "{message}");
}

#[test]
fn unknown_keys_are_refused_by_name() {
    let (_dir, path) = config_file("[service]\nlistn = \"127.0.0.1:1\"\n");
    let (key, _, message) = invalid(load(Some(&path), Vec::new()));
    assert_eq!(key, "service.listn");
    assert!(message.contains("expected one of `listen`"), "{message}");

    let (key, _, _) = invalid(load(None, env(&[("CAIRN_SERVCE__LISTEN", "127.0.0.1:1")])));
    assert_eq!(key, "servce");
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let (_dir, path) = config_file("[evm]\nchain_id = 1\n");
    let (key, origin, message) = invalid(load(Some(&path), env(&[("CAIRN_EVM__CHAIN_ID", "abc")])));
    assert_eq!(key, "evm.chain_id");
    assert_eq!(origin, Origin::Env("CAIRN_EVM__CHAIN_ID".into()));
    assert!(message.contains("expected u64"), "{message}");
}

#[test]
fn rpc_urls_must_be_a_non_empty_list_of_http_or_ws_urls() {
    for bad in ["[]", r#"["ftp://127.0.0.1"]"#, r#"["not a url"]"#, r#""http://127.0.0.1""#] {
        let (key, _, message) = invalid(load(None, env(&[("CAIRN_EVM__RPC_URLS", bad)])));
        assert_eq!(key, "evm.rpc_urls", "for {bad}");
        assert!(!message.contains("string \"[]\""), "the typed error is kept: {message}");
    }
}

#[test]
fn a_toml_syntax_error_names_the_file_and_line() {
    let (_dir, path) = config_file("[evm]\nchain_id = \n");
    match load(Some(&path), Vec::new()) {
        Err(ConfigError::Syntax { path: p, message }) => {
            assert_eq!(p, path);
            assert!(message.contains("line 2"), "{message}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn a_missing_file_is_an_error_not_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.toml");
    assert!(matches!(load(Some(&path), Vec::new()), Err(ConfigError::Read { .. })));
}

#[test]
fn an_empty_section_in_a_variable_name_is_refused() {
    let err = load(None, env(&[("CAIRN_EVM____CHAIN_ID", "1")])).unwrap_err();
    assert!(matches!(err, ConfigError::BadEnvName { ref var } if var == "CAIRN_EVM____CHAIN_ID"));
}
