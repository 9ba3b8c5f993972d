//! Getting receipts onto Arweave and proving they are there.
//!
//! Two ways up, tried in this order: a bundling service with the
//! Turbo-compatible upload API (`POST /v1/tx`, the raw signed data item as
//! the body), which pays and bundles for us; then a plain gateway (arlocal
//! in tests and `scripts/dev`), where the items go into an ANS-104 bundle
//! inside a format-2 L1 transaction signed by the uploader's JWK wallet,
//! posted to `/tx`. Either way an item counts as stored only once it reads
//! back from a gateway: its data from `/<id>`, and its signature, owner and
//! tags from GraphQL, all equal to the item that was signed (whose id is
//! the hash of that signature).

use cairn_arweave::{
    DataItem, SignatureType, Tag, UnsignedItem, encode_bundle, from_base64url,
    transaction::{Transaction, Wallet},
};
use cairn_store::{OutboxEntry, OutboxUpdate};
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("gateway {url}: {message}")]
    Gateway { url: String, message: String },
    #[error("cannot sign the transaction: {0}")]
    Wallet(#[from] cairn_arweave::transaction::WalletError),
    #[error("item {id} is not readable from the gateway yet")]
    NotYetVisible { id: String },
    #[error("item {id} reads back different from what was signed: {what}")]
    Mismatch { id: String, what: &'static str },
}

/// An Arweave gateway's HTTP API.
#[derive(Debug, Clone)]
pub struct Gateway {
    base: url::Url,
    http: reqwest::Client,
}

impl Gateway {
    pub fn new(base: url::Url) -> Self {
        Self { base, http: reqwest::Client::new() }
    }

    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// Where an item's data is served.
    pub fn item_url(&self, item_id: &str) -> String {
        format!("{}{item_id}", self.base)
    }

    fn fail(&self, path: &str, message: impl std::fmt::Display) -> UploadError {
        UploadError::Gateway { url: format!("{}{path}", self.base), message: message.to_string() }
    }

    async fn get_text(&self, path: &str) -> Result<(u16, String), UploadError> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| self.fail(path, e))?;
        let status = response.status().as_u16();
        Ok((status, response.text().await.map_err(|e| self.fail(path, e))?))
    }

    /// Posts `items` as one bundle in a transaction signed by `wallet`;
    /// returns the transaction id.
    pub async fn post_bundle(
        &self,
        wallet: &Wallet,
        items: &[DataItem],
    ) -> Result<String, UploadError> {
        let bundle = encode_bundle(items);
        let (_, anchor) = self.get_text("tx_anchor").await?;
        let (_, price) = self.get_text(&format!("price/{}", bundle.len())).await?;
        let tx = Transaction::sign_data(
            wallet,
            &bundle,
            &[("Bundle-Format", "binary"), ("Bundle-Version", "2.0.0")],
            anchor.trim(),
            price.trim(),
        )?;
        let response = self
            .http
            .post(format!("{}tx", self.base))
            .json(&tx)
            .send()
            .await
            .map_err(|e| self.fail("tx", e))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(self.fail(
                "tx",
                format!("HTTP {status}: {}", body.chars().take(200).collect::<String>()),
            ));
        }
        Ok(tx.id)
    }

    /// Reads item `id` back: its data from `/<id>`, its signature, owner,
    /// tags, target and anchor from GraphQL, put back together. Not yet
    /// verified: the caller checks the signature (and that `id` is its hash).
    pub async fn fetch_item(&self, id: &str) -> Result<DataItem, UploadError> {
        let response =
            self.http.get(self.item_url(id)).send().await.map_err(|e| self.fail(id, e))?;
        if !response.status().is_success() {
            return Err(UploadError::NotYetVisible { id: id.to_owned() });
        }
        let data = response.bytes().await.map_err(|e| self.fail(id, e))?;
        let query = json!({
            "query": "query($ids: [ID!]) { transactions(ids: $ids) { edges { node { id signature anchor recipient owner { key } tags { name value } } } } }",
            "variables": { "ids": [id] },
        });
        let answer: Value = self
            .http
            .post(format!("{}graphql", self.base))
            .json(&query)
            .send()
            .await
            .map_err(|e| self.fail("graphql", e))?
            .json()
            .await
            .map_err(|e| self.fail("graphql", e))?;
        let node = &answer["data"]["transactions"]["edges"][0]["node"];
        if node.is_null() {
            return Err(UploadError::NotYetVisible { id: id.to_owned() });
        }
        let mismatch = |what| UploadError::Mismatch { id: id.to_owned(), what };
        let bytes = |field: &Value, what| {
            field.as_str().and_then(from_base64url).ok_or_else(|| mismatch(what))
        };
        let fixed = |field: &Value, what| -> Result<Option<[u8; 32]>, UploadError> {
            match field.as_str().unwrap_or_default() {
                "" => Ok(None),
                text => from_base64url(text)
                    .and_then(|b| b.try_into().ok())
                    .map(Some)
                    .ok_or_else(|| mismatch(what)),
            }
        };
        let signature = bytes(&node["signature"], "signature")?;
        let owner = bytes(&node["owner"]["key"], "owner")?;
        let signature_type = match (signature.len(), owner.len()) {
            (65, 65) => SignatureType::Ethereum,
            (64, 32) => SignatureType::Ed25519,
            _ => return Err(mismatch("signature type")),
        };
        let tags = node["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .map(|t| {
                        Tag::new(
                            t["name"].as_str().unwrap_or_default(),
                            t["value"].as_str().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        UnsignedItem {
            data: data.to_vec(),
            tags,
            target: fixed(&node["recipient"], "target")?,
            anchor: fixed(&node["anchor"], "anchor")?,
        }
        .with_signature(signature_type, owner, signature)
        .map_err(|_| mismatch("item structure"))
    }

    /// Reads `item` back and checks it is the item that was signed.
    pub async fn confirm(&self, item: &DataItem) -> Result<(), UploadError> {
        let id = item.id_base64url();
        let stored = self.fetch_item(&id).await?;
        let mismatch = |what| Err(UploadError::Mismatch { id: id.clone(), what });
        if stored.data() != item.data() {
            return mismatch("data");
        }
        if stored.signature() != item.signature() {
            return mismatch("signature");
        }
        if stored.owner() != item.owner() {
            return mismatch("owner");
        }
        if stored.tags() != item.tags() {
            return mismatch("tags");
        }
        // The data, signature, owner and tags are the signed item's, and its
        // id is the hash of that signature: the item is stored as signed.
        stored.verify().or_else(|_| mismatch("signature"))
    }
}

/// A bundling service with the Turbo-compatible upload API.
#[derive(Debug, Clone)]
pub struct Bundler {
    base: url::Url,
    http: reqwest::Client,
}

impl Bundler {
    pub fn new(base: url::Url) -> Self {
        Self { base, http: reqwest::Client::new() }
    }

    pub fn base(&self) -> &url::Url {
        &self.base
    }

    /// Hands the signed item over as is (`POST /v1/tx`, octet-stream). The
    /// service must answer with the item's own id.
    pub async fn post_item(&self, item: &DataItem) -> Result<(), UploadError> {
        let fail =
            |message: String| UploadError::Gateway { url: format!("{}v1/tx", self.base), message };
        let response = self
            .http
            .post(format!("{}v1/tx", self.base))
            .header("content-type", "application/octet-stream")
            .body(item.encode())
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {status}: {}",
                body.chars().take(200).collect::<String>()
            )));
        }
        let answered: Value = serde_json::from_str(&body).unwrap_or_default();
        let id = item.id_base64url();
        if answered["id"].as_str() != Some(id.as_str()) {
            return Err(fail(format!("answered id {} for item {id}", answered["id"])));
        }
        Ok(())
    }
}

