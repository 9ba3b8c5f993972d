use cairn_config::load;

use crate::{config_file, env};

#[test]
fn file_overrides_defaults_and_keeps_the_rest() {
    let (_dir, path) = config_file("[evm]\nchain_id = 1\n");
    let config = load(Some(&path), Vec::new()).unwrap();
    assert_eq!(config.evm.chain_id, 1);
    assert_eq!(config.evm.finality_depth, 12, "untouched keys keep their defaults");
}

#[test]
fn environment_overrides_the_file() {
    let (_dir, path) = config_file("[evm]\nchain_id = 1\n");
    let config = load(Some(&path), env(&[("CAIRN_EVM__CHAIN_ID", "5")])).unwrap();
    assert_eq!(config.evm.chain_id, 5);
}

#[test]
fn top_level_keys_and_arrays_from_the_environment() {
    let config = load(
        None,
        env(&[
            ("CAIRN_DATA_DIR", "/var/lib/cairn"),
            ("CAIRN_EVM__RPC_URLS", r#"["http://127.0.0.1:1", "ws://127.0.0.1:2"]"#),
        ]),
    )
    .unwrap();
    assert_eq!(config.data_dir, std::path::PathBuf::from("/var/lib/cairn"));
    let urls: Vec<_> = config.evm.rpc_urls.iter().map(|u| u.as_str().to_owned()).collect();
    assert_eq!(urls, ["http://127.0.0.1:1/", "ws://127.0.0.1:2/"]);
}

#[test]
fn a_literal_given_to_a_text_key_is_taken_as_text() {
    let config = load(None, env(&[("CAIRN_LOG__FILTER", "true")])).unwrap();
    assert_eq!(config.log.filter, "true");
}

#[test]
fn database_url_sets_the_store_and_cairn_store_url_wins() {
    let config = load(None, env(&[("DATABASE_URL", "postgres://127.0.0.1/a")])).unwrap();
    assert_eq!(config.store.url.as_deref(), Some("postgres://127.0.0.1/a"));

    let config = load(
        None,
        env(&[("DATABASE_URL", "postgres://127.0.0.1/a"), ("CAIRN_STORE__URL", "sqlite://b.db")]),
    )
    .unwrap();
    assert_eq!(config.store.url.as_deref(), Some("sqlite://b.db"));
}

#[test]
fn the_config_file_variable_is_not_a_key() {
    let config = load(None, env(&[("CAIRN_CONFIG", "/elsewhere.toml")]));
    assert!(config.is_ok(), "CAIRN_CONFIG selects a file, it sets no key: {config:?}");
}

#[test]
fn relative_deployment_file_is_inside_the_data_dir() {
    let config = load(None, env(&[("CAIRN_DATA_DIR", "/d")])).unwrap();
    assert_eq!(config.deployment_path(), std::path::PathBuf::from("/d/deployment.json"));
}

#[test]
fn tool_variables_sharing_the_prefix_are_not_keys() {
    let config = load(None, env(&[("CAIRN_ROOT", "/src/cairn"), ("CAIRN_DEPLOYER_KEY", "0x00")]));
    assert_eq!(config.unwrap(), cairn_config::Config::default());
}
