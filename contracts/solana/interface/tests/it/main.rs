//! The interface against `cairn_core`: the digests and endpoint rules the
//! program applies are the ones core defines.

mod digest;
mod encoding;
