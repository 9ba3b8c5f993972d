//! `cairn pay …`: a payer's deposits in the settlement vault and the signed
//! payment intents that spend them.

use alloy::{
    primitives::{Address, B256, U256},
    signers::SignerSync,
    sol_types::SolStruct,
};
use cairn_bindings::{
    DevToken,
    Settlement::{self, SettlementErrors},
};
use cairn_config::Config;
use cairn_core::eip712::{PaymentIntent, settlement_domain};

use crate::{
    CliError,
    cli::{
        PayAmountArgs, PayBalanceArgs, PayCommand, PayIntentArgs, PayKeyArgs, PayUsageArgs,
        PayWithdrawArgs,
    },
    provider::{Session, address_arg, connect_as, mined, send_explained},
};

/// Environment variable read when no `--key-file` is given.
pub(crate) const PAYER_KEY_VAR: &str = "CAIRN_PAYER_KEY";
/// Environment variable read when no `--token-file` is given.
pub(crate) const SESSION_TOKEN_VAR: &str = "CAIRN_SESSION_TOKEN";

pub(crate) async fn pay(config: &Config, command: &PayCommand) -> Result<(), CliError> {
    match command {
        PayCommand::Deposit(args) => deposit(config, args).await,
        PayCommand::Withdraw(args) => withdraw(config, args).await,
        PayCommand::Balance(args) => balance(config, args).await,
        PayCommand::Intent(args) => intent(config, args).await,
        PayCommand::Usage(args) => usage(config, args).await,
    }
}

/// A connected payer and the asset its command is about.
struct Payer {
    session: Session,
    asset: Address,
}

impl Payer {
    fn settlement(&self) -> Settlement::SettlementInstance<&alloy::providers::DynProvider> {
        Settlement::new(self.session.deployment.settlement, &self.session.rpc)
    }
}

async fn connect(config: &Config, args: &PayKeyArgs) -> Result<Payer, CliError> {
    let signer = crate::load_signer(args.key_file.as_deref(), PAYER_KEY_VAR, "payer")?;
    let session = connect_as(config, signer, args.rpc.as_deref()).await?;
    let asset = address_arg("--asset", args.asset.as_deref(), session.deployment.stake_token)?;
    Ok(Payer { session, asset })
}

fn positive(flag: &'static str, amount: U256) -> Result<U256, CliError> {
    if amount.is_zero() {
        return Err(CliError::BadArgument {
            flag,
            message: "the amount must be above zero".into(),
        });
    }
    Ok(amount)
}

/// What the vault's custom errors mean, in words a payer can act on.
fn explain(error: &SettlementErrors) -> String {
    match error {
        SettlementErrors::AssetNotAllowed(e) => {
            format!("{} is not a settlement asset of this vault", e.asset)
        }
        SettlementErrors::ZeroAmount(_) => "the amount must be above zero".into(),
        SettlementErrors::InsufficientBalance(e) => format!(
            "insufficient balance: the deposit is {}, the request {}",
            e.available, e.requested
        ),
        SettlementErrors::NoPendingWithdrawal(_) => {
            "no withdrawal is pending: ask for one with `cairn pay withdraw --amount`".into()
        }
        SettlementErrors::WithdrawalNotReady(e) => {
            format!("the withdrawal is not ready: from unix time {} (now {})", e.readyAt, e.now_)
        }
        other => format!("{other:?}"),
    }
}

fn unreachable(error: impl std::fmt::Display) -> CliError {
    CliError::Rejected { action: "read the settlement vault", reason: error.to_string() }
}

