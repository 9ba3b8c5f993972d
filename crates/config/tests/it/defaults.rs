use cairn_config::{Config, load};

#[test]
fn no_file_and_no_environment_gives_the_defaults() {
    let config = load(None, Vec::new()).expect("defaults load");
    assert_eq!(config, Config::default());
}

#[test]
fn defaults_point_only_at_loopback() {
    let config = Config::default();
    assert!(config.service.listen.ip().is_loopback(), "listen = {}", config.service.listen);
    assert!(!config.evm.rpc_urls.is_empty());
    for url in &config.evm.rpc_urls {
        let host = url.host_str().expect("rpc url has a host");
        let ip: std::net::IpAddr = host.parse().expect("default rpc host is an IP literal");
        assert!(ip.is_loopback(), "default rpc url {url} is not loopback");
    }
    assert_eq!(config.store.url, None, "the default store is the embedded SQLite file");
}

#[test]
fn printed_configuration_loads_back_unchanged() {
    let original = load(None, crate::env(&[("CAIRN_EVM__CHAIN_ID", "10")])).unwrap();
    let (_dir, path) = crate::config_file(&original.to_toml());
    let reloaded = load(Some(&path), Vec::new()).expect("printed config loads");
    assert_eq!(reloaded, original);
}
