//! Applies chain events to the derived tables inside the batch's
//! transaction, recording the previous image of every row that a block not
//! yet final changes, so a reorg can restore it.

use std::collections::HashMap;

use alloy_primitives::map::HashMap as FastHashMap;

use crate::{
    StoreError, amount_text,
    events::{ChainEvent, EventRecord},
    hash_text,
    table::{self, Row as TableRow, Table, Value},
    write_tx::{CopyValue, WriteTx, copy_in, copy_text, with_conn},
};

pub(crate) struct Writer<'a> {
    /// Lent out while the events are inserted and the derived rows of a
    /// buffered batch are worked out beside them.
    tx: Option<&'a mut WriteTx>,
    chain: String,
    finalized: u64,
    /// The undo log's next sequence number, read on the first undo entry:
    /// a range wholly below finality (a backfill) writes none.
    next_undo: Option<i64>,
    /// For batches wholly below finality (backfill): row changes are kept
    /// here, last one per key, and written in bulk by [`Writer::flush`].
    /// Nothing needs undoing there, so only the final image matters.
    /// Hashed with foldhash: SipHash took most of the map's time, and the
    /// map is seeded at random all the same.
    buffer: Option<FastHashMap<(&'static str, String), Change>>,
    /// The buffer's rows grouped and sorted for [`Writer::flush`], once
    /// every record of the batch is in it.
    sorted: Option<Vec<TableWrites>>,
}

/// What a buffered batch leaves in one derived table: upserts in key order
/// (the engines then append to their indexes instead of splitting pages all
/// over them), each beside its buffer key, and deleted keys.
struct TableWrites {
    table: &'static Table,
    kept: Vec<(String, TableRow)>,
    deleted: Vec<TableRow>,
}

/// Records applied (or buffered rows sorted) between two yields to the
/// statements being written beside them: about a tenth of the time the
/// engine takes for one bulk statement, so the next one is sent soon after
/// the last finishes.
const RECORDS_PER_YIELD: usize = 64;

/// The final state of one buffered row.
struct Change {
    table: &'static Table,
    /// The whole row, or only its key when `deleted`.
    row: TableRow,
    deleted: bool,
}

fn text(value: impl Into<String>) -> Value {
    Value::Text(value.into())
}

impl<'a> Writer<'a> {
    pub(crate) fn new(tx: &'a mut WriteTx, chain: &str, finalized: u64, buffered: bool) -> Self {
        let buffer = buffered.then(FastHashMap::default);
        Self {
            tx: Some(tx),
            chain: chain.to_owned(),
            finalized,
            next_undo: None,
            buffer,
            sorted: None,
        }
    }

    fn tx(&mut self) -> Result<&mut WriteTx, StoreError> {
        self.tx
            .as_deref_mut()
            .ok_or(StoreError::Internal("a derived row was read while the events were inserted"))
    }

    /// Writes `records` and their effects on the derived rows. In a buffered
    /// batch, the derived rows are worked out while the database inserts the
    /// events, as far as the rows they read are already in the buffer (all
    /// of them, in a range that registers what it updates); the rest follow
    /// once the transaction is free again.
    pub(crate) async fn write(&mut self, records: &[EventRecord]) -> Result<(), StoreError> {
        if self.sorted.is_some() {
            return Err(StoreError::Internal("a batch was written after its rows were sorted"));
        }
        let mut applied = 0;
        let tx = self.tx.take().ok_or(StoreError::Internal("the transaction is lent out"))?;
        let chain = self.chain.clone();
        if self.buffer.is_some() {
            let (inserted, derived) =
                tokio::join!(insert_events(&mut *tx, &chain, records), async {
                    let applied = self.apply_from_buffer(records).await?;
                    if applied == records.len() {
                        self.sort_buffer().await?;
                    }
                    Ok::<_, StoreError>(applied)
                });
            self.tx = Some(tx);
            inserted?;
            applied = derived?;
        } else {
            let inserted = insert_events(&mut *tx, &chain, records).await;
            self.tx = Some(tx);
            inserted?;
        }
        for record in &records[applied..] {
            self.apply(record).await?;
        }
        Ok(())
    }

