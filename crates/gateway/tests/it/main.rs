//! The gateway's behaviour against real anvil nodes, behind the fault
//! proxy of `cairn_test_utils` and small signing proxies.

mod bad_input;
mod breaker;
mod cast;
mod failover;
mod hedging;
mod metering;
mod quorum;
mod real_sidecars;
mod retry_budget;
mod signatures;
mod support;
mod writes;
