//! The registry canister on a replica, over `ic-agent`: candid-encoded
//! arguments and replies with the types of `registry.did` (shared through
//! `cairn-registry-types`), query calls for reads and update calls (which go
//! through consensus and are certified) for everything that changes state or
//! signs.

use std::{sync::Arc, time::Duration};

use cairn_registry_types::{
    BatchRequest, Endpoint, EndpointArgs, EthClaim, EventEntry, InitArgs, NameEntry, ProviderInfo,
    RegistryError, ServiceRecord, SignedDigest, SlashRequest,
};
use candid::{CandidType, Principal, utils::ArgumentEncoder};
use ic_agent::{Agent, AgentError, Identity};
use serde::de::DeserializeOwned;
use serde_bytes::ByteBuf;

use crate::{CallFuture, IcpError, RegistryCanister};

/// How long one call may take before it is `Transport` (and the signer
/// `Unavailable`): an update call waits for consensus and, for signing, for
/// the threshold-ECDSA round, which takes seconds on mainnet.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Carries candid-encoded calls to a canister and brings back the reply
/// bytes. [`AgentTransport`] is `ic-agent`; tests put a loopback replica
/// here that checks every call against `registry.did`.
pub trait CandidTransport: Send + Sync {
    /// A query call: answered by one replica, not certified.
    fn query<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> CallFuture<'a, Vec<u8>>;
    /// An update call: goes through consensus, the reply certified.
    fn update<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> CallFuture<'a, Vec<u8>>;
}

/// `ic-agent` calling one canister as one identity, each call bounded by a
/// timeout.
#[derive(Clone)]
pub struct AgentTransport {
    agent: Agent,
    canister_id: Principal,
    timeout: Duration,
}

impl std::fmt::Debug for AgentTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentTransport")
            .field("canister_id", &self.canister_id.to_text())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AgentTransport {
    /// Fetches the replica's root key. Only for a local replica or PocketIC,
    /// whose key is not the mainnet key compiled into the agent; never on
    /// mainnet, where it would trust whatever the network path answers.
    pub async fn fetch_root_key(&self) -> Result<(), IcpError> {
        bounded(self.timeout, self.agent.fetch_root_key()).await
    }

    pub fn agent(&self) -> &Agent {
        &self.agent
    }
}

impl CandidTransport for AgentTransport {
    fn query<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> CallFuture<'a, Vec<u8>> {
        Box::pin(bounded(
            self.timeout,
            self.agent.query(&self.canister_id, method).with_arg(arg).call(),
        ))
    }

    fn update<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> CallFuture<'a, Vec<u8>> {
        Box::pin(bounded(
            self.timeout,
            self.agent.update(&self.canister_id, method).with_arg(arg).call_and_wait(),
        ))
    }
}

/// A registry canister reached through a replica or boundary node.
#[derive(Clone)]
pub struct AgentCanister {
    transport: Arc<dyn CandidTransport>,
    /// The agent behind `transport` when it is one (for `fetch_root_key`).
    agent: Option<AgentTransport>,
    canister_id: Principal,
    caller: Principal,
}

impl std::fmt::Debug for AgentCanister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCanister")
            .field("canister_id", &self.canister_id.to_text())
            .field("caller", &self.caller.to_text())
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

