//! Parties run in this process but only talk over loopback TCP, with signed
//! messages, exactly as separate processes do (the service's
//! `threshold_*` tests run them as processes).

mod channels;
mod conformance;
mod keygen;
mod policy;
mod signing;
mod support;