    /// Applies records in order while every row one reads is in the buffer;
    /// returns how many it applied. Each record reads before it writes, so
    /// stopping at one leaves nothing of it half done.
    ///
    /// It runs beside the events' statements in one task, so it yields now
    /// and then to let the next statement go out as soon as the database
    /// is done with the last.
    async fn apply_from_buffer(&mut self, records: &[EventRecord]) -> Result<usize, StoreError> {
        for (applied, record) in records.iter().enumerate() {
            if applied % RECORDS_PER_YIELD == RECORDS_PER_YIELD - 1 {
                tokio::task::yield_now().await;
            }
            if let Some((table, key)) = self.row_read_by(record)
                && !self
                    .buffer
                    .as_ref()
                    .is_some_and(|b| b.contains_key(&Self::buffer_key(table, &key)))
            {
                return Ok(applied);
            }
            self.apply(record).await?;
        }
        Ok(records.len())
    }

    /// The derived row `apply` reads for `record`, if any: it must match
    /// what `apply` does (a read it does not name fails the batch with
    /// `StoreError::Internal` rather than going unseen).
    fn row_read_by(&self, record: &EventRecord) -> Option<(&'static Table, TableRow)> {
        match &record.event {
            ChainEvent::StakeAdded { provider, .. }
            | ChainEvent::OperatorChanged { provider, .. }
            | ChainEvent::UnbondStarted { provider, .. }
            | ChainEvent::Withdrawn { provider, .. }
            | ChainEvent::Slashed { provider, .. } => {
                Some((&table::PROVIDERS, self.key([text(provider)])))
            }
            ChainEvent::ServiceRemoved { service_id, .. } => {
                Some((&table::SERVICES, self.key([text(hash_text(service_id))])))
            }
            ChainEvent::ProviderRegistered { .. }
            | ChainEvent::ServiceAdded { .. }
            | ChainEvent::Deposited { .. }
            | ChainEvent::BalanceChanged { .. }
            | ChainEvent::WithdrawalRequested { .. }
            | ChainEvent::BalanceWithdrawn { .. }
            | ChainEvent::BatchSettled { .. }
            | ChainEvent::Rejected { .. } => None,
        }
    }

    /// Groups the buffered rows by table and sorts each table's by key,
    /// yielding between tables and long sorts (see `apply_from_buffer`).
    async fn sort_buffer(&mut self) -> Result<(), StoreError> {
        let Some(buffer) = self.buffer.take() else { return Ok(()) };
        let mut writes: Vec<TableWrites> = table::DERIVED
            .iter()
            .map(|&table| TableWrites { table, kept: Vec::new(), deleted: Vec::new() })
            .collect();
        for ((_, key), change) in buffer {
            // A row of a table the flush does not know would be lost.
            let writes = writes
                .iter_mut()
                .find(|w| w.table.name == change.table.name)
                .ok_or(StoreError::Internal("a buffered row belongs to no derived table"))?;
            if change.deleted {
                writes.deleted.push(change.row);
            } else {
                writes.kept.push((key, change.row));
            }
        }
        for writes in &mut writes {
            let long = writes.kept.len() > RECORDS_PER_YIELD * 4;
            // Buffer keys sort as the keys do (see `buffer_key`), in one
            // comparison of bytes instead of one per column.
            writes.kept.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            if long {
                tokio::task::yield_now().await;
            }
        }
        self.sorted = Some(writes);
        Ok(())
    }

    /// Writes the buffered rows: one multi-row upsert per table and chunk.
    pub(crate) async fn flush(&mut self) -> Result<(), StoreError> {
        if self.buffer.is_some() {
            self.sort_buffer().await?;
        }
        let Some(writes) = self.sorted.take() else { return Ok(()) };
        for TableWrites { table, kept, deleted } in writes {
            let rows: Vec<&[Value]> = kept.iter().map(|(_, row)| row.as_slice()).collect();
            table.put_many(self.tx()?, &rows).await?;
            for key in deleted {
                table.delete(self.tx()?, &key).await?;
            }
        }
        Ok(())
    }

