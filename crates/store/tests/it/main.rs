//! The store's behaviour, run against both backends: a SQLite file and a
//! fresh PostgreSQL database at 127.0.0.1:5432 (`cairn_test_utils::stores`).

mod apply_and_rollback;
mod backup;
mod batches;
mod bulk;
mod concurrent_open;
mod evidence;
mod health;
mod intents;
mod migrations;
mod sessions;
mod slash_orders;
mod usage;
mod written_once;
