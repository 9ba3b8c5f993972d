//! Deserializers for values whose standard error messages do not say what
//! was expected (a socket address's `FromStr` error only says "invalid").

use std::{fmt, marker::PhantomData, str::FromStr};

use serde::{Deserializer, de};
use url::Url;

/// A value parsed from text, with the description an error shows.
pub(crate) trait Described: FromStr {
    const EXPECTED: &'static str;
}

impl Described for std::net::SocketAddr {
    const EXPECTED: &'static str = "a socket address such as 127.0.0.1:8080";
}

pub(crate) fn from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Described,
{
    deserializer.deserialize_str(FromStrVisitor::<T>(PhantomData))
}

struct FromStrVisitor<T>(PhantomData<T>);

impl<T: Described> de::Visitor<'_> for FromStrVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

const RPC_SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// A list of JSON-RPC endpoint URLs: at least one, each http(s) or ws(s).
pub(crate) fn rpc_urls<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Url>, D::Error> {
    struct UrlsVisitor;
    impl<'de> de::Visitor<'de> for UrlsVisitor {
        type Value = Vec<Url>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-empty array of http(s):// or ws(s):// URLs")
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut urls = Vec::new();
            while let Some(text) = seq.next_element::<String>()? {
                let url = Url::parse(&text)
                    .ok()
                    .filter(|u| RPC_SCHEMES.contains(&u.scheme()) && u.host().is_some())
                    .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&text), &self))?;
                urls.push(url);
            }
            if urls.is_empty() {
                return Err(de::Error::invalid_length(0, &self));
            }
            Ok(urls)
        }
    }
    deserializer.deserialize_seq(UrlsVisitor)
}
