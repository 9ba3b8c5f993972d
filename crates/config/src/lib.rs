#![doc = include_str!("../README.md")]

mod load;
mod model;
mod parse;

use std::path::PathBuf;

pub use load::{CONFIG_FILE_VAR, DATABASE_URL_VAR, ENV_PREFIX, Origin, load, load_from_env};
pub use model::{
    ArweaveConfig, AuthConfig, AuthDomain, ClientConfig, Config, EvmConfig, GatewayConfig,
    HedgingConfig, IcpConfig, IndexerConfig, LogConfig, LogFormat, MeteringConfig, PricingConfig,
    ProberConfig, QuorumConfig, RateLimitConfig, ServiceConfig, SettlementConfig, SignerKind,
    SlashingConfig, StoreConfig, ThresholdConfig,
};

/// Why a configuration could not be loaded. Every variant names where the
/// bad input is: the file, the key, or the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("invalid configuration: key `{key}` in {origin}: {message}")]
    Invalid { key: String, origin: Origin, message: String },
    #[error(
        "environment variable {var} does not name a configuration key (use CAIRN_SECTION__KEY)"
    )]
    BadEnvName { var: String },
    #[error("environment variable {var} is not valid UTF-8")]
    NonUnicodeEnv { var: String },
}

impl Config {
    /// The configuration as TOML, as `cairn config show` prints it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the configuration types always serialize")
    }
}
