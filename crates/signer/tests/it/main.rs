//! Tests of the signer backends.

mod local;
