//! The calls Cairn's off-chain side makes to the registry canister, as one
//! trait with a replica-backed and an in-process implementation.

use std::{future::Future, pin::Pin};

use cairn_registry_types::{
    BatchRequest, Endpoint, EndpointArgs, EthClaim, EventEntry, InitArgs, NameEntry, ProviderInfo,
    ServiceRecord, SignedDigest, SlashRequest,
};
use candid::Principal;

use crate::IcpError;

/// A pending call: boxed so `dyn RegistryCanister` works, `Send` so a
/// service awaits it on any worker.
pub type CallFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, IcpError>> + Send + 'a>>;

/// The registry canister as its clients see it: every method of
/// `registry.did` that the signer, the indexer and the CLI need, made as the
/// identity the implementation was built with. Reads are query calls; every
/// call that changes state or signs is an update call. A canister refusal
/// is [`IcpError::Canister`] with its code.
pub trait RegistryCanister: Send + Sync + std::fmt::Debug {
    /// The canister called.
    fn canister_id(&self) -> Principal;
    /// The principal calls are made as.
    fn caller(&self) -> Principal;

    // --- policy signer (update calls: they reserve nonces and batch ids)
    fn sign_slash(&self, request: SlashRequest) -> CallFuture<'_, SignedDigest>;
    fn sign_batch(&self, request: BatchRequest) -> CallFuture<'_, SignedDigest>;
    /// SEC1 public key of the policy key (update: the first one asks the
    /// management canister).
    fn public_key(&self) -> CallFuture<'_, Vec<u8>>;
    /// The 20-byte Ethereum address the contracts hold as slasher and
    /// settlement signer.
    fn ethereum_address(&self) -> CallFuture<'_, Vec<u8>>;
    fn get_config(&self) -> CallFuture<'_, Option<InitArgs>>;
    /// Controllers only.
    fn configure(&self, args: InitArgs) -> CallFuture<'_, ()>;

    // --- event log (query)
    /// Events `from` onward, at most `limit` (the canister caps a page at 256).
    fn get_events(&self, from: u64, limit: u64) -> CallFuture<'_, Vec<EventEntry>>;

    // --- names
    fn resolve(&self, name: String) -> CallFuture<'_, NameEntry>;
    fn claim_name(&self, name: String, records: Vec<ServiceRecord>) -> CallFuture<'_, NameEntry>;
    fn claim_name_with_eth(&self, claim: EthClaim) -> CallFuture<'_, NameEntry>;
    fn transfer_name(&self, name: String, to: Principal) -> CallFuture<'_, NameEntry>;
    fn renew_name(&self, name: String) -> CallFuture<'_, NameEntry>;
    fn set_records(&self, name: String, records: Vec<ServiceRecord>) -> CallFuture<'_, NameEntry>;

    // --- providers
    fn register_provider(&self, operator: Option<Principal>) -> CallFuture<'_, ProviderInfo>;
    fn add_endpoint(&self, provider: Principal, endpoint: EndpointArgs)
    -> CallFuture<'_, Endpoint>;
    fn remove_endpoint(&self, provider: Principal, service_id: Vec<u8>) -> CallFuture<'_, ()>;
    fn add_stake(&self, amount: u128) -> CallFuture<'_, ProviderInfo>;
    fn get_provider(&self, provider: Principal) -> CallFuture<'_, Option<ProviderInfo>>;
}