/// What one pass over the outbox did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrainReport {
    pub posted: usize,
    pub confirmed: usize,
    /// Attempts that failed and will be retried after a backoff.
    pub retrying: usize,
}

/// Drains the store's outbox: posts pending items through the first gateway
/// that takes them, confirms posted ones by reading them back, and backs
/// off (doubling, up to `max_backoff_secs`) on every failure. Nothing is
/// ever marked stored without the read-back.
#[derive(Debug)]
pub struct Uploader {
    pub store: cairn_store::Store,
    /// Tried in order for each item, before any gateway.
    pub bundlers: Vec<Bundler>,
    /// Tried in order for posting what no bundler took; the gateway an item
    /// was posted to (else the first) is asked for its confirmation.
    pub gateways: Vec<Gateway>,
    pub wallet: Wallet,
    pub initial_backoff_secs: i64,
    pub max_backoff_secs: i64,
    /// Read-backs that may fail before the item is posted again.
    pub confirm_attempts: u64,
}

impl Uploader {
    fn backoff(&self, attempts: u64) -> i64 {
        let doubled = self.initial_backoff_secs.saturating_mul(1 << attempts.min(20));
        doubled.min(self.max_backoff_secs)
    }

    /// The gateway an item was posted to, if it is still configured; else
    /// the first.
    fn gateway_for(&self, entry: &OutboxEntry) -> &Gateway {
        entry
            .gateway
            .as_deref()
            .and_then(|posted| self.gateways.iter().find(|g| g.base().as_str() == posted))
            .unwrap_or(&self.gateways[0])
    }