async fn deposit(config: &Config, args: &PayAmountArgs) -> Result<(), CliError> {
    let amount = positive("--amount", args.amount)?;
    let payer = connect(config, &args.key).await?;
    let (account, asset) = (payer.session.signer, payer.asset);
    let settlement = payer.settlement();
    // Every refusal the chain would give, before any transaction is paid for.
    let allowed = settlement.assetAllowed(asset).call().await.map_err(unreachable)?;
    if !allowed {
        return Err(CliError::Rejected {
            action: "deposit",
            reason: format!("{asset} is not a settlement asset of this vault"),
        });
    }
    let token = DevToken::new(asset, &payer.session.rpc);
    let held = token.balanceOf(account).call().await.map_err(unreachable)?;
    if held < amount {
        return Err(CliError::Rejected {
            action: "deposit",
            reason: format!(
                "insufficient balance: {account} holds {held} of {asset}, needs {amount}"
            ),
        });
    }
    let vault = payer.session.deployment.settlement;
    let allowance = token.allowance(account, vault).call().await.map_err(unreachable)?;
    if allowance < amount {
        let receipt = send_explained("approve", token.approve(vault, amount), explain).await?;
        eprintln!("approved the vault to take {amount} ({})", mined(&receipt));
    }
    let receipt = send_explained("deposit", settlement.deposit(asset, amount), explain).await?;
    let balance = receipt
        .decoded_log::<Settlement::Deposited>()
        .map(|log| log.data.balance)
        .unwrap_or_default();
    println!("deposited {amount} of {asset}; the deposit is now {balance} ({})", mined(&receipt));
    Ok(())
}

async fn withdraw(config: &Config, args: &PayWithdrawArgs) -> Result<(), CliError> {
    let payer = connect(config, &args.key).await?;
    let (account, asset) = (payer.session.signer, payer.asset);
    let settlement = payer.settlement();
    match args.amount {
        Some(amount) => {
            let amount = positive("--amount", amount)?;
            let balance = settlement.balanceOf(account, asset).call().await.map_err(unreachable)?;
            if amount > balance {
                return Err(CliError::Rejected {
                    action: "withdraw",
                    reason: format!(
                        "insufficient balance: the deposit is {balance}, the request {amount}"
                    ),
                });
            }
            let receipt =
                send_explained("withdraw", settlement.requestWithdrawal(asset, amount), explain)
                    .await?;
            let ready = receipt
                .decoded_log::<Settlement::WithdrawalRequested>()
                .map(|log| log.data.readyAt)
                .unwrap_or_default();
            println!(
                "withdrawal of {amount} requested; complete it from unix time {ready} with `cairn pay withdraw --complete` ({})",
                mined(&receipt)
            );
        }
        None => {
            let receipt = send_explained("withdraw", settlement.withdraw(asset), explain).await?;
            let (amount, left) = receipt
                .decoded_log::<Settlement::Withdrawn>()
                .map(|log| (log.data.amount, log.data.balance))
                .unwrap_or_default();
            println!("withdrew {amount} of {asset}; {left} stays deposited ({})", mined(&receipt));
        }
    }
    Ok(())
}

async fn balance(config: &Config, args: &PayBalanceArgs) -> Result<(), CliError> {
    // Reading a balance needs no key when the account is named.
    let (session, account) = match &args.account {
        Some(text) => {
            let account = address_arg("--account", Some(text), Address::ZERO)?;
            let any_key = alloy::signers::local::PrivateKeySigner::random();
            (connect_as(config, any_key, args.key.rpc.as_deref()).await?, account)
        }
        None => {
            let payer = connect(config, &args.key).await?;
            let account = payer.session.signer;
            (payer.session, account)
        }
    };
    let asset = address_arg("--asset", args.key.asset.as_deref(), session.deployment.stake_token)?;
    let settlement = Settlement::new(session.deployment.settlement, &session.rpc);
    let balance = settlement.balanceOf(account, asset).call().await.map_err(unreachable)?;
    let pending = settlement.pendingWithdrawal(account, asset).call().await.map_err(unreachable)?;
    println!("account  {account}");
    println!("asset    {asset}");
    println!("deposit  {balance}");
    if pending.amount.is_zero() {
        println!("pending  none");
    } else {
        println!("pending  {} withdrawable from unix time {}", pending.amount, pending.readyAt);
    }
    Ok(())
}

