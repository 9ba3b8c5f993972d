#![doc = include_str!("../README.md")]

pub mod decode;
pub mod metrics;
mod pipeline;
pub mod rpc;

pub use decode::Contracts;
pub use metrics::Metrics;
pub use pipeline::{CATCH_UP_RETRIES, Indexer, IndexerError, IndexerSettings, Step};
