//! The program in a real Bank (solana-program-test, native `processor!`),
//! one file per instruction, negative cases next to the positive ones.

mod common;

mod add_endpoint;
mod compute_units;
mod conformance;
mod initialize;
mod reference_model;
mod register;
mod remove_endpoint;
mod slash;
mod unbond;
mod withdraw;
