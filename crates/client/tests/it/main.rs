//! `cairn-client` against a real anvil with the registry deployed.

mod sticky;
mod transport;