    /// A key's columns in order, joined: unambiguous because key values
    /// never hold the separator (addresses, hashes, numbers). Integers are
    /// written as 16 hex digits with the sign bit flipped, so joined keys
    /// sort as the keys themselves do: the separator sorts below every
    /// character a text holds, so a text sorts before the longer ones it
    /// begins.
    fn buffer_key(table: &Table, key: &[Value]) -> (&'static str, String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut joined = String::with_capacity(128);
        for value in key {
            match value {
                Value::Int(n) => {
                    let ordered = (*n as u64) ^ (1 << 63);
                    for shift in (0..16).rev() {
                        joined.push(char::from(HEX[((ordered >> (shift * 4)) & 0xf) as usize]));
                    }
                }
                Value::Text(text) => joined.push_str(text),
            }
            joined.push('\u{1f}');
        }
        (table.name, joined)
    }

    /// A row as this batch has left it so far.
    async fn read(
        &mut self,
        table: &'static Table,
        key: &[Value],
    ) -> Result<Option<TableRow>, StoreError> {
        if let Some(buffer) = &self.buffer
            && let Some(change) = buffer.get(&Self::buffer_key(table, key))
        {
            return Ok((!change.deleted).then(|| change.row.clone()));
        }
        table.get(self.tx()?, key).await
    }

    /// The key of `table` on this chain with the rest of its columns.
    fn key<const N: usize>(&self, parts: [Value; N]) -> TableRow {
        std::iter::once(text(&self.chain)).chain(parts).collect()
    }

