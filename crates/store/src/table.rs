//! Derived tables as data: each table names its columns, key first, and
//! rows move as values in column order. One generic get/put/delete serves
//! every table, and the undo log stores rows as column → value JSON maps, so
//! a reorg restores any table without code of its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Database;

use crate::{
    StoreError,
    write_tx::{CopyValue, WriteTx, copy_in, copy_text, with_conn},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
}

/// A row: one value per column of its table, in the table's column order.
/// A key is the same for the key columns alone.
pub(crate) type Row = Vec<Value>;

#[derive(Debug)]
pub(crate) struct Table {
    pub(crate) name: &'static str,
    /// How many of the leading columns form the key (`chain` first).
    pub(crate) key_len: usize,
    pub(crate) columns: &'static [(&'static str, Kind)],
    /// Each row is written once and never changed, as the contracts rule
    /// (batch ids follow on, a batch's deltas are strictly ordered by key,
    /// a slash nonce is used once). Such rows are inserted without a
    /// conflict clause, which spares the engines the check-and-update of an
    /// upsert (PostgreSQL took about a tenth less time for a backfill); a
    /// second write of one is a broken history and fails its range instead
    /// of overwriting the first.
    pub(crate) written_once: bool,
}

use Kind::{Int, Text};

pub(crate) static PROVIDERS: Table = Table {
    name: "providers",
    key_len: 2,
    written_once: false,
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

pub(crate) static SERVICES: Table = Table {
    name: "services",
    key_len: 2,
    written_once: false,
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

pub(crate) static SLASHES: Table = Table {
    name: "slashes",
    key_len: 2,
    written_once: true,
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

pub(crate) static BALANCES: Table = Table {
    name: "balances",
    key_len: 3,
    written_once: false,
    columns: &[
        ("chain", Text),
        ("account", Text),
        ("asset", Text),
        ("balance", Text),
        ("updated_block", Int),
    ],
};

pub(crate) static PENDING_WITHDRAWALS: Table = Table {
    name: "pending_withdrawals",
    key_len: 3,
    written_once: false,
    columns: &[
        ("chain", Text),
        ("account", Text),
        ("asset", Text),
        ("amount", Text),
        ("ready_at", Int),
    ],
};

pub(crate) static BATCHES: Table = Table {
    name: "batches",
    key_len: 2,
    written_once: true,
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

pub(crate) static DELTAS: Table = Table {
    name: "deltas",
    key_len: 4,
    written_once: true,
    columns: &[
        ("chain", Text),
        ("batch_id", Int),
        ("asset", Text),
        ("account", Text),
        ("amount", Text),
    ],
};

/// Every derived table, for lookups by name and for whole-state dumps.
pub(crate) static DERIVED: [&Table; 7] =
    [&PROVIDERS, &SERVICES, &SLASHES, &BALANCES, &PENDING_WITHDRAWALS, &BATCHES, &DELTAS];

pub(crate) fn by_name(name: &str) -> Option<&'static Table> {
    DERIVED.into_iter().find(|t| t.name == name)
}

impl Table {
    pub(crate) fn key_columns(&self) -> impl Iterator<Item = &'static str> {
        self.columns[..self.key_len].iter().map(|(c, _)| *c)
    }

    pub(crate) fn key_of<'r>(&self, row: &'r [Value]) -> &'r [Value] {
        &row[..self.key_len]
    }

    /// A row from values named in column order; a name out of place is an
    /// error rather than a value written to the wrong column.
    pub(crate) fn row<const N: usize>(
        &self,
        values: [(&'static str, Value); N],
    ) -> Result<Row, StoreError> {
        if N != self.columns.len() {
            return Err(StoreError::ColumnMismatch { table: self.name, column: "(count)" });
        }
        if let Some(((name, _), _)) =
            values.iter().zip(self.columns).find(|((name, _), (column, _))| name != column)
        {
            return Err(StoreError::ColumnMismatch { table: self.name, column: name });
        }
        Ok(values.into_iter().map(|(_, value)| value).collect())
    }

    /// Where `column` sits in this table's rows.
    pub(crate) fn position(&self, column: &'static str) -> Result<usize, StoreError> {
        self.columns
            .iter()
            .position(|(c, _)| *c == column)
            .ok_or(StoreError::ColumnMismatch { table: self.name, column })
    }

    pub(crate) fn column_list(&self) -> String {
        self.columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
    }

    pub(crate) fn key_list(&self) -> String {
        self.key_columns().collect::<Vec<_>>().join(", ")
    }

    fn where_key(&self) -> String {
        self.key_columns()
            .enumerate()
            .map(|(i, k)| format!("{k} = ${}", i + 1))
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    fn updates(&self) -> String {
        self.columns[self.key_len..]
            .iter()
            .map(|(c, _)| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A row or a key as the undo log and dumps write it: column → value.
    pub(crate) fn to_json(&self, row: &[Value]) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .columns
            .iter()
            .zip(row)
            .map(|((c, _), v)| {
                ((*c).to_owned(), serde_json::to_value(v).expect("values serialize"))
            })
            .collect();
        serde_json::Value::Object(map)
    }

    /// A row, or with `key_only` a key, from its JSON form (the undo
    /// log's), every column of it present and no other.
    pub(crate) fn row_from_json(&self, text: &str, key_only: bool) -> Result<Row, String> {
        let mut parsed: BTreeMap<String, Value> =
            serde_json::from_str(text).map_err(|e| e.to_string())?;
        let wanted = if key_only { self.key_len } else { self.columns.len() };
        let row = self.columns[..wanted]
            .iter()
            .map(|(column, _)| {
                parsed.remove(*column).ok_or_else(|| format!("{} lacks column {column}", self.name))
            })
            .collect::<Result<Row, String>>()?;
        match parsed.keys().next() {
            Some(extra) => Err(format!("{} has no column {extra}", self.name)),
            None => Ok(row),
        }
    }

    pub(crate) async fn get(
        &self,
        tx: &mut WriteTx,
        key: &[Value],
    ) -> Result<Option<Row>, StoreError> {
        let sql =
            format!("SELECT {} FROM {} WHERE {}", self.column_list(), self.name, self.where_key());
        with_conn!(tx, |conn| {
            let mut query = sqlx::query(&sql);
            for value in key {
                query = bind(query, value);
            }
            let row = query.fetch_optional(&mut *conn).await?;
            row.map(|r| self.decode(&r)).transpose()
        })
    }

    /// A row of this table from a result of either driver.
    pub(crate) fn decode<'r, R: sqlx::Row>(&self, row: &'r R) -> Result<Row, StoreError>
    where
        usize: sqlx::ColumnIndex<R>,
        i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, (_, kind))| {
                Ok(match kind {
                    Kind::Int => Value::Int(row.try_get::<i64, _>(i)?),
                    Kind::Text => Value::Text(row.try_get::<String, _>(i)?),
                })
            })
            .collect()
    }

    pub(crate) async fn put(&self, tx: &mut WriteTx, row: &[Value]) -> Result<(), StoreError> {
        self.put_many(tx, &[row]).await
    }

    /// Upserts many rows of this table in few statements (inserts them, for
    /// a table written once: on PostgreSQL with `COPY`). Keys must be
    /// distinct (PostgreSQL refuses to touch one row twice in a statement).
    pub(crate) async fn put_many(
        &self,
        tx: &mut WriteTx,
        rows: &[&[Value]],
    ) -> Result<(), StoreError> {
        let backend = tx.backend();
        let per_statement = backend.rows_per_statement(self.columns.len());
        let sql = |count: usize| {
            let insert = format!(
                "INSERT INTO {} ({}) VALUES {}",
                self.name,
                self.column_list(),
                backend.value_rows(count, self.columns.len())
            );
            if self.written_once {
                insert
            } else {
                format!(
                    "{insert} ON CONFLICT ({}) DO UPDATE SET {}",
                    self.key_list(),
                    self.updates()
                )
            }
        };
        if let Some(row) = rows.iter().find(|row| row.len() != self.columns.len()) {
            return Err(StoreError::ColumnMismatch {
                table: self.name,
                column: if row.len() < self.columns.len() { "(too few)" } else { "(too many)" },
            });
        }
        if self.written_once
            && !rows.is_empty()
            && let WriteTx::Postgres(tx) = &mut *tx
        {
            let columns = self.column_list();
            return copy_in(tx, self.name, &columns, rows.iter(), |copy, row| {
                copy_text(copy, row.iter().map(Value::as_copy));
            })
            .await;
        }
        let texts = crate::BulkTexts::new(rows.len(), per_statement, sql);
        with_conn!(tx, |conn| {
            let statements = rows.chunks(per_statement).map(|chunk| {
                let mut query = sqlx::query(texts.for_rows(chunk.len()));
                for value in chunk.iter().flat_map(|row| row.iter()) {
                    query = bind(query, value);
                }
                Ok(query)
            });
            crate::execute_overlapped(&mut *conn, statements).await
        })
    }

    pub(crate) async fn delete(&self, tx: &mut WriteTx, key: &[Value]) -> Result<(), StoreError> {
        let sql = format!("DELETE FROM {} WHERE {}", self.name, self.where_key());
        with_conn!(tx, |conn| {
            let mut query = sqlx::query(&sql);
            for value in key {
                query = bind(query, value);
            }
            query.execute(&mut *conn).await?;
        });
        Ok(())
    }
}