impl AgentCanister {
    /// A client of `canister_id` at `url` (e.g. `http://127.0.0.1:4943` for
    /// a local replica, `https://icp-api.io` for mainnet), calling as
    /// `identity`. Nothing is contacted until the first call.
    pub fn new(
        url: &str,
        canister_id: Principal,
        identity: Arc<dyn Identity>,
        timeout: Duration,
    ) -> Result<Self, IcpError> {
        let caller = identity.sender().map_err(IcpError::Config)?;
        // The agent's builder panics on a URL it cannot parse; refuse it here.
        let parsed = url::Url::parse(url)
            .map_err(|e| IcpError::Config(format!("replica URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
            return Err(IcpError::Config(format!("replica URL {url:?} is not http(s)://host")));
        }
        let agent = Agent::builder()
            .with_url(parsed.as_str())
            .with_arc_identity(identity)
            // Bounds how long an update call is polled for its certified
            // answer; each call is also bounded by `timeout` as a whole.
            .with_max_polling_time(timeout)
            .build()
            .map_err(|e| IcpError::Config(e.to_string()))?;
        let agent = AgentTransport { agent, canister_id, timeout };
        Ok(Self { transport: Arc::new(agent.clone()), agent: Some(agent), canister_id, caller })
    }

    /// A client over any transport, calling as `caller`: tests use a
    /// loopback replica.
    pub fn with_transport(
        transport: Arc<dyn CandidTransport>,
        canister_id: Principal,
        caller: Principal,
    ) -> Self {
        Self { transport, agent: None, canister_id, caller }
    }

    /// Fetches the replica's root key (see [`AgentTransport::fetch_root_key`]):
    /// for a local replica or PocketIC only. Nothing to do on another transport.
    pub async fn fetch_root_key(&self) -> Result<(), IcpError> {
        match &self.agent {
            Some(agent) => agent.fetch_root_key().await,
            None => Ok(()),
        }
    }

    async fn query<A, R>(&self, method: &'static str, args: A) -> Result<R, IcpError>
    where
        A: ArgumentEncoder,
        R: CandidType + DeserializeOwned,
    {
        let arg = candid::encode_args(args)
            .map_err(|e| IcpError::Candid { method, reason: e.to_string() })?;
        let reply = self.transport.query(method, arg).await?;
        decode(method, &reply)
    }

    async fn update<A, R>(&self, method: &'static str, args: A) -> Result<R, IcpError>
    where
        A: ArgumentEncoder,
        R: CandidType + DeserializeOwned,
    {
        let arg = candid::encode_args(args)
            .map_err(|e| IcpError::Candid { method, reason: e.to_string() })?;
        let reply = self.transport.update(method, arg).await?;
        decode(method, &reply)
    }

    /// An update call whose reply is `Result<R, RegistryError>`.
    async fn update_result<A, R>(&self, method: &'static str, args: A) -> Result<R, IcpError>
    where
        A: ArgumentEncoder,
        R: CandidType + DeserializeOwned,
    {
        self.update::<A, Result<R, RegistryError>>(method, args).await?.map_err(IcpError::Canister)
    }
}

fn decode<R: CandidType + DeserializeOwned>(
    method: &'static str,
    reply: &[u8],
) -> Result<R, IcpError> {
    candid::decode_one(reply).map_err(|e| IcpError::Candid { method, reason: e.to_string() })
}

async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, AgentError>>,
) -> Result<T, IcpError> {
    match tokio::time::timeout(timeout, call).await {
        Ok(result) => result.map_err(agent_error),
        Err(_) => Err(IcpError::Transport(format!("no answer within {} s", timeout.as_secs()))),
    }
}

/// A rejection by the replica is kept apart from a transport failure: it
/// names the canister's state (stopped, trapped, out of cycles), not the
/// network.
fn agent_error(error: AgentError) -> IcpError {
    match error {
        AgentError::CertifiedReject { reject, .. }
        | AgentError::UncertifiedReject { reject, .. } => IcpError::Rejected {
            code: format!("{:?}", reject.reject_code),
            message: reject.reject_message,
        },
        AgentError::TimeoutWaitingForResponse() => {
            IcpError::Transport("timed out waiting for the certified answer".into())
        }
        other => IcpError::Transport(other.to_string()),
    }
}

impl RegistryCanister for AgentCanister {
    fn canister_id(&self) -> Principal {
        self.canister_id
    }

    fn caller(&self) -> Principal {
        self.caller
    }

    fn sign_slash(&self, request: SlashRequest) -> CallFuture<'_, SignedDigest> {
        Box::pin(self.update_result("sign_slash", (request,)))
    }

    fn sign_batch(&self, request: BatchRequest) -> CallFuture<'_, SignedDigest> {
        Box::pin(self.update_result("sign_batch", (request,)))
    }

    fn public_key(&self) -> CallFuture<'_, Vec<u8>> {
        Box::pin(async move {
            self.update_result::<_, ByteBuf>("public_key", ()).await.map(ByteBuf::into_vec)
        })
    }

    fn ethereum_address(&self) -> CallFuture<'_, Vec<u8>> {
        Box::pin(async move {
            self.update_result::<_, ByteBuf>("ethereum_address", ()).await.map(ByteBuf::into_vec)
        })
    }

