//! The settlement steps against real stores (a SQLite file and a fresh
//! PostgreSQL database).

mod outbox;
mod pipeline;
mod receipt;
mod restarts;
mod upload;
