//! Integration tests of the ICP client, one file per behaviour.

mod candid_wire;
mod conformance;
mod follower;
mod names;
mod refusals;
mod support;
mod unavailable;
