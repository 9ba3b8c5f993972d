//! Paying for metered RPC: what a Cairn service counted for the signed-in
//! wallet (`GET /v1/usage`) turned into one signed payment intent per
//! provider still owed something (`POST /v1/intents`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, U256, keccak256};
use cairn_core::eip712::{PaymentIntent, settlement_domain};
use cairn_signer::Signer;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::Client;

/// `GET /v1/usage` as the service answers it (amounts decimal).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Usage {
    pub wallet: String,
    pub asset: Address,
    pub providers: Vec<ProviderUsage>,
    #[serde(with = "decimal")]
    pub owed: U256,
    #[serde(with = "decimal")]
    pub paid: U256,
    #[serde(with = "decimal")]
    pub unpaid: U256,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ProviderUsage {
    pub provider: String,
    pub payee: Address,
    pub settlement: Option<SettlementDomain>,
    pub classes: Vec<ClassUsage>,
    #[serde(with = "decimal")]
    pub owed: U256,
    #[serde(with = "decimal")]
    pub paid: U256,
    #[serde(with = "decimal")]
    pub unpaid: U256,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SettlementDomain {
    pub chain_id: u64,
    pub verifying_contract: Address,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ClassUsage {
    pub chain: String,
    pub class: String,
    pub calls: u64,
    #[serde(with = "decimal")]
    pub price_per_call: U256,
    #[serde(with = "decimal")]
    pub owed: U256,
}

/// One intent [`Client::pay_usage`] had accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsagePayment {
    pub provider: String,
    pub payee: Address,
    pub asset: Address,
    pub amount: U256,
    pub nonce: U256,
    pub intent_hash: String,
    /// The batch it settles in.
    pub batch_id: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PayUsageError {
    #[error("could not reach {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("{url} answered {status} {code}: {detail}")]
    Refused { url: String, status: u16, code: String, detail: String },
    #[error("the answer of {url} is not understood: {message}")]
    BadAnswer { url: String, message: String },
    #[error("signed in as {wallet}, but the key signing the intents is {signer}")]
    WrongSigner { wallet: String, signer: Address },
    #[error("could not sign the intent: {0}")]
    Sign(#[from] cairn_signer::SignerError),
    #[error("`{0}` is not a service URL this path can be joined to")]
    BadServiceUrl(String),
}

/// What a provider's payments are still waiting on, after some were made:
/// those paid and the first refusal, if any.
#[derive(Debug)]
pub struct PartialPayment {
    pub paid: Vec<UsagePayment>,
    pub error: PayUsageError,
}

impl std::fmt::Display for PartialPayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (after {} intents were accepted)", self.error, self.paid.len())
    }
}

impl std::error::Error for PartialPayment {}

impl Client {
    /// What `service` metered for the session `token`'s wallet.
    pub async fn usage(&self, service: &Url, token: &str) -> Result<Usage, PayUsageError> {
        let url = join(service, "v1/usage")?;
        let sent = self.http.get(url.clone()).bearer_auth(token).send().await;
        let body = answer(&url, sent).await?;
        serde_json::from_value(body)
            .map_err(|e| PayUsageError::BadAnswer { url: url.to_string(), message: e.to_string() })
    }

    /// Pays every provider that `service` says the session's wallet still
    /// owes: one intent each for its `unpaid` amount, signed by `signer`
    /// (the wallet's key) and valid for `valid_for`. Returns what was
    /// accepted; a second call right after finds nothing unpaid.
    pub async fn pay_usage(
        &self,
        service: &Url,
        token: &str,
        signer: &dyn Signer,
        valid_for: Duration,
    ) -> Result<Vec<UsagePayment>, PartialPayment> {
        let mut paid = Vec::new();
        let fail = |paid: Vec<UsagePayment>, error| PartialPayment { paid, error };
        let usage = match self.usage(service, token).await {
            Ok(usage) => usage,
            Err(error) => return Err(fail(paid, error)),
        };
        let wallet_address =
            usage.wallet.rsplit_once(':').and_then(|(_, a)| a.parse::<Address>().ok());
        if wallet_address != Some(signer.address()) {
            // The service counts payments by the signed-in wallet: intents
            // from another payer would never reduce what it owes.
            let error =
                PayUsageError::WrongSigner { wallet: usage.wallet, signer: signer.address() };
            return Err(fail(paid, error));
        }
        let url = match join(service, "v1/intents") {
            Ok(url) => url,
            Err(error) => return Err(fail(paid, error)),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        for provider in &usage.providers {
            let Some(domain) = &provider.settlement else { continue };
            if provider.unpaid.is_zero() || provider.payee == signer.address() {
                continue;
            }
            let intent = PaymentIntent {
                payer: signer.address(),
                payee: provider.payee,
                asset: usage.asset,
                amount: provider.unpaid,
                nonce: nonce(signer.address(), provider, now),
                validUntil: now.as_secs().saturating_add(valid_for.as_secs()),
            };
            let domain_sep = settlement_domain(domain.chain_id, domain.verifying_contract);
            let signature = match cairn_signer::sign_typed(signer, &intent, &domain_sep).await {
                Ok(signature) => signature.to_bytes(),
                Err(error) => return Err(fail(paid, error.into())),
            };
            let body = json!({
                "intent": {
                    "payer": intent.payer, "payee": intent.payee, "asset": intent.asset,
                    "amount": intent.amount.to_string(), "nonce": intent.nonce.to_string(),
                    "validUntil": intent.validUntil,
                },
                "signature": format!("0x{}", alloy::hex::encode(signature)),
                "domain": { "chain_id": domain.chain_id, "verifying_contract": domain.verifying_contract },
            });
            let sent = self.http.post(url.clone()).json(&body).send().await;
            let receipt = match answer(&url, sent).await {
                Ok(receipt) => receipt,
                Err(error) => return Err(fail(paid, error)),
            };
            let (Some(hash), Some(batch_id)) =
                (receipt["intent_hash"].as_str(), receipt["batch_id"].as_u64())
            else {
                let error = PayUsageError::BadAnswer {
                    url: url.to_string(),
                    message: format!("no intent_hash or batch_id in {receipt}"),
                };
                return Err(fail(paid, error));
            };
            paid.push(UsagePayment {
                provider: provider.provider.clone(),
                payee: provider.payee,
                asset: usage.asset,
                amount: intent.amount,
                nonce: intent.nonce,
                intent_hash: hash.to_owned(),
                batch_id,
            });
        }
        Ok(paid)
    }
}

/// A nonce no other intent of this payer uses: the service takes any
/// unused one, so it is drawn from what is being paid and the time.
fn nonce(payer: Address, provider: &ProviderUsage, now: Duration) -> U256 {
    let seed = [
        payer.as_slice(),
        provider.payee.as_slice(),
        &provider.paid.to_be_bytes::<32>(),
        &provider.unpaid.to_be_bytes::<32>(),
        &now.as_nanos().to_be_bytes(),
    ]
    .concat();
    U256::from_be_slice(&keccak256(seed)[..8])
}

fn join(base: &Url, path: &str) -> Result<Url, PayUsageError> {
    base.join(path).map_err(|_| PayUsageError::BadServiceUrl(base.to_string()))
}

/// The JSON of a 2xx answer; a problem document becomes `Refused`.
async fn answer(
    url: &Url,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<Value, PayUsageError> {
    let url_text = url.to_string();
    let response = sent.map_err(|e| PayUsageError::Unreachable {
        url: url_text.clone(),
        message: e.to_string(),
    })?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| PayUsageError::BadAnswer { url: url_text.clone(), message: e.to_string() })?;
    if !status.is_success() {
        return Err(PayUsageError::Refused {
            url: url_text,
            status: status.as_u16(),
            code: body["code"].as_str().unwrap_or("unknown").to_owned(),
            detail: body["detail"].as_str().unwrap_or_default().to_owned(),
        });
    }
    Ok(body)
}

mod decimal {
    use alloy::primitives::U256;
    use serde::{Deserialize, Deserializer, de::Error};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let text = String::deserialize(d)?;
        U256::from_str_radix(&text, 10)
            .map_err(|_| D::Error::custom(format!("`{text}` is not a decimal amount")))
    }
}
