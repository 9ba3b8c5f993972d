//! Who is asking (client address behind trusted proxies), how often they
//! may (token buckets per wallet or address), how long a request may take,
//! and what was served (Prometheus counters).

use std::{
    collections::HashMap,
    fmt::Write,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{StatusCode, header::HeaderMap},
    middleware::Next,
    response::{IntoResponse, Response},
};
use cairn_config::RateLimitConfig;

use super::{AppState, extract::bearer_token, problem::ApiError};

/// The client's address as this service believes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The peer's address, or — when the peer is a trusted proxy — the nearest
/// address in `X-Forwarded-For` that is not one. From any other peer the
/// header is ignored: anyone can write it.
pub(crate) fn resolve_client(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // Each proxy appends the address it saw, so only the right end of the
    // list was written by proxies we trust; everything left of the first
    // hop that is not one of them came from the client and may be made up.
    let mut hops: Vec<Option<IpAddr>> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        match value.to_str() {
            Ok(text) => hops.extend(text.split(',').map(|part| part.trim().parse().ok())),
            Err(_) => hops.push(None),
        }
    }
    let mut nearest = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            Some(ip) if is_trusted(&ip) => nearest = ip,
            Some(ip) => return ip,
            // A trusted proxy passed on something unreadable: nothing to its
            // left can be believed, so the client is the nearest hop we can.
            None => return nearest,
        }
    }
    nearest
}

/// The key an anonymous caller is limited by: its IPv4 address, or the /64
/// its IPv6 address is in, because one subscriber is routinely given a whole
/// /64 and could otherwise take a fresh bucket per request.
pub(crate) fn client_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("a:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("a:{v4}"),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                format!("a:{}/64", std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

pub(crate) async fn client_address(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    let client = resolve_client(peer, request.headers(), &state.service.trusted_proxies);
    request.extensions_mut().insert(ClientAddr(client));
    next.run(request).await
}

#[derive(Debug, Clone, Copy)]
struct Rate {
    per_second: f64,
    burst: f64,
}

impl Rate {
    fn new(per_second: u32, burst: u32) -> Option<Self> {
        (per_second > 0)
            .then(|| Self { per_second: f64::from(per_second), burst: f64::from(burst.max(1)) })
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets held in this process. Replicas each hold their own, so a
/// client behind a balancer over N replicas gets up to N times the rate.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    anonymous: Option<Rate>,
    wallet: Option<Rate>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

const MAX_BUCKETS: usize = 100_000;

impl RateLimiter {
    pub(crate) fn new(config: &RateLimitConfig) -> Self {
        Self {
            anonymous: Rate::new(config.anonymous_per_second, config.anonymous_burst),
            wallet: Rate::new(config.wallet_per_second, config.wallet_burst),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket, or says how long until one is there.
    fn take(&self, key: String, rate: Rate) -> Result<(), Duration> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            // Full buckets hold no information; dropping them bounds memory.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * rate.per_second < rate.burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: rate.burst, last: now });
        let refill = now.duration_since(bucket.last).as_secs_f64() * rate.per_second;
        bucket.tokens = (bucket.tokens + refill).min(rate.burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate.per_second))
        }
    }
}

pub(crate) async fn rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // Only a live session names a wallet: a revoked, expired or forged token
    // is limited by address like any anonymous request, so it cannot buy a
    // bucket of its own.
    let wallet = match bearer_token(&parts).map(str::to_owned) {
        Some(token) => {
            let outcome = state.authenticate(&token).await;
            let account = outcome.as_ref().ok().map(|session| session.account.clone());
            parts.extensions.insert(super::extract::Checked(outcome));
            account
        }
        None => None,
    };
    let decision = match (wallet, state.limiter.wallet, state.limiter.anonymous) {
        (Some(account), Some(rate), _) => state.limiter.take(format!("w:{account}"), rate),
        (Some(_), None, _) => Ok(()),
        (None, _, Some(rate)) => {
            let client = parts.extensions.get::<ClientAddr>().map(|c| c.0);
            let key = client.map_or_else(|| "a:unknown".to_owned(), client_key);
            state.limiter.take(key, rate)
        }
        (None, _, None) => Ok(()),
    };
    match decision {
        Ok(()) => next.run(Request::from_parts(parts, body)).await,
        Err(wait) => {
            state.metrics.rate_limited.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry after the time in Retry-After",
            );
            error.retry_after = Some(wait.as_secs_f64().ceil().max(1.0) as u64);
            error.into_response()
        }
    }
}

pub(crate) async fn timeout(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            format!("the request took longer than {} ms", limit.as_millis()),
        )
        .into_response(),
    }
}

const BUCKETS: [f64; 9] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0];

#[derive(Debug, Default)]
struct RouteStats {
    by_status: HashMap<u16, u64>,
    histogram: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
pub(crate) struct HttpMetrics {
    routes: Mutex<HashMap<(String, String), RouteStats>>,
    pub(crate) rate_limited: std::sync::atomic::AtomicU64,
}

impl HttpMetrics {
    fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let stats = routes.entry((method.to_owned(), route.to_owned())).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.histogram[i] += 1;
            }
        }
        stats.count += 1;
        stats.sum += seconds;
    }

    pub(crate) fn render(&self) -> String {
        let routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        let mut keys: Vec<_> = routes.keys().collect();
        keys.sort();
        let mut out = String::new();
        out.push_str(
            "# HELP cairn_http_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE cairn_http_requests_total counter\n");
        for key in &keys {
            let stats = &routes[*key];
            let mut statuses: Vec<_> = stats.by_status.iter().collect();
            statuses.sort();
            for (status, count) in statuses {
                let _ = writeln!(
                    out,
                    "cairn_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {count}",
                    key.0, key.1
                );
            }
        }
        out.push_str("# HELP cairn_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE cairn_http_request_duration_seconds histogram\n");
        for key in &keys {
            let stats = &routes[*key];
            let labels = format!("method=\"{}\",route=\"{}\"", key.0, key.1);
            for (bound, count) in BUCKETS.iter().zip(stats.histogram) {
                let _ = writeln!(
                    out,
                    "cairn_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "cairn_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                stats.count
            );
            let _ =
                writeln!(out, "cairn_http_request_duration_seconds_sum{{{labels}}} {}", stats.sum);
            let _ = writeln!(
                out,
                "cairn_http_request_duration_seconds_count{{{labels}}} {}",
                stats.count
            );
        }
        out.push_str("# HELP cairn_http_rate_limited_total Requests refused by a rate limit.\n");
        out.push_str("# TYPE cairn_http_rate_limited_total counter\n");
        let _ = writeln!(
            out,
            "cairn_http_rate_limited_total {}",
            self.rate_limited.load(std::sync::atomic::Ordering::Relaxed)
        );
        out
    }
}

pub(crate) async fn record_metrics(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    // Matched route templates only: raw paths would let clients create
    // unbounded label sets.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

impl AppState {
    pub(crate) fn render_metrics(&self) -> String {
        self.metrics.render()
    }
}
