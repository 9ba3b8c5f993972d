//! Layering: defaults, then the TOML file, then `CAIRN_*` variables.

use std::{
    collections::BTreeMap,
    ffi::OsString,
    fmt,
    path::{Path, PathBuf},
};

use toml::{Table, Value};

use crate::{Config, ConfigError};

/// Prefix of the variables that override keys: `CAIRN_EVM__CHAIN_ID` sets
/// `evm.chain_id` (a double underscore separates sections).
pub const ENV_PREFIX: &str = "CAIRN_";

/// Names the configuration file instead of a key.
pub const CONFIG_FILE_VAR: &str = "CAIRN_CONFIG";

/// Conventional variable for the database; `CAIRN_STORE__URL` wins over it.
pub const DATABASE_URL_VAR: &str = "DATABASE_URL";

/// Where a value came from, so an error can point at the line to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("the built-in defaults"),
            Self::File(path) => write!(f, "file {}", path.display()),
            Self::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

struct EnvOverride {
    var: String,
    path: Vec<String>,
    raw: String,
    /// Whether `raw` was read as a TOML literal (number, bool, array…)
    /// rather than taken as plain text.
    typed: bool,
}

/// Loads the configuration of this process: `file` if given, then the
/// process environment.
pub fn load_from_env(file: Option<&Path>) -> Result<Config, ConfigError> {
    let mut vars = Vec::new();
    for (key, value) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if !key.starts_with(ENV_PREFIX) && key != DATABASE_URL_VAR {
            continue;
        }
        let value = value
            .into_string()
            .map_err(|_: OsString| ConfigError::NonUnicodeEnv { var: key.to_owned() })?;
        vars.push((key.to_owned(), value));
    }
    load(file, vars)
}

/// Loads a configuration from an optional file and an explicit set of
/// environment variables (tests pass their own).
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigError> {
    let mut table = match file {
        Some(path) => read_file(path)?,
        None => Table::new(),
    };

    let overrides = env_overrides(env)?;
    for o in &overrides {
        set_path(&mut table, &o.path, o.value());
    }

    // An override like `CAIRN_LOG__FILTER=true` is read as a bool; where the
    // key wants text, it is taken literally and the load retried. Should the
    // text fail too, the first error is the one that explains the problem.
    let mut retried: Vec<(&EnvOverride, ConfigError)> = Vec::new();
    loop {
        let err = match serde_path_to_error::deserialize::<_, Config>(Value::Table(table.clone())) {
            Ok(config) => return Ok(config),
            Err(err) => err,
        };
        let key = err.path().to_string();
        if let Some(pos) = retried.iter().position(|(o, _)| o.path.join(".") == key) {
            return Err(retried.swap_remove(pos).1);
        }
        let error = ConfigError::Invalid {
            origin: origin_of(&key, &overrides, file),
            message: first_line(&err.inner().to_string()),
            key: key.clone(),
        };
        match overrides.iter().find(|o| o.typed && o.path.join(".") == key) {
            Some(o) => {
                set_path(&mut table, &o.path, Value::String(o.raw.clone()));
                retried.push((o, error));
            }
            None => return Err(error),
        }
    }
}

/// The value deserializer appends "in `key`" on a second line; the key is
/// reported separately.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().trim_end().to_owned()
}

fn read_file(path: &Path) -> Result<Table, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    text.parse::<Table>().map_err(|err| ConfigError::Syntax {
        path: path.to_owned(),
        message: err.to_string().trim_end().to_owned(),
    })
}

fn env_overrides(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<EnvOverride>, ConfigError> {
    let mut by_var: BTreeMap<String, String> = env.into_iter().collect();
    let database_url = by_var.remove(DATABASE_URL_VAR);
    let mut overrides = Vec::new();
    if let Some(url) = database_url {
        overrides.push(EnvOverride {
            var: DATABASE_URL_VAR.to_owned(),
            path: vec!["store".to_owned(), "url".to_owned()],
            raw: url,
            typed: false,
        });
    }
    let top_level = top_level_keys();
    for (var, raw) in by_var {
        let Some(rest) = var.strip_prefix(ENV_PREFIX) else { continue };
        if var == CONFIG_FILE_VAR {
            continue;
        }
        // Tools share the prefix (CAIRN_DEPLOYER_KEY, CAIRN_ROOT, …). A variable
        // names a key when it has a section separator, which makes a typo in
        // it an error, or when it is a top-level key such as CAIRN_DATA_DIR.
        if !rest.contains("__") && !top_level.contains(&rest.to_ascii_lowercase()) {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::BadEnvName { var });
        }
        let typed = parse_literal(&raw).is_some();
        overrides.push(EnvOverride { var, path, raw, typed });
    }
    // CAIRN_STORE__URL comes after DATABASE_URL and so takes precedence.
    Ok(overrides)
}

/// Names of the top-level keys, read off the configuration's own shape.
fn top_level_keys() -> Vec<String> {
    match Value::try_from(Config::default()) {
        Ok(Value::Table(table)) => table.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

impl EnvOverride {
    fn value(&self) -> Value {
        if self.typed {
            parse_literal(&self.raw).unwrap_or_else(|| Value::String(self.raw.clone()))
        } else {
            Value::String(self.raw.clone())
        }
    }
}

/// Reads `raw` as a TOML value (`42`, `true`, `["a", "b"]`, `"text"`), or
/// `None` where it is not one and so is plain text.
fn parse_literal(raw: &str) -> Option<Value> {
    let mut doc: Table = format!("v = {raw}").parse().ok()?;
    doc.remove("v")
}

fn set_path(table: &mut Table, path: &[String], value: Value) {
    let (last, parents) = path.split_last().expect("an override path has at least one segment");
    let mut current = table;
    for segment in parents {
        let entry = current.entry(segment.clone()).or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        current = entry.as_table_mut().expect("just made a table");
    }
    current.insert(last.clone(), value);
}

fn origin_of(key: &str, overrides: &[EnvOverride], file: Option<&Path>) -> Origin {
    // The last override wins when two name the same key, as in `set_path`.
    let from_env = overrides.iter().rev().find(|o| {
        let path = o.path.join(".");
        key == path || key.starts_with(&format!("{path}.")) || key.starts_with(&format!("{path}["))
    });
    match (from_env, file) {
        (Some(o), _) => Origin::Env(o.var.clone()),
        (None, Some(path)) => Origin::File(path.to_owned()),
        (None, None) => Origin::Default,
    }
}
