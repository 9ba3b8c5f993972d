//! The status page at `GET /`: the network at a glance, rendered on the
//! server from the very functions that answer the JSON twins
//! (`/v1/providers`, `/v1/services`, `/v1/gateway/stats`, `/v1/batches`,
//! `/v1/slashes`, `/v1/signer`), so the page and the API cannot disagree.
//! Plain HTML: no script, refreshed by `<meta http-equiv="refresh">`.

use std::fmt::Write as _;

use axum::{
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use cairn_store::SlashOrderFilter;

use super::{
    AppState,
    batches::{self, BatchList},
    discovery::{ProviderView, RankedService, RegistrySummary, chains_response, with_heads},
    gateway::{GatewayStatsView, gateway_stats},
    problem::ApiError,
    signer::{SignerView, signer_status},
    slashes::{self, SlashList},
};

/// Seconds between two refreshes of the page.
const REFRESH_SECS: u32 = 10;

/// The status page.
#[utoipa::path(
    get, path = "/", tag = "operations",
    responses((status = 200, description = "The status page (HTML, refreshes itself)", body = String, content_type = "text/html"))
)]
pub(crate) async fn page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let snapshot = state.snapshot().await?;
    let mut chains = chains_response(&snapshot);
    with_heads(&state, &mut chains).await;
    let providers = snapshot.all_providers();
    let ranked: Vec<(String, Vec<RankedService>)> =
        chains.chains.iter().map(|c| (c.chain.clone(), snapshot.ranked(&c.chain, None))).collect();
    let slashes = slashes::slash_list(
        &state,
        &SlashOrderFilter {
            chain: None,
            provider: None,
            stage: None,
            limit: slashes::DEFAULT_PAGE,
        },
    )
    .await?;
    // No settlement chain configured is a state worth showing, not an error.
    let batches = batches::batch_page(&state, None, batches::DEFAULT_PAGE).await.ok();
    let gateway = gateway_stats(&state);
    let signer = signer_status(&state).await;

    let mut html = String::with_capacity(16 * 1024);
    head(&mut html);
    let _ = write!(
        html,
        "<h1>Cairn status</h1><p class=\"meta\">generated {} · refreshes every {REFRESH_SECS} s · \
         <a href=\"/openapi.json\">API</a></p>\
         <nav><a href=\"#providers\">providers</a> <a href=\"#endpoints\">endpoints</a> \
         <a href=\"#gateway\">gateway</a> <a href=\"#batches\">batches</a> \
         <a href=\"#slashes\">slashes</a> <a href=\"#signer\">signer</a></nav>",
        utc(super::now())
    );
    providers_section(&mut html, &providers, &slashes);
    endpoints_section(&mut html, &chains.registries, &ranked);
    gateway_section(&mut html, &gateway);
    batches_section(&mut html, batches.as_ref());
    slashes_section(&mut html, &slashes);
    signer_section(&mut html, &signer);
    html.push_str("</body></html>\n");
    let mut response = html.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn head(html: &mut String) {
    let _ = write!(
        html,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta http-equiv=\"refresh\" content=\"{REFRESH_SECS}\">\
         <title>Cairn status</title><style>{CSS}</style></head><body>"
    );
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;padding:8px 12px;\
max-width:1400px;color:#1b1b1b;background:#fafafa}h1{font-size:1.4em;margin:.3em 0}\
h2{font-size:1.15em;margin:1.2em 0 .3em;border-bottom:1px solid #ccc}\
h3{font-size:1em;margin:.8em 0 .2em}.meta{color:#555;margin:0}nav a{margin-right:.8em}\
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}\
table{border-collapse:collapse;white-space:nowrap;font-size:13px;background:#fff}\
th,td{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.mono{font-family:ui-monospace,monospace;font-size:12px}.empty{color:#777;font-style:italic}\
.up,.closed,.settled,.slashed,.healthy{color:#0a6b0a;font-weight:600}\
.down,.open,.failing,.failed,.refused{color:#b00020;font-weight:600}\
.half_open,.lagging{color:#a05a00;font-weight:600}";

/// Escapes text for element content and quoted attribute values alike.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link, only for same-site paths and http(s) URLs: a `javascript:` URL
/// in a stored gateway name must not become a live link.
fn link(href: &str, text: &str) -> String {
    let safe = href.starts_with('/') && !href.starts_with("//")
        || href.starts_with("http://")
        || href.starts_with("https://");
    if safe { format!("<a href=\"{}\">{}</a>", esc(href), esc(text)) } else { esc(text) }
}

fn or_dash(value: Option<String>) -> String {
    value.map_or_else(|| "–".to_owned(), |v| esc(&v))
}

/// Unix seconds as `YYYY-MM-DD HH:MM:SS UTC` (civil-from-days, so the
/// page needs no date crate).
fn utc(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Opens a section with its heading and the JSON twin's link.
fn section(html: &mut String, id: &str, title: &str, twin: &str) {
    let _ = write!(
        html,
        "<section id=\"{id}\"><h2>{} <small>({})</small></h2>",
        esc(title),
        link(twin, "JSON")
    );
}

/// A table with `id`; `rows` are already escaped cells.
fn table(html: &mut String, id: &str, headers: &[&str], rows: &[Vec<String>], empty: &str) {
    if rows.is_empty() {
        let _ = write!(html, "<p class=\"empty\" id=\"{id}\">{}</p>", esc(empty));
        return;
    }
    let _ = write!(html, "<div class=\"scroll\"><table id=\"{id}\"><thead><tr>");
    for h in headers {
        let _ = write!(html, "<th>{}</th>", esc(h));
    }
    html.push_str("</tr></thead><tbody>");
    for row in rows {
        html.push_str("<tr>");
        for cell in row {
            let _ = write!(html, "<td>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></div>");
}

/// Blocks the indexer may trail the chain head before the page marks it:
/// above the finality depths in use and a poll interval's worth of blocks.
const LAG_SHOWN_AS_DOWN: u64 = 8;

fn class(value: &str) -> String {
    let name: String = value.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    format!("<span class=\"{name}\">{}</span>", esc(value))
}

fn providers_section(html: &mut String, providers: &[ProviderView], slashes: &SlashList) {
    section(html, "providers", "Providers", "/v1/providers");
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            let evidence: Vec<String> = slashes
                .items
                .iter()
                .filter(|s| s.chain == p.chain && s.provider.eq_ignore_ascii_case(&p.address))
                .map(|s| {
                    link(&s.evidence_url, &format!("{} ({})", short(&s.evidence_hash), s.stage))
                })
                .collect();
            vec![
                esc(&p.chain),
                format!("<span class=\"mono\">{}</span>", esc(&p.address)),
                format!("<span class=\"mono\">{}</span>", esc(&p.operator)),
                esc(&p.stake),
                esc(&p.unbonding),
                class(&p.status),
                esc(&p.slashes.to_string()),
                esc(&p.slashed_total),
                esc(&p.services.to_string()),
                if evidence.is_empty() { "–".into() } else { evidence.join("<br>") },
            ]
        })
        .collect();
    table(
        html,
        "providers-table",
        &[
            "chain",
            "provider",
            "operator",
            "stake",
            "unbonding",
            "status",
            "slashes",
            "slashed",
            "endpoints",
            "evidence",
        ],
        &rows,
        "no provider is registered",
    );
    html.push_str("</section>");
}

fn short(hash: &str) -> String {
    if hash.len() > 14 {
        format!("{}…{}", &hash[..8], &hash[hash.len() - 4..])
    } else {
        hash.into()
    }
}

fn endpoints_section(
    html: &mut String,
    registries: &[RegistrySummary],
    ranked: &[(String, Vec<RankedService>)],
) {
    section(html, "endpoints", "Endpoints by chain, as discovery ranks them", "/v1/chains");
    // The indexer's progress: a stopped indexer shows as a block that no
    // longer moves.
    let rows: Vec<Vec<String>> = registries
        .iter()
        .map(|r| {
            vec![
                esc(&r.chain),
                format!("<span class=\"mono\">{}</span>", esc(&r.registry)),
                or_dash(r.indexed_block.map(|b| b.to_string())),
                or_dash(r.head_block.map(|b| b.to_string())),
                match r.behind_blocks {
                    // More than a few blocks: the indexer is stopped or
                    // cannot keep up, and discovery serves stale state.
                    Some(behind) if behind > LAG_SHOWN_AS_DOWN => {
                        format!("<span class=\"down\">{behind}</span>")
                    }
                    behind => or_dash(behind.map(|b| b.to_string())),
                },
            ]
        })
        .collect();
    table(
        html,
        "registries-table",
        &["registry chain", "registry", "indexed block", "chain head", "behind"],
        &rows,
        "no registry is indexed",
    );
    if ranked.is_empty() {
        html.push_str("<p class=\"empty\" id=\"endpoints-none\">no endpoint is registered</p>");
    }
    for (index, (chain, services)) in ranked.iter().enumerate() {
        let _ = write!(
            html,
            "<h3>{} <small>({})</small></h3>",
            esc(chain),
            link(&format!("/v1/services?chain={chain}"), "JSON")
        );
        let rows: Vec<Vec<String>> = services
            .iter()
            .map(|s| {
                let why = &s.why;
                vec![
                    esc(&s.rank.to_string()),
                    esc(&s.kind),
                    esc(&s.url),
                    format!("<span class=\"mono\">{}</span>", esc(&s.provider)),
                    esc(&why.stake),
                    class(&why.health),
                    or_dash(why.latency_ms.map(|l| l.to_string())),
                    or_dash(why.tip.map(|t| t.to_string())),
                    or_dash(why.success_ratio.map(|r| format!("{r:.3}"))),
                    esc(&format!("{:.3}", why.reputation_factor)),
                    or_dash(why.probation.map(|p| if p { "yes" } else { "no" }.to_owned())),
                    esc(&why.slashes.to_string()),
                    esc(&why.evidence.to_string()),
                    or_dash(why.probes.map(|p| p.to_string())),
                    or_dash(why.last_error.clone()),
                ]
            })
            .collect();
        table(
            html,
            &format!("endpoints-{index}"),
            &[
                "rank",
                "kind",
                "url",
                "provider",
                "stake",
                "health",
                "latency ms",
                "tip",
                "success",
                "reputation",
                "probation",
                "slashes",
                "evidence",
                "probes",
                "last error",
            ],
            &rows,
            "no endpoint",
        );
    }
    html.push_str("</section>");
}

fn gateway_section(html: &mut String, gateway: &GatewayStatsView) {
    section(html, "gateway", "Gateway traffic and errors", "/v1/gateway/stats");
    if !gateway.enabled {
        html.push_str(
            "<p class=\"empty\" id=\"gateway-off\">the gateway is disabled</p></section>",
        );
        return;
    }
    let counters: Vec<Vec<String>> = gateway
        .counters
        .iter()
        .filter(|(_, value)| **value > 0)
        .map(|(name, value)| vec![esc(name), format!("{value}")])
        .collect();
    table(html, "gateway-counters", &["counter", "value"], &counters, "no traffic yet");
    let rows: Vec<Vec<String>> = gateway
        .chains
        .iter()
        .flat_map(|chain| {
            chain.endpoints.iter().map(move |e| {
                let kinds: Vec<String> =
                    e.failures_by_kind.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                vec![
                    esc(&chain.chain),
                    esc(&e.url),
                    format!("<span class=\"mono\">{}</span>", esc(&e.provider)),
                    e.attempts.to_string(),
                    e.failures.to_string(),
                    if kinds.is_empty() { "–".into() } else { esc(&kinds.join(", ")) },
                    class(&e.breaker),
                    e.breaker_opened.to_string(),
                    e.disagreements.to_string(),
                    or_dash(e.p95_ms.map(|p| format!("{p:.1}"))),
                    or_dash(e.last_failure.clone()),
                ]
            })
        })
        .collect();
    table(
        html,
        "gateway-endpoints",
        &[
            "chain",
            "url",
            "provider",
            "requests",
            "errors",
            "errors by kind",
            "breaker",
            "opened",
            "disagreements",
            "p95 ms",
            "last failure",
        ],
        &rows,
        "no endpoint has been routed to yet",
    );
    html.push_str("</section>");
}

fn batches_section(html: &mut String, batches: Option<&BatchList>) {
    section(html, "batches", "Settlement batches", "/v1/batches");
    let Some(batches) = batches else {
        html.push_str(
            "<p class=\"empty\" id=\"batches-table\">no settlement chain is configured</p></section>",
        );
        return;
    };
    let rows: Vec<Vec<String>> = batches
        .items
        .iter()
        .map(|b| {
            let receipt = match (&b.receipt_id, b.upload.as_ref().and_then(|u| u.url.as_deref())) {
                (Some(id), Some(url)) => link(url, id),
                (Some(id), None) => format!(
                    "{} ({})",
                    esc(id),
                    esc(b.upload.as_ref().map_or("not uploaded", |u| u.state.as_str()))
                ),
                _ => "–".into(),
            };
            vec![
                esc(&b.batch_id.to_string()),
                class(&b.stage),
                b.intent_count.to_string(),
                b.delta_count.to_string(),
                esc(&utc(b.closed_at)),
                receipt,
                format!(
                    "<span class=\"mono\">{}</span>",
                    or_dash(b.settled_tx.clone().or_else(|| b.submitted_tx.clone()))
                ),
                or_dash(b.settled_block.map(|n| n.to_string())),
            ]
        })
        .collect();
    table(
        html,
        "batches-table",
        &[
            "batch",
            "stage",
            "intents",
            "deltas",
            "closed",
            "receipt on Arweave",
            "settlement tx",
            "block",
        ],
        &rows,
        "no batch has closed yet",
    );
    html.push_str("</section>");
}

fn slashes_section(html: &mut String, slashes: &SlashList) {
    section(html, "slashes", "Slashes", "/v1/slashes");
    let rows: Vec<Vec<String>> = slashes
        .items
        .iter()
        .map(|s| {
            vec![
                class(&s.stage),
                format!(
                    "<span class=\"mono\">{}</span>",
                    if s.provider.is_empty() { "–".into() } else { esc(&s.provider) }
                ),
                format!("<span class=\"mono\">{}</span>", esc(&s.operator)),
                esc(&s.kind),
                esc(&s.amount),
                format!("<span class=\"mono\">{}</span>", link(&s.evidence_url, &s.evidence_hash)),
                match (&s.receipt_id, &s.receipt_url) {
                    (Some(id), Some(url)) => link(url, id),
                    (Some(id), None) => esc(id),
                    _ => "–".into(),
                },
                format!("<span class=\"mono\">{}</span>", or_dash(s.tx_hash.clone())),
                or_dash(s.last_error.clone()),
            ]
        })
        .collect();
    table(
        html,
        "slashes-table",
        &["stage", "provider", "operator", "kind", "amount", "evidence", "receipt", "tx", "note"],
        &rows,
        "no slash order yet",
    );
    html.push_str("</section>");
}

fn signer_section(html: &mut String, signer: &SignerView) {
    section(html, "signer", "Signers", "/v1/signer");
    let address = |a: &Option<String>| {
        a.as_deref()
            .map(|a| format!(" · address <span class=\"mono\">{}</span>", esc(a)))
            .unwrap_or_default()
    };
    let _ = write!(
        html,
        "<p id=\"signer-kind\">slash orders: <b>{}</b>{}</p>\
         <p id=\"settlement-signer-kind\">batch commitments: <b>{}</b>{}</p>{}",
        esc(&signer.signer),
        address(&signer.address),
        esc(&signer.settlement_signer),
        address(&signer.settlement_address),
        signer
            .threshold
            .map(|t| format!("<p>threshold group: {t}-of-{} parties</p>", signer.parties.len()))
            .unwrap_or_default(),
    );
    if signer.threshold.is_some() {
        let rows: Vec<Vec<String>> = signer
            .parties
            .iter()
            .map(|p| {
                let count = |n: Option<u64>| or_dash(n.map(|n| n.to_string()));
                vec![
                    p.index.to_string(),
                    esc(&p.addr),
                    class(&p.state),
                    count(p.sessions_completed),
                    count(p.sessions_aborted),
                    match &p.last_session {
                        Some(s) => esc(&format!(
                            "{} {} {} at {}{}",
                            s.kind,
                            short(&s.session),
                            s.outcome,
                            utc(i64::try_from(s.finished_at).unwrap_or(i64::MAX)),
                            s.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
                        )),
                        None => "–".into(),
                    },
                    count(p.refused_replays),
                    count(p.dropped_unauthenticated),
                    or_dash(p.error.clone()),
                ]
            })
            .collect();
        table(
            html,
            "signer-parties",
            &[
                "party",
                "address",
                "state",
                "sessions done",
                "aborted",
                "last session",
                "replays refused",
                "unauthenticated",
                "error",
            ],
            &rows,
            "the group has no parties",
        );
    }
    html.push_str("</section>");
}

#[cfg(test)]
mod tests {
    use super::{esc, link, utc};

    #[test]
    fn values_are_escaped_and_only_safe_links_are_live() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(link("javascript:alert(1)", "x"), "x");
        assert_eq!(link("//evil.example/", "x"), "x");
        assert_eq!(link("/v1/slashes", "s"), "<a href=\"/v1/slashes\">s</a>");
        assert_eq!(link("http://a/\"b", "<c>"), "<a href=\"http://a/&quot;b\">&lt;c&gt;</a>");
    }

    #[test]
    fn times_are_utc_calendar_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_307_199), "2026-12-03 14:13:19 UTC");
    }
}