    async fn remember(
        &mut self,
        table: &Table,
        key: &[Value],
        block: u64,
    ) -> Result<(), StoreError> {
        if block <= self.finalized {
            return Ok(());
        }
        let old = table.get(self.tx()?, key).await?;
        let chain = self.chain.clone();
        let seq = match self.next_undo {
            Some(seq) => seq,
            None => {
                let last: Option<i64> = with_conn!(self.tx()?, |conn| {
                    sqlx::query_scalar("SELECT MAX(seq) FROM undo_log WHERE chain = $1")
                        .bind(chain.as_str())
                        .fetch_one(&mut *conn)
                        .await?
                });
                last.unwrap_or(0) + 1
            }
        };
        let (key, old) =
            (table.to_json(key).to_string(), old.map(|row| table.to_json(&row).to_string()));
        with_conn!(self.tx()?, |conn| {
            sqlx::query(
                "INSERT INTO undo_log (chain, seq, block_number, table_name, row_key, old_row) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(chain.as_str())
            .bind(seq)
            .bind(block as i64)
            .bind(table.name)
            .bind(key.as_str())
            .bind(old.as_deref())
            .execute(&mut *conn)
            .await?;
        });
        self.next_undo = Some(seq + 1);
        Ok(())
    }

    async fn put(
        &mut self,
        table: &'static Table,
        row: TableRow,
        block: u64,
    ) -> Result<(), StoreError> {
        if let Some(buffer) = &mut self.buffer {
            let key = Self::buffer_key(table, table.key_of(&row));
            let change = Change { table, row, deleted: false };
            if let Some(first) = buffer.insert(key, change)
                && table.written_once
            {
                return Err(StoreError::WrittenTwice {
                    table: table.name,
                    key: format!("{:?}", table.key_of(&first.row)),
                });
            }
            return Ok(());
        }
        self.remember(table, table.key_of(&row), block).await?;
        table.put(self.tx()?, &row).await
    }

    async fn delete(
        &mut self,
        table: &'static Table,
        key: TableRow,
        block: u64,
    ) -> Result<(), StoreError> {
        if let Some(buffer) = &mut self.buffer {
            buffer.insert(Self::buffer_key(table, &key), Change { table, row: key, deleted: true });
            return Ok(());
        }
        self.remember(table, &key, block).await?;
        table.delete(self.tx()?, &key).await
    }

    /// Reads a row an event updates; it must exist.
    async fn existing(
        &mut self,
        table: &'static Table,
        key: TableRow,
        record: &EventRecord,
    ) -> Result<TableRow, StoreError> {
        self.read(table, &key).await?.ok_or_else(|| StoreError::Inconsistent {
            block: record.block_number,
            log: record.log_index,
            what: format!("{} {:?}", table.name, key),
        })
    }

    pub(crate) async fn apply(&mut self, record: &EventRecord) -> Result<(), StoreError> {
        let block = record.block_number;
        let chain = text(&self.chain);
        match &record.event {
            ChainEvent::ProviderRegistered { provider, operator, stake } => {
                let row = table::PROVIDERS.row([
                    ("chain", chain),
                    ("provider", text(provider)),
                    ("operator", text(operator)),
                    ("stake", text(amount_text(stake))),
                    ("unbonding", text(amount_text(&Default::default()))),
                    ("release_at", Value::Int(0)),
                    ("registered_block", Value::Int(block as i64)),
                    ("registered_tx", text(&record.tx_hash)),
                    ("updated_block", Value::Int(block as i64)),
                ])?;
                self.put(&table::PROVIDERS, row, block).await
            }
            ChainEvent::StakeAdded { provider, stake, .. } => {
                self.update_provider(record, provider, &[("stake", text(amount_text(stake)))]).await
            }
            ChainEvent::OperatorChanged { provider, operator } => {
                self.update_provider(record, provider, &[("operator", text(operator))]).await
            }
            ChainEvent::UnbondStarted { provider, stake, unbonding, release_at, .. } => {
                let values = [
                    ("stake", text(amount_text(stake))),
                    ("unbonding", text(amount_text(unbonding))),
                    ("release_at", Value::Int(*release_at as i64)),
                ];
                self.update_provider(record, provider, &values).await
            }
            ChainEvent::Withdrawn { provider, exited, .. } => {
                if *exited {
                    let key = self.key([text(provider)]);
                    self.existing(&table::PROVIDERS, key.clone(), record).await?;
                    self.delete(&table::PROVIDERS, key, block).await
                } else {
                    let values = [
                        ("unbonding", text(amount_text(&Default::default()))),
                        ("release_at", Value::Int(0)),
                    ];
                    self.update_provider(record, provider, &values).await
                }
            }
            ChainEvent::Slashed {
                provider,
                nonce,
                amount,
                reason,
                evidence_hash,
                receipt_id,
                stake,
                unbonding,
            } => {
                // The provider first: it is read, and every record reads
                // before it writes (see `apply_from_buffer`).
                let mut values = vec![
                    ("stake", text(amount_text(stake))),
                    ("unbonding", text(amount_text(unbonding))),
                ];
                if unbonding.is_zero() {
                    values.push(("release_at", Value::Int(0)));
                }
                self.update_provider(record, provider, &values).await?;
                let row = table::SLASHES.row([
                    ("chain", chain),
                    ("nonce", text(amount_text(nonce))),
                    ("provider", text(provider)),
                    ("amount", text(amount_text(amount))),
                    ("reason", Value::Int(i64::from(*reason))),
                    ("evidence_hash", text(hash_text(evidence_hash))),
                    ("receipt_id", text(hash_text(receipt_id))),
                    ("block_number", Value::Int(block as i64)),
                    ("tx_hash", text(&record.tx_hash)),
                ])?;
                self.put(&table::SLASHES, row, block).await
            }
            ChainEvent::ServiceAdded {
                service_id,
                provider,
                service_chain,
                service_kind,
                url,
                metadata_hash,
            } => {
                let row = table::SERVICES.row([
                    ("chain", chain),
                    ("service_id", text(hash_text(service_id))),
                    ("provider", text(provider)),
                    ("service_chain", text(service_chain)),
                    ("kind", text(service_kind)),
                    ("url", text(url)),
                    ("metadata_hash", text(hash_text(metadata_hash))),
                    ("added_block", Value::Int(block as i64)),
                    ("added_tx", text(&record.tx_hash)),
                ])?;
                self.put(&table::SERVICES, row, block).await
            }
            ChainEvent::ServiceRemoved { service_id, .. } => {
                let key = self.key([text(hash_text(service_id))]);
                self.existing(&table::SERVICES, key.clone(), record).await?;
                self.delete(&table::SERVICES, key, block).await
            }
            ChainEvent::Deposited { account, asset, balance, .. }
            | ChainEvent::BalanceChanged { account, asset, balance, .. } => {
                self.put_balance(account, asset, &amount_text(balance), block).await?;
                if let ChainEvent::BalanceChanged { batch_id, delta, .. } = &record.event {
                    let row = table::DELTAS.row([
                        ("chain", text(&self.chain)),
                        ("batch_id", Value::Int(*batch_id as i64)),
                        ("asset", text(asset)),
                        ("account", text(account)),
                        ("amount", text(delta.to_string())),
                    ])?;
                    self.put(&table::DELTAS, row, block).await?;
                }
                Ok(())
            }
            ChainEvent::WithdrawalRequested { account, asset, amount, ready_at } => {
                let row = table::PENDING_WITHDRAWALS.row([
                    ("chain", chain),
                    ("account", text(account)),
                    ("asset", text(asset)),
                    ("amount", text(amount_text(amount))),
                    ("ready_at", Value::Int(*ready_at as i64)),
                ])?;
                self.put(&table::PENDING_WITHDRAWALS, row, block).await
            }
            ChainEvent::BalanceWithdrawn { account, asset, balance, .. } => {
                self.put_balance(account, asset, &amount_text(balance), block).await?;
                let key = self.key([text(account), text(asset)]);
                self.delete(&table::PENDING_WITHDRAWALS, key, block).await
            }
            ChainEvent::BatchSettled {
                batch_id,
                commitment_hash,
                intents_root,
                deltas_root,
                receipt_id,
                window_start,
                window_end,
                intent_count,
                delta_count,
            } => {
                let row = table::BATCHES.row([
                    ("chain", chain),
                    ("batch_id", Value::Int(*batch_id as i64)),
                    ("commitment_hash", text(hash_text(commitment_hash))),
                    ("intents_root", text(hash_text(intents_root))),
                    ("deltas_root", text(hash_text(deltas_root))),
                    ("receipt_id", text(hash_text(receipt_id))),
                    ("window_start", Value::Int(*window_start as i64)),
                    ("window_end", Value::Int(*window_end as i64)),
                    ("intent_count", Value::Int(i64::from(*intent_count))),
                    ("delta_count", Value::Int(i64::from(*delta_count))),
                    ("block_number", Value::Int(block as i64)),
                    ("tx_hash", text(&record.tx_hash)),
                ])?;
                self.put(&table::BATCHES, row, block).await
            }
            // Recorded in the event log only: nothing is derived from it.
            ChainEvent::Rejected { .. } => Ok(()),
        }
    }

    async fn update_provider(
        &mut self,
        record: &EventRecord,
        provider: &str,
        values: &[(&'static str, Value)],
    ) -> Result<(), StoreError> {
        let key = self.key([text(provider)]);
        let mut row = self.existing(&table::PROVIDERS, key, record).await?;
        for (column, value) in values {
            row[table::PROVIDERS.position(column)?] = value.clone();
        }
        row[table::PROVIDERS.position("updated_block")?] = Value::Int(record.block_number as i64);
        self.put(&table::PROVIDERS, row, record.block_number).await
    }

    async fn put_balance(
        &mut self,
        account: &str,
        asset: &str,
        balance: &str,
        block: u64,
    ) -> Result<(), StoreError> {
        let row = table::BALANCES.row([
            ("chain", text(&self.chain)),
            ("account", text(account)),
            ("asset", text(asset)),
            ("balance", text(balance)),
            ("updated_block", Value::Int(block as i64)),
        ])?;
        self.put(&table::BALANCES, row, block).await
    }
}

/// An event's JSON as the `events` table stores it.
fn event_body(event: &ChainEvent) -> String {
    // Room for the longest events (a balance change: two accounts and two
    // amounts) from the start: grown from serde_json's default of 128 bytes,
    // the text was copied once or twice per event.
    let mut body = Vec::with_capacity(384);
    serde_json::to_writer(&mut body, event).expect("events serialize");
    String::from_utf8(body).expect("serde_json writes UTF-8")
}

/// The columns of `events`, in the order rows are written.
const EVENT_COLUMNS: &str =
    "chain, block_number, log_index, block_hash, tx_hash, contract, kind, body";

/// Inserts `records` into `events` (on PostgreSQL with `COPY`) and adds
/// them to the per-contract counts.
async fn insert_events(
    tx: &mut WriteTx,
    chain: &str,
    records: &[EventRecord],
) -> Result<(), StoreError> {
    if let WriteTx::Postgres(tx) = &mut *tx {
        copy_in(tx, "events", EVENT_COLUMNS, records.iter(), |copy, record| {
            let (block_hash, body) = (hash_text(&record.block_hash), event_body(&record.event));
            copy_text(
                copy,
                [
                    CopyValue::Text(chain),
                    CopyValue::Int(record.block_number as i64),
                    CopyValue::Int(record.log_index as i64),
                    CopyValue::Text(&block_hash),
                    CopyValue::Text(&record.tx_hash),
                    CopyValue::Text(&record.contract),
                    CopyValue::Text(record.event.kind()),
                    CopyValue::Text(&body),
                ],
            );
        })
        .await?;
    } else {
        let backend = tx.backend();
        let per_statement = backend.rows_per_statement(8);
        let sql = |count: usize| {
            format!("INSERT INTO events ({EVENT_COLUMNS}) VALUES {}", backend.value_rows(count, 8))
        };
        let texts = crate::BulkTexts::new(records.len(), per_statement, sql);
        with_conn!(tx, |conn| {
            let statements = records.chunks(per_statement).map(|chunk| {
                let mut query = sqlx::query(texts.for_rows(chunk.len()));
                for record in chunk {
                    query = query
                        .bind(chain)
                        .bind(record.block_number as i64)
                        .bind(record.log_index as i64)
                        .bind(hash_text(&record.block_hash))
                        .bind(record.tx_hash.as_str())
                        .bind(record.contract.as_str())
                        .bind(record.event.kind())
                        .bind(event_body(&record.event));
                }
                Ok(query)
            });
            crate::execute_overlapped(&mut *conn, statements).await?;
        });
    }
    let mut per_contract: HashMap<&str, i64> = HashMap::new();
    for record in records {
        *per_contract.entry(record.contract.as_str()).or_default() += 1;
    }
    for (contract, count) in per_contract {
        with_conn!(&mut *tx, |conn| {
            sqlx::query(
                "INSERT INTO event_counts (chain, contract, events) VALUES ($1, $2, $3) \
                 ON CONFLICT (chain, contract) DO UPDATE SET events = event_counts.events + excluded.events",
            )
            .bind(chain)
            .bind(contract)
            .bind(count)
            .execute(&mut *conn)
            .await?;
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Writer;
    use crate::table::{DELTAS, Value};

    /// The flush sorts rows by buffer key to write them in key order: the
    /// two orders must agree, for negative numbers and for texts that begin
    /// other texts too.
    #[test]
    fn buffer_keys_sort_as_their_keys() {
        let text = |s: &str| Value::Text(s.to_owned());
        let mut keys: Vec<Vec<Value>> = Vec::new();
        for batch in [i64::MIN, -300, -1, 0, 1, 9, 10, 255, 256, i64::MAX] {
            for asset in ["0xab", "0xabc", "0xb"] {
                for account in ["", "0x1", "0x10", "0x2"] {
                    keys.push(vec![text("c"), Value::Int(batch), text(asset), text(account)]);
                }
            }
        }
        let mut by_value = keys.clone();
        by_value.sort();
        keys.sort_by_key(|key| Writer::buffer_key(&DELTAS, key).1);
        assert_eq!(keys, by_value);
    }
}
