#![doc = include_str!("../README.md")]

pub mod answer;
pub mod eip712;
pub mod evidence;
pub mod id;
pub mod intent;
pub mod merkle;
pub mod netting;
pub mod registry;
pub mod signature;

pub use id::{AccountId, ChainId, IdError, ServiceId};

/// `part / total` as a float, for ranking and display: both are shifted so
/// the larger fits a double's 52-bit mantissa, which keeps the ratio exact
/// to about 15 digits at any magnitude of token amounts. Zero when `total`
/// is zero.
pub fn ratio(part: alloy_primitives::U256, total: alloy_primitives::U256) -> f64 {
    if total.is_zero() {
        return 0.0;
    }
    let shift = total.bit_len().saturating_sub(52);
    let to_f64 = |v: alloy_primitives::U256| u64::try_from(v >> shift).unwrap_or(u64::MAX) as f64;
    to_f64(part) / to_f64(total)
}