    fn get_config(&self) -> CallFuture<'_, Option<InitArgs>> {
        Box::pin(self.query("get_config", ()))
    }

    fn configure(&self, args: InitArgs) -> CallFuture<'_, ()> {
        Box::pin(self.update_result("configure", (args,)))
    }

    fn get_events(&self, from: u64, limit: u64) -> CallFuture<'_, Vec<EventEntry>> {
        Box::pin(self.query("get_events", (from, limit)))
    }

    fn resolve(&self, name: String) -> CallFuture<'_, NameEntry> {
        Box::pin(async move {
            self.query::<_, Result<NameEntry, RegistryError>>("resolve", (name,))
                .await?
                .map_err(IcpError::Canister)
        })
    }

    fn claim_name(&self, name: String, records: Vec<ServiceRecord>) -> CallFuture<'_, NameEntry> {
        Box::pin(self.update_result("claim_name", (name, records)))
    }

    fn claim_name_with_eth(&self, claim: EthClaim) -> CallFuture<'_, NameEntry> {
        Box::pin(self.update_result("claim_name_with_eth", (claim,)))
    }

    fn transfer_name(&self, name: String, to: Principal) -> CallFuture<'_, NameEntry> {
        Box::pin(self.update_result("transfer_name", (name, to)))
    }

    fn renew_name(&self, name: String) -> CallFuture<'_, NameEntry> {
        Box::pin(self.update_result("renew_name", (name,)))
    }

    fn set_records(&self, name: String, records: Vec<ServiceRecord>) -> CallFuture<'_, NameEntry> {
        Box::pin(self.update_result("set_records", (name, records)))
    }

    fn register_provider(&self, operator: Option<Principal>) -> CallFuture<'_, ProviderInfo> {
        Box::pin(self.update_result("register_provider", (operator,)))
    }

    fn add_endpoint(
        &self,
        provider: Principal,
        endpoint: EndpointArgs,
    ) -> CallFuture<'_, Endpoint> {
        Box::pin(self.update_result("add_endpoint", (provider, endpoint)))
    }

    fn remove_endpoint(&self, provider: Principal, service_id: Vec<u8>) -> CallFuture<'_, ()> {
        Box::pin(self.update_result("remove_endpoint", (provider, ByteBuf::from(service_id))))
    }

    fn add_stake(&self, amount: u128) -> CallFuture<'_, ProviderInfo> {
        // `nat` on the wire: u128 encodes as candid `nat`, as the canister declares.
        Box::pin(self.update_result("add_stake", (amount,)))
    }

    fn get_provider(&self, provider: Principal) -> CallFuture<'_, Option<ProviderInfo>> {
        Box::pin(self.query("get_provider", (provider,)))
    }
}

/// What `cairn serve` needs to reach the registry canister as a signer.
#[derive(Debug, Clone)]
pub struct AgentSettings<'a> {
    pub replica_url: &'a str,
    /// The canister's principal, as text.
    pub canister_id: &'a str,
    /// The caller's secp256k1 identity (PEM); refused when others can read it.
    pub identity_file: &'a std::path::Path,
    pub timeout: Duration,
    /// Fetch the replica's root key first (a local replica only).
    pub fetch_root_key: bool,
}

impl AgentCanister {
    /// The client `settings` describe, its root key fetched when asked.
    pub async fn connect(settings: &AgentSettings<'_>) -> Result<Self, IcpError> {
        let canister_id = Principal::from_text(settings.canister_id).map_err(|e| {
            IcpError::Config(format!("canister id {:?}: {e}", settings.canister_id))
        })?;
        let path = settings.identity_file;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|e| IcpError::Config(format!("{}: {e}", path.display())))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(IcpError::Config(format!(
                    "{} is readable by other users (mode {:o}); restrict it to the owner (chmod 600)",
                    path.display(),
                    mode & 0o777
                )));
            }
        }
        let identity = crate::identity::Secp256k1Identity::from_pem_file(path)
            .map_err(|e| IcpError::Config(format!("{}: {e}", path.display())))?;
        let canister =
            Self::new(settings.replica_url, canister_id, Arc::new(identity), settings.timeout)?;
        if settings.fetch_root_key {
            canister.fetch_root_key().await?;
        }
        Ok(canister)
    }
}
