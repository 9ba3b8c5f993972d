//! The ICP-side provider registry: a principal registers as a provider (with
//! an operator principal that may manage endpoints) and adds endpoints under
//! the endpoint rules of `cairn-core`. Stake is recorded as zero: no ICRC
//! ledger is consulted yet, so nothing here is slashable on the IC.

use std::str::FromStr;

use cairn_core::{ChainId, ServiceId, registry::validate_endpoint};
use candid::Principal;
use ic_stable_structures::Memory;
use serde_bytes::ByteBuf;

use crate::{
    env::Env,
    memory::Stored,
    state::State,
    types::{Endpoint, EndpointArgs, Event, ProviderInfo, RegistryError},
};

/// Same bound as the EVM dev deployment's `maxServicesPerProvider`.
pub const MAX_ENDPOINTS_PER_PROVIDER: usize = 8;

impl<M: Memory> State<M> {
    pub fn register_provider(
        &mut self,
        env: &impl Env,
        operator: Option<Principal>,
    ) -> Result<ProviderInfo, RegistryError> {
        let provider = env.caller();
        if provider == Principal::anonymous() {
            return Err(RegistryError::Unauthorised);
        }
        let operator = operator.unwrap_or(provider);
        if operator == Principal::anonymous() {
            return Err(RegistryError::InvalidArgument("operator is anonymous".into()));
        }
        if self.providers.contains_key(&provider) {
            return Err(RegistryError::AlreadyRegistered);
        }
        let now = env.now_secs();
        let info =
            ProviderInfo { provider, operator, stake: 0, endpoints: vec![], registered_at: now };
        self.providers.insert(provider, Stored(info.clone()));
        self.log(now, Event::ProviderRegistered { provider, operator });
        Ok(info)
    }

    fn managed(&self, env: &impl Env, provider: &Principal) -> Result<ProviderInfo, RegistryError> {
        let info = self.providers.get(provider).ok_or(RegistryError::NotRegistered)?.0;
        let caller = env.caller();
        if caller != info.provider && caller != info.operator {
            return Err(RegistryError::Unauthorised);
        }
        Ok(info)
    }

    pub fn add_endpoint(
        &mut self,
        env: &impl Env,
        provider: Principal,
        args: EndpointArgs,
    ) -> Result<Endpoint, RegistryError> {
        let mut info = self.managed(env, &provider)?;
        let chain = ChainId::from_str(&args.chain)
            .map_err(|e| RegistryError::InvalidRecord(format!("chain: {e}")))?;
        validate_endpoint(&args.kind, &args.url)
            .map_err(|e| RegistryError::InvalidRecord(e.to_string()))?;
        let id = ServiceId::compute(provider.as_slice(), &chain, &args.kind, &args.url);
        let service_id = ByteBuf::from(id.0.to_vec());
        if info.endpoints.iter().any(|e| e.service_id == service_id) {
            return Err(RegistryError::InvalidRecord("endpoint already registered".into()));
        }
        if info.endpoints.len() >= MAX_ENDPOINTS_PER_PROVIDER {
            return Err(RegistryError::TooManyEndpoints);
        }
        let endpoint =
            Endpoint { service_id, provider, chain: args.chain, kind: args.kind, url: args.url };
        info.endpoints.push(endpoint.clone());
        self.providers.insert(provider, Stored(info));
        self.log(env.now_secs(), Event::EndpointAdded { endpoint: endpoint.clone() });
        Ok(endpoint)
    }

    pub fn remove_endpoint(
        &mut self,
        env: &impl Env,
        provider: Principal,
        service_id: ByteBuf,
    ) -> Result<(), RegistryError> {
        let mut info = self.managed(env, &provider)?;
        let before = info.endpoints.len();
        info.endpoints.retain(|e| e.service_id != service_id);
        if info.endpoints.len() == before {
            return Err(RegistryError::EndpointNotFound);
        }
        self.providers.insert(provider, Stored(info));
        self.log(env.now_secs(), Event::EndpointRemoved { service_id, provider });
        Ok(())
    }

    pub fn get_provider(&self, provider: &Principal) -> Option<ProviderInfo> {
        self.providers.get(provider).map(|p| p.0)
    }
}