async fn intent(config: &Config, args: &PayIntentArgs) -> Result<(), CliError> {
    let amount = positive("--amount", args.amount)?;
    let signer = crate::load_signer(args.key.key_file.as_deref(), PAYER_KEY_VAR, "payer")?;
    let payee = address_arg("--to", Some(&args.to), Address::ZERO)?;
    if payee == signer.address() {
        return Err(CliError::BadArgument {
            flag: "--to",
            message: "a payer cannot pay itself".into(),
        });
    }
    let deployment = crate::read_deployment(config)?;
    let asset = address_arg("--asset", args.key.asset.as_deref(), deployment.stake_token)?;
    let service = crate::service_url(config, args.service.as_deref())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let nonce = args.nonce.unwrap_or_else(|| U256::from_be_slice(&B256::random()[..8]));
    let intent = PaymentIntent {
        payer: signer.address(),
        payee,
        asset,
        amount,
        nonce,
        validUntil: now.saturating_add(args.valid_for),
    };
    let domain = settlement_domain(deployment.chain_id, deployment.settlement);
    let signature = signer
        .sign_hash_sync(&intent.eip712_signing_hash(&domain))
        .map_err(|e| CliError::Rejected { action: "sign the intent", reason: e.to_string() })?;
    let body = serde_json::json!({
        "intent": {
            "payer": intent.payer, "payee": intent.payee, "asset": intent.asset,
            "amount": amount.to_string(), "nonce": nonce.to_string(),
            "validUntil": intent.validUntil,
        },
        "signature": format!("0x{}", alloy::hex::encode(signature.as_bytes())),
        "domain": { "chain_id": deployment.chain_id, "verifying_contract": deployment.settlement },
    });
    let answer = crate::login::post_json(
        &reqwest::Client::new(),
        &service,
        "v1/intents",
        body,
        "pay intent",
    )
    .await?;
    let again = if answer["duplicate"] == true { " (it had been accepted before)" } else { "" };
    println!(
        "intent {} accepted{again}: {amount} of {asset} to {payee}, nonce {nonce}; settles in batch {}",
        answer["intent_hash"].as_str().unwrap_or("?"),
        answer["batch_id"]
    );
    Ok(())
}

async fn usage(config: &Config, args: &PayUsageArgs) -> Result<(), CliError> {
    let secret = crate::load_secret(args.key_file.as_deref(), PAYER_KEY_VAR, "payer")?;
    let signer = cairn_signer::LocalSigner::from_bytes(&secret)?;
    let token = match (&args.token_file, std::env::var(SESSION_TOKEN_VAR)) {
        (Some(path), _) => std::fs::read_to_string(path).map_err(|e| CliError::BadArgument {
            flag: "--token-file",
            message: format!("cannot read {}: {e}", path.display()),
        })?,
        (None, Ok(token)) => token,
        (None, Err(_)) => {
            return Err(CliError::BadArgument {
                flag: "--token-file",
                message: format!(
                    "no session token: give --token-file PATH or set {SESSION_TOKEN_VAR} (see `cairn login`)"
                ),
            });
        }
    };
    let service = crate::service_url(config, args.service.as_deref())?;
    let client =
        cairn_client::Client::builder().timeout(std::time::Duration::from_secs(30)).build();
    let valid_for = std::time::Duration::from_secs(args.valid_for);
    let outcome = client.pay_usage(&service, token.trim(), &signer, valid_for).await;
    let (paid, error) = match outcome {
        Ok(paid) => (paid, None),
        Err(partial) => (partial.paid, Some(partial.error)),
    };
    for payment in &paid {
        println!(
            "paid {} of {} to {} ({}): intent {}, settles in batch {}",
            payment.amount,
            payment.asset,
            payment.provider,
            payment.payee,
            payment.intent_hash,
            payment.batch_id
        );
    }
    match error {
        Some(error) => Err(CliError::Rejected { action: "pay usage", reason: error.to_string() }),
        None => {
            if paid.is_empty() {
                println!("nothing unpaid");
            }
            Ok(())
        }
    }
}
