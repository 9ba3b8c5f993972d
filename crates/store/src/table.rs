//! Derived tables as data: each table names its key and value columns, and
//! rows move as column → value maps. One generic get/put/delete serves every
//! table, and the undo log stores the same maps as JSON, so a reorg restores
//! any table without code of its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::{Any, Row as _, Transaction, any::AnyRow};

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
}

/// A row by column name; the names are the table's own static ones, so a
/// row costs no allocation per column.
pub(crate) type Row = BTreeMap<&'static str, Value>;

#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    /// Key columns, `chain` first.
    pub(crate) key: &'static [&'static str],
    pub(crate) columns: &'static [(&'static str, Kind)],
}

use Kind::{Int, Text};

pub(crate) const PROVIDERS: Table = Table {
    name: "providers",
    key: &["chain", "provider"],
    columns: &[
        ("chain", Text),
        ("provider", Text),
        ("operator", Text),
        ("stake", Text),
        ("unbonding", Text),
        ("release_at", Int),
        ("registered_block", Int),
        ("registered_tx", Text),
        ("updated_block", Int),
    ],
};

pub(crate) const SERVICES: Table = Table {
    name: "services",
    key: &["chain", "service_id"],
    columns: &[
        ("chain", Text),
        ("service_id", Text),
        ("provider", Text),
        ("service_chain", Text),
        ("kind", Text),
        ("url", Text),
        ("metadata_hash", Text),
        ("added_block", Int),
        ("added_tx", Text),
    ],
};

pub(crate) const SLASHES: Table = Table {
    name: "slashes",
    key: &["chain", "nonce"],
    columns: &[
        ("chain", Text),
        ("nonce", Text),
        ("provider", Text),
        ("amount", Text),
        ("reason", Int),
        ("evidence_hash", Text),
        ("receipt_id", Text),
        ("block_number", Int),
        ("tx_hash", Text),
    ],
};

pub(crate) const BALANCES: Table = Table {
    name: "balances",
    key: &["chain", "account", "asset"],
    columns: &[
        ("chain", Text),
        ("account", Text),
        ("asset", Text),
        ("balance", Text),
        ("updated_block", Int),
    ],
};

pub(crate) const PENDING_WITHDRAWALS: Table = Table {
    name: "pending_withdrawals",
    key: &["chain", "account", "asset"],
    columns: &[
        ("chain", Text),
        ("account", Text),
        ("asset", Text),
        ("amount", Text),
        ("ready_at", Int),
    ],
};

pub(crate) const BATCHES: Table = Table {
    name: "batches",
    key: &["chain", "batch_id"],
    columns: &[
        ("chain", Text),
        ("batch_id", Int),
        ("commitment_hash", Text),
        ("intents_root", Text),
        ("deltas_root", Text),
        ("receipt_id", Text),
        ("window_start", Int),
        ("window_end", Int),
        ("intent_count", Int),
        ("delta_count", Int),
        ("block_number", Int),
        ("tx_hash", Text),
    ],
};

pub(crate) const DELTAS: Table = Table {
    name: "deltas",
    key: &["chain", "batch_id", "asset", "account"],
    columns: &[
        ("chain", Text),
        ("batch_id", Int),
        ("account", Text),
        ("asset", Text),
        ("amount", Text),
    ],
};

/// Every derived table, for lookups by name and for whole-state dumps.
pub(crate) const DERIVED: [&Table; 7] =
    [&PROVIDERS, &SERVICES, &SLASHES, &BALANCES, &PENDING_WITHDRAWALS, &BATCHES, &DELTAS];

pub(crate) fn by_name(name: &str) -> Option<&'static Table> {
    DERIVED.into_iter().find(|t| t.name == name)
}

