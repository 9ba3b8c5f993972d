//! An alloy transport whose nodes come from Cairn: an application builds a
//! `Provider` for a chain id and never names a node's URL. Each request goes
//! to the best-ranked endpoint first and fails over, in rank order, to the
//! next one on a transport failure (connection refused, timeout, HTTP 5xx or
//! 429, a body that is not JSON-RPC); a JSON-RPC error answer is the node's
//! answer and is returned as it is. Through a Cairn service's gateway
//! instead, the gateway does the choosing, retries and answer checks.

use std::{sync::Arc, task};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::{
        client::RpcClient,
        json_rpc::{RequestPacket, ResponsePacket},
    },
    transports::{TransportError, TransportErrorKind, TransportFut, http::Http},
};
use tower::Service;
use url::Url;

use crate::Client;

/// Where a [`CairnTransport`] sends requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Straight to the chain's registered endpoints, best first.
    Direct { kind: String },
    /// To `POST {service}v1/rpc/{chain}`: the service's gateway picks,
    /// retries, hedges and checks answers.
    Gateway { service: Url },
}

/// A `tower::Service` over JSON-RPC packets, so alloy's `RpcClient` and every
/// `Provider` built on it use Cairn's endpoints. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CairnTransport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Arc<Client>,
    chain: String,
    route: Route,
    http: reqwest::Client,
}

impl CairnTransport {
    /// A transport for `chain` (CAIP-2) along `route`.
    pub fn new(client: Arc<Client>, chain: impl Into<String>, route: Route) -> Self {
        let http = client.http.clone();
        Self { inner: Arc::new(Inner { client, chain: chain.into(), route, http }) }
    }

    /// An alloy provider for `chain` (CAIP-2) over this transport; add a
    /// wallet with `ProviderBuilder` and [`CairnTransport::rpc_client`] to send
    /// transactions.
    pub fn provider(client: Arc<Client>, chain: impl Into<String>, route: Route) -> DynProvider {
        ProviderBuilder::new().connect_client(Self::new(client, chain, route).rpc_client()).erased()
    }

    /// The alloy RPC client over this transport.
    pub fn rpc_client(self) -> RpcClient {
        RpcClient::new(self, false)
    }

    async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let inner = &self.inner;
        let urls: Vec<Url> = match &inner.route {
            Route::Gateway { service } => {
                let url = service
                    .join(&format!("v1/rpc/{}", inner.chain))
                    .map_err(|e| TransportErrorKind::custom_str(&e.to_string()))?;
                vec![url]
            }
            Route::Direct { kind } => inner
                .client
                .resolve(&inner.chain, kind)
                .await
                .map_err(TransportErrorKind::custom)?
                .iter()
                .filter_map(|endpoint| endpoint.url.parse::<Url>().ok())
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .collect(),
        };
        if urls.is_empty() {
            return Err(TransportErrorKind::custom_str(&format!(
                "Cairn knows no http(s) endpoint for {}",
                inner.chain
            )));
        }
        send_in_order(&inner.http, &urls, 0, &request).await.map(|(_, response)| response).map_err(
            |failures| {
                TransportErrorKind::custom_str(&format!(
                    "every endpoint of {} failed: {failures}",
                    inner.chain
                ))
            },
        )
    }
}

/// Sends `request` to `urls[start]`, then each following URL (wrapping
/// round) on a transport failure; the index that answered and its answer,
/// or every failure in words.
async fn send_in_order(
    http: &reqwest::Client,
    urls: &[Url],
    start: usize,
    request: &RequestPacket,
) -> Result<(usize, ResponsePacket), String> {
    let mut failures = Vec::new();
    for offset in 0..urls.len() {
        let index = (start + offset) % urls.len();
        let mut transport = Http::with_client(http.clone(), urls[index].clone());
        match transport.call(request.clone()).await {
            Ok(response) => return Ok((index, response)),
            Err(error) => failures.push(format!("{}: {error}", urls[index])),
        }
    }
    Err(failures.join("; "))
}

/// A transport over fixed node URLs that sends every request to one node
/// and moves to the next only when that node fails, then stays there. A
/// sequence of calls (read a nonce, send, poll the receipt) so sees one
/// node's view of the chain, which a transport asking every node at once
/// (first answer wins) does not give.
#[derive(Debug, Clone)]
pub struct StickyTransport {
    urls: Arc<[Url]>,
    current: Arc<std::sync::atomic::AtomicUsize>,
    http: reqwest::Client,
}

impl StickyTransport {
    /// Over `urls`, in order of preference; at least one.
    pub fn new(urls: Vec<Url>) -> Self {
        Self { urls: urls.into(), current: Arc::default(), http: reqwest::Client::new() }
    }

    /// The node requests go to now.
    pub fn current(&self) -> Option<&Url> {
        self.urls.get(self.current.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// An alloy provider over this transport.
    pub fn provider(self) -> DynProvider {
        ProviderBuilder::new().connect_client(RpcClient::new(self, false)).erased()
    }

    async fn send(self, request: RequestPacket) -> Result<ResponsePacket, TransportError> {
        if self.urls.is_empty() {
            return Err(TransportErrorKind::custom_str("no node URL configured"));
        }
        let start = self.current.load(std::sync::atomic::Ordering::Relaxed);
        let (index, response) =
            send_in_order(&self.http, &self.urls, start, &request).await.map_err(|failures| {
                TransportErrorKind::custom_str(&format!("every node failed: {failures}"))
            })?;
        if index != start {
            tracing::warn!(from = %self.urls[start], to = %self.urls[index], "node failed; moving to the next");
            self.current.store(index, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(response)
    }
}

/// Both transports answer each packet with their own `send`; alloy wants
/// the same `tower::Service` shape of each.
macro_rules! transport_service {
    ($transport:ty) => {
        impl Service<RequestPacket> for $transport {
            type Response = ResponsePacket;
            type Error = TransportError;
            type Future = TransportFut<'static>;

            fn poll_ready(
                &mut self,
                _: &mut task::Context<'_>,
            ) -> task::Poll<Result<(), Self::Error>> {
                task::Poll::Ready(Ok(()))
            }

            fn call(&mut self, request: RequestPacket) -> Self::Future {
                Box::pin(self.clone().send(request))
            }
        }
    };
}

transport_service!(CairnTransport);
transport_service!(StickyTransport);

impl Client {
    /// An alloy provider for `chain` (CAIP-2) straight to its registered
    /// `rpc` endpoints, with failover in rank order.
    pub fn evm_provider(self: &Arc<Self>, chain: &str) -> DynProvider {
        CairnTransport::provider(self.clone(), chain, Route::Direct { kind: "rpc".into() })
    }

    /// An alloy provider for `chain` through the gateway of the Cairn service
    /// at `service`.
    pub fn gateway_provider(self: &Arc<Self>, chain: &str, service: Url) -> DynProvider {
        CairnTransport::provider(self.clone(), chain, Route::Gateway { service })
    }
}
