#![doc = include_str!("../README.md")]

pub mod receipt;

pub use receipt::{ReceiptError, WrittenReceipt, build_receipt, write_receipt};
