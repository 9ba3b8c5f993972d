//! The transaction a range of blocks is written in. On SQLite it goes
//! through sqlx's `Any` driver, as everything else in the store does; on
//! PostgreSQL through the native driver, because the `Any` driver cannot
//! issue `COPY`: the server then skips an expression per bound value, which
//! took about a quarter off `Store::apply` there (see `copy_in`).

use sqlx::{Any, Postgres, Transaction};

use crate::{Backend, StoreError};

pub(crate) enum WriteTx {
    /// SQLite, through the `Any` driver.
    Sqlite(Transaction<'static, Any>),
    Postgres(Transaction<'static, Postgres>),
}

/// Runs `$body` with `$conn` bound to the transaction's connection, once
/// per driver: the body is written once and type-checked for each, so
/// `sqlx::query(…)` in it takes the driver from the connection it runs on.
macro_rules! with_conn {
    ($tx:expr, |$conn:ident| $body:expr) => {
        match $tx {
            $crate::write_tx::WriteTx::Sqlite(tx) => {
                let $conn: &mut sqlx::AnyConnection = &mut **tx;
                $body
            }
            $crate::write_tx::WriteTx::Postgres(tx) => {
                let $conn: &mut sqlx::PgConnection = &mut **tx;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

impl WriteTx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(tx) => tx.commit().await?,
            Self::Postgres(tx) => tx.commit().await?,
        }
        Ok(())
    }
}

/// `rows` appended to `copy` in PostgreSQL's `COPY … FROM STDIN` text
/// format: columns separated by tabs, rows ended by newlines, and in a
/// text the four characters that format gives meaning to escaped.
pub(crate) fn copy_text<'v>(copy: &mut String, row: impl IntoIterator<Item = CopyValue<'v>>) {
    use std::fmt::Write as _;
    for (column, value) in row.into_iter().enumerate() {
        if column > 0 {
            copy.push('\t');
        }
        match value {
            CopyValue::Int(n) => {
                let _ = write!(copy, "{n}");
            }
            CopyValue::Text(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => copy.push_str("\\\\"),
                        '\t' => copy.push_str("\\t"),
                        '\n' => copy.push_str("\\n"),
                        '\r' => copy.push_str("\\r"),
                        c => copy.push(c),
                    }
                }
            }
        }
    }
    copy.push('\n');
}

/// One value of a row sent through `COPY`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CopyValue<'v> {
    Int(i64),
    Text(&'v str),
}

/// Rows per chunk sent to the server: it parses one chunk while the next
/// is written out, as the multi-row statements overlap.
pub(crate) const COPY_ROWS_PER_CHUNK: usize = 512;

/// Sends `rows` into `table`'s `columns` with `COPY … FROM STDIN`, each
/// written out by `write_row` (with [`copy_text`]), in chunks of
/// [`COPY_ROWS_PER_CHUNK`]. A row that breaks a constraint fails the whole
/// `COPY`, and with it the transaction, as a failed `INSERT` would.
pub(crate) async fn copy_in<T>(
    conn: &mut sqlx::PgConnection,
    table: &str,
    columns: &str,
    rows: impl Iterator<Item = T>,
    mut write_row: impl FnMut(&mut String, T),
) -> Result<(), StoreError> {
    let mut copy = conn.copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN")).await?;
    let mut chunk = String::with_capacity(COPY_ROWS_PER_CHUNK * 256);
    let mut in_chunk = 0;
    for row in rows {
        write_row(&mut chunk, row);
        in_chunk += 1;
        if in_chunk == COPY_ROWS_PER_CHUNK {
            copy.send(chunk.as_bytes()).await?;
            chunk.clear();
            in_chunk = 0;
        }
    }
    if !chunk.is_empty() {
        copy.send(chunk.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{CopyValue, copy_text};

    #[test]
    fn copy_text_escapes_what_the_format_gives_meaning_to() {
        let mut copy = String::new();
        copy_text(
            &mut copy,
            [CopyValue::Int(-7), CopyValue::Text("a\tb\\c\nd\re"), CopyValue::Text("")],
        );
        copy_text(&mut copy, [CopyValue::Int(0), CopyValue::Text("plain"), CopyValue::Text("x")]);
        assert_eq!(copy, "-7\ta\\tb\\\\c\\nd\\re\t\n0\tplain\tx\n");
    }
}