impl Table {
    fn kind_of(&self, column: &str) -> Kind {
        self.columns
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, k)| *k)
            .expect("column of this table")
    }

    pub(crate) fn key_of(&self, row: &Row) -> Row {
        self.key.iter().map(|k| (*k, row[*k].clone())).collect()
    }

    fn column_list(&self) -> String {
        self.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }

    fn where_key(&self, first_param: usize) -> String {
        self.key
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} = ${}", first_param + i))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// A row of this table from its JSON form (the undo log's), its column
    /// names matched to the table's.
    pub(crate) fn row_from_json(&self, text: &str) -> Result<Row, String> {
        let parsed: BTreeMap<String, Value> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        parsed
            .into_iter()
            .map(|(name, value)| {
                let column = self
                    .columns
                    .iter()
                    .map(|(c, _)| *c)
                    .find(|c| *c == name)
                    .ok_or_else(|| format!("{} has no column {name}", self.name))?;
                Ok((column, value))
            })
            .collect()
    }

    pub(crate) async fn get(
        &self,
        tx: &mut Transaction<'_, Any>,
        key: &Row,
    ) -> Result<Option<Row>, StoreError> {
        let sql =
            format!("SELECT {} FROM {} WHERE {}", self.column_list(), self.name, self.where_key(1));
        let mut query = sqlx::query(&sql);
        for k in self.key {
            query = bind(query, &key[*k]);
        }
        let row = query.fetch_optional(&mut **tx).await?;
        row.map(|r| self.decode(&r)).transpose()
    }

    pub(crate) fn decode(&self, row: &AnyRow) -> Result<Row, StoreError> {
        let mut out = Row::new();
        for (i, (column, kind)) in self.columns.iter().enumerate() {
            let value = match kind {
                Kind::Int => Value::Int(row.try_get::<i64, _>(i)?),
                Kind::Text => Value::Text(row.try_get::<String, _>(i)?),
            };
            out.insert(*column, value);
        }
        Ok(out)
    }

    pub(crate) async fn put(
        &self,
        tx: &mut Transaction<'_, Any>,
        row: &Row,
    ) -> Result<(), StoreError> {
        let placeholders: Vec<String> = (1..=self.columns.len()).map(|i| format!("${i}")).collect();
        let updates: Vec<String> = self
            .columns
            .iter()
            .filter(|(c, _)| !self.key.contains(c))
            .map(|(c, _)| format!("{c} = excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
            self.name,
            self.column_list(),
            placeholders.join(", "),
            self.key.join(", "),
            updates.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for (column, kind) in self.columns {
            let value =
                row.get(*column).ok_or(StoreError::MissingColumn { table: self.name, column })?;
            debug_assert_eq!(self.kind_of(column), *kind);
            query = bind(query, value);
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }

    /// Upserts many rows of this table in few statements. Keys must be
    /// distinct (PostgreSQL refuses to touch one row twice in a statement).
    pub(crate) async fn put_many(
        &self,
        tx: &mut Transaction<'_, Any>,
        rows: &[&Row],
        backend: crate::Backend,
    ) -> Result<(), StoreError> {
        let per_statement = (backend.max_parameters() / self.columns.len()).max(1);
        let updates: Vec<String> = self
            .columns
            .iter()
            .filter(|(c, _)| !self.key.contains(c))
            .map(|(c, _)| format!("{c} = excluded.{c}"))
            .collect();
        for chunk in rows.chunks(per_statement) {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
                self.name,
                self.column_list(),
                backend.value_rows(chunk.len(), self.columns.len()),
                self.key.join(", "),
                updates.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for row in chunk {
                for (column, _) in self.columns {
                    let value = row
                        .get(*column)
                        .ok_or(StoreError::MissingColumn { table: self.name, column })?;
                    query = bind(query, value);
                }
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub(crate) async fn delete(
        &self,
        tx: &mut Transaction<'_, Any>,
        key: &Row,
    ) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE {}", self.name, self.where_key(1));
        let mut query = sqlx::query(&sql);
        for k in self.key {
            query = bind(query, &key[*k]);
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }
}

pub(crate) fn bind<'q>(
    query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    value: &Value,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    match value {
        Value::Int(i) => query.bind(*i),
        Value::Text(s) => query.bind(s.clone()),
    }
}
