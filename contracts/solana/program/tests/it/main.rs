//! The program in a real Bank (solana-program-test, native `processor!`),
//! one file per instruction, negative cases next to the positive ones.

mod common;

mod add_endpoint;
mod compute_units;
mod conformance;
mod conformance_settlement;
mod deposit;
mod initialize;
mod initialize_vault;
mod open_balance;
mod reference_model;
mod register;
mod remove_endpoint;
mod request_withdrawal;
mod settle_batch;
mod slash;
mod staged_batch;
mod unbond;
mod withdraw;
mod withdraw_balance;