impl Value {
    fn as_copy(&self) -> CopyValue<'_> {
        match self {
            Value::Int(i) => CopyValue::Int(*i),
            Value::Text(s) => CopyValue::Text(s),
        }
    }
}

/// Binds by reference: the statement borrows the row instead of copying it.
pub(crate) fn bind<'q, DB: Database>(
    query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>,
    value: &'q Value,
) -> sqlx::query::Query<'q, DB, <DB as Database>::Arguments<'q>>
where
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    match value {
        Value::Int(i) => query.bind(*i),
        Value::Text(s) => query.bind(s.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::{BALANCES, DELTAS, Value};
    use crate::StoreError;

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    #[test]
    fn a_row_must_name_every_column_in_order() {
        let row = BALANCES
            .row([
                ("chain", text("c")),
                ("account", text("a")),
                ("asset", text("t")),
                ("balance", text("1")),
                ("updated_block", Value::Int(7)),
            ])
            .unwrap();
        assert_eq!(BALANCES.key_of(&row), &[text("c"), text("a"), text("t")]);
        let swapped = BALANCES.row([
            ("chain", text("c")),
            ("asset", text("t")),
            ("account", text("a")),
            ("balance", text("1")),
            ("updated_block", Value::Int(7)),
        ]);
        assert!(matches!(
            swapped,
            Err(StoreError::ColumnMismatch { table: "balances", column: "asset" })
        ));
        let short = BALANCES.row([("chain", text("c"))]);
        assert!(matches!(short, Err(StoreError::ColumnMismatch { table: "balances", .. })));
    }

    #[test]
    fn rows_and_keys_round_trip_through_the_undo_logs_json() {
        let row = vec![text("c"), Value::Int(3), text("t"), text("a"), text("-5")];
        let json = DELTAS.to_json(&row).to_string();
        assert_eq!(DELTAS.row_from_json(&json, false).unwrap(), row);
        let key = DELTAS.to_json(DELTAS.key_of(&row)).to_string();
        assert_eq!(DELTAS.row_from_json(&key, true).unwrap(), &row[..4]);
        // A key is not a whole row, and a row is not a key.
        assert!(DELTAS.row_from_json(&key, false).unwrap_err().contains("lacks column amount"));
        assert!(DELTAS.row_from_json(&json, true).unwrap_err().contains("no column amount"));
        assert!(DELTAS.row_from_json("[1]", true).is_err());
    }
}
