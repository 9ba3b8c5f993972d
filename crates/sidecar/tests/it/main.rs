//! The sidecar against real anvil, one module per behaviour.

mod forwarding;
mod metrics;
mod refusals;
mod startup;
mod support;
mod tip;
mod upstream_down;
mod websocket;
