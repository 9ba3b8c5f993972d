//! Where the gateway learns which endpoints serve a chain. The gateway does
//! not know about the registry or the store: the service implements
//! [`EndpointSource`] from its discovery snapshot, tests from a fixed list.

use std::{collections::HashMap, future::Future, pin::Pin};

use alloy_primitives::Address;

/// A boxed future, so [`EndpointSource`] stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One endpoint the gateway may route a call to.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub url: String,
    /// CAIP-10 id of the provider, for people and metrics.
    pub provider: String,
    /// The registered operator: answers signed by anyone else are refused.
    pub operator: Address,
    /// Relative preference (stake share × health × reputation, or any
    /// positive figure); 0 or less means "use only if nothing else is left".
    pub weight: f64,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("endpoint source failed: {0}")]
pub struct SourceError(pub String);

pub trait EndpointSource: Send + Sync + 'static {
    /// The endpoints serving `chain` (CAIP-2), or `None` when the chain is
    /// not one this source knows.
    fn endpoints<'a>(
        &'a self,
        chain: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<Endpoint>>, SourceError>>;
}

/// A fixed list per chain.
#[derive(Debug, Clone, Default)]
pub struct StaticEndpoints(pub HashMap<String, Vec<Endpoint>>);

impl StaticEndpoints {
    pub fn new(chain: &str, endpoints: Vec<Endpoint>) -> Self {
        Self(HashMap::from([(chain.to_owned(), endpoints)]))
    }
}

impl EndpointSource for StaticEndpoints {
    fn endpoints<'a>(
        &'a self,
        chain: &'a str,
    ) -> BoxFuture<'a, Result<Option<Vec<Endpoint>>, SourceError>> {
        Box::pin(async move { Ok(self.0.get(chain).cloned()) })
    }
}
