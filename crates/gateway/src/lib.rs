#![doc = include_str!("../README.md")]

mod breaker;
mod budget;
pub mod evidence;
mod gateway;
mod latency;
mod metering;
mod metrics;
mod router;
pub mod rpc;
pub mod source;
mod stats;
mod tags;
mod upstream;

pub use breaker::BreakerState;
pub use evidence::{EvidenceSink, MemoryEvidence};
pub use gateway::Gateway;
pub use metering::{MemoryUsage, MethodClass, Payer, UsageCount, UsageKey, UsageSink};
pub use source::{BoxFuture, Endpoint, EndpointSource, SourceError, StaticEndpoints};
pub use stats::{ChainStats, EndpointStats, GatewayStats};
