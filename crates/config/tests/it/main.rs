//! Integration tests of cairn-config, one module per behaviour.

mod defaults;
mod errors;
mod layering;
mod reference;

use std::path::PathBuf;

/// Writes `text` to a config file in a fresh directory.
pub(crate) fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cairn.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

pub(crate) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}