    pub async fn drain_once(&self, now: i64) -> Result<DrainReport, cairn_store::StoreError> {
        let mut report = DrainReport::default();
        if self.gateways.is_empty() {
            return Ok(report);
        }
        let due = self.store.due_outbox(now, 100).await?;
        let mut to_post: Vec<(OutboxEntry, DataItem)> = Vec::new();
        for entry in due {
            let item = match DataItem::decode(&entry.payload) {
                Ok(item) => item,
                Err(error) => {
                    // A corrupt payload cannot be stored anywhere; say so and
                    // keep it visible (never dropped, never "stored").
                    let update = OutboxUpdate {
                        state: &entry.state,
                        tx_id: None,
                        gateway: None,
                        error: Some(&error.to_string()),
                        next_attempt_at: now + self.max_backoff_secs,
                    };
                    self.store.update_outbox(&entry.item_id, &update).await?;
                    report.retrying += 1;
                    continue;
                }
            };
            if entry.state == "posted" {
                let gateway = self.gateway_for(&entry);
                match gateway.confirm(&item).await {
                    Ok(()) => {
                        let update = OutboxUpdate {
                            state: "confirmed",
                            tx_id: None,
                            gateway: Some(gateway.base().as_str()),
                            error: None,
                            next_attempt_at: now,
                        };
                        self.store.update_outbox(&entry.item_id, &update).await?;
                        report.confirmed += 1;
                        crate::failpoint("after_upload").await;
                    }
                    Err(error) => {
                        // Posted but never readable: post again.
                        let state = if entry.attempts + 1 >= self.confirm_attempts {
                            "pending"
                        } else {
                            "posted"
                        };
                        let error = error.to_string();
                        let update = OutboxUpdate {
                            state,
                            tx_id: None,
                            gateway: None,
                            error: Some(&error),
                            next_attempt_at: now + self.backoff(entry.attempts),
                        };
                        self.store.update_outbox(&entry.item_id, &update).await?;
                        report.retrying += 1;
                    }
                }
            } else {
                to_post.push((entry, item));
            }
        }
        let mut bundler_errors: Vec<String> = Vec::new();
        if !self.bundlers.is_empty() {
            let mut left = Vec::new();
            for (entry, item) in to_post {
                let mut taken = false;
                for bundler in &self.bundlers {
                    match bundler.post_item(&item).await {
                        Ok(()) => {
                            let update = OutboxUpdate {
                                state: "posted",
                                tx_id: None,
                                gateway: Some(bundler.base().as_str()),
                                error: None,
                                next_attempt_at: now,
                            };
                            self.store.update_outbox(&entry.item_id, &update).await?;
                            report.posted += 1;
                            taken = true;
                            break;
                        }
                        Err(error) => bundler_errors.push(error.to_string()),
                    }
                }
                if !taken {
                    left.push((entry, item));
                }
            }
            to_post = left;
        }
        if to_post.is_empty() {
            return Ok(report);
        }
        let items: Vec<DataItem> = to_post.iter().map(|(_, item)| item.clone()).collect();
        let mut errors = bundler_errors;
        for gateway in &self.gateways {
            match gateway.post_bundle(&self.wallet, &items).await {
                Ok(tx_id) => {
                    let update = OutboxUpdate {
                        state: "posted",
                        tx_id: Some(&tx_id),
                        gateway: Some(gateway.base().as_str()),
                        error: None,
                        next_attempt_at: now,
                    };
                    for (entry, _) in &to_post {
                        self.store.update_outbox(&entry.item_id, &update).await?;
                    }
                    report.posted += to_post.len();
                    return Ok(report);
                }
                Err(error) => errors.push(error.to_string()),
            }
        }
        let error = errors.join("; ");
        for (entry, _) in &to_post {
            let update = OutboxUpdate {
                state: "pending",
                tx_id: None,
                gateway: None,
                error: Some(&error),
                next_attempt_at: now + self.backoff(entry.attempts),
            };
            self.store.update_outbox(&entry.item_id, &update).await?;
            report.retrying += 1;
        }
        Ok(report)
    }
}
