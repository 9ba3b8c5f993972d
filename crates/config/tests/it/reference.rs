//! `docs/configuration.md` is the reference operators read: every key the
//! config types have is in it, and every key it names is one the loader
//! takes, so neither can drift from the other.

use std::collections::BTreeSet;

use cairn_config::{Config, load};

/// The keys named in the first column of the reference's table. A cell may
/// list several: `a.b.c`, `.d` is `a.b.c` and `a.b.d`.
fn documented() -> BTreeSet<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");
    let text = std::fs::read_to_string(path).expect("docs/configuration.md");
    let mut keys = BTreeSet::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cell = line.trim_start_matches('|').split(" | ").next().unwrap_or_default();
        let mut parent = String::new();
        for name in cell.split(", ").map(|n| n.trim().trim_matches('`')) {
            let key = match name.strip_prefix('.') {
                Some(field) => format!("{parent}.{field}"),
                None => name.to_owned(),
            };
            parent = key.rsplit_once('.').map(|(p, _)| p.to_owned()).unwrap_or_default();
            keys.insert(key);
        }
    }
    keys
}

/// Dotted paths of every value in `table` that is not itself a table.
fn leaves(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (name, value) in table {
        let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match value {
            toml::Value::Table(inner) => leaves(&key, inner, out),
            _ => {
                out.insert(key);
            }
        }
    }
}

#[test]
fn every_key_with_a_default_is_documented() {
    let defaults: toml::Table = toml::from_str(&Config::default().to_toml()).unwrap();
    let mut keys = BTreeSet::new();
    leaves("", &defaults, &mut keys);
    let documented = documented();
    // A documented table (a map such as a price list) covers what is under it.
    let undocumented: Vec<&String> = keys
        .iter()
        .filter(|key| {
            !documented.contains(*key)
                && !documented.iter().any(|d| key.starts_with(&format!("{d}.")))
        })
        .collect();
    assert!(undocumented.is_empty(), "keys missing from docs/configuration.md: {undocumented:?}");
}

#[test]
fn every_documented_key_is_one_the_loader_takes() {
    let documented = documented();
    assert!(documented.len() > 50, "the table was read: {documented:?}");
    let mut unknown = Vec::new();
    for key in &documented {
        // A value of the wrong type for any real key fails on its type; a
        // key that does not exist fails as unknown, whatever the value.
        let var = format!("CAIRN_{}", key.replace('.', "__").to_uppercase());
        match load(None, vec![(var.clone(), "[[[not a value".to_owned())]) {
            Err(error) if error.to_string().contains("unknown field") => {
                unknown.push(format!("{key}: {error}"));
            }
            _ => {}
        }
    }
    assert!(unknown.is_empty(), "documented keys the config types do not have: {unknown:#?}");
}
