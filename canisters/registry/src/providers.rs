//! The ICP-side provider registry: a principal registers as a provider (with
//! an operator principal that may manage endpoints) and adds endpoints under
//! the endpoint rules of `cairn-core`. Stake arrives through an ICRC-2
//! `transfer_from` on the configured ledger and is recorded only after the
//! ledger confirms it; it cannot be unbonded or slashed on the IC yet.

use std::{cell::RefCell, str::FromStr};

use cairn_core::{ChainId, ServiceId, registry::validate_endpoint};
use candid::Principal;
use ic_stable_structures::Memory;

use serde_bytes::ByteBuf;

use crate::{
    env::{Env, StakeLedger},
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

/// Moves `amount` from the calling provider to this canister on the stake
/// ledger and records it. The provider must have approved the canister for
/// at least `amount` (plus the ledger fee) with `icrc2_approve`.
pub async fn add_stake<M: Memory>(
    state: &RefCell<State<M>>,
    env: &impl Env,
    ledger: &impl StakeLedger,
    amount: u128,
) -> Result<ProviderInfo, RegistryError> {
    let provider = env.caller();
    let ledger_id = {
        let state = state.borrow();
        if !state.providers.contains_key(&provider) {
            return Err(RegistryError::NotRegistered);
        }
        state.init_args()?.stake_ledger.ok_or(RegistryError::NoStakeLedger)?
    };
    if amount == 0 {
        return Err(RegistryError::InvalidArgument("amount must be positive".into()));
    }
    let block_index = ledger
        .transfer_from(ledger_id, provider, env.canister_id(), amount)
        .await
        .map_err(RegistryError::Ledger)?;
    // Re-read after the await: other messages ran in between. Providers are
    // never removed, so the record is still there.
    let mut state = state.borrow_mut();
    let mut info = state.providers.get(&provider).ok_or(RegistryError::NotRegistered)?.0;
    // The ledger's supply is far below u128; saturating only guards the type.
    info.stake = info.stake.saturating_add(amount);
    state.providers.insert(provider, Stored(info.clone()));
    state.log(
        env.now_secs(),
        Event::StakeAdded { provider, amount, ledger: ledger_id, block_index, stake: info.stake },
    );
    Ok(info)
}
