#![doc = include_str!("../README.md")]

pub mod jwt;
pub mod siwe;
pub mod siws;
pub mod uri;

pub use jwt::{JwtKey, SessionClaims, TokenError};
pub use siwe::{SiweMessage, SiweParseError, Timestamp};
pub use siws::{SignInInput, SignInOutput, SiwsError};
pub use uri::uri_allowed;
