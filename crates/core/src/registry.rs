//! The registry's rules as a pure state machine: the reference model that
//! the EVM contract, the Solana program and the ICP canister are tested
//! against. Every refused transition is a typed error and leaves the state
//! untouched.

use std::collections::{BTreeMap, BTreeSet};

use alloy_primitives::{B256, U256};
use serde::{Deserialize, Serialize};

use crate::id::{ChainId, ServiceId};

/// An account on the registry's chain: an EVM address, a Solana public key.
pub trait RegistryAccount: Ord + Clone + std::fmt::Debug {
    /// The bytes the service id is computed over.
    fn id_bytes(&self) -> Vec<u8>;
    /// The all-zero account, which can never sign and is refused everywhere.
    fn is_zero(&self) -> bool;
}

impl RegistryAccount for alloy_primitives::Address {
    fn id_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }

    fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }
}

impl RegistryAccount for [u8; 32] {
    fn id_bytes(&self) -> Vec<u8> {
        self.to_vec()
    }

    fn is_zero(&self) -> bool {
        self.iter().all(|b| *b == 0)
    }
}

/// Limits on endpoint records, the same on every chain so a record valid on
/// one is valid on all.
pub const MAX_KIND_LEN: usize = 32;
pub const MAX_URL_LEN: usize = 256;
const URL_SCHEMES: [&str; 4] = ["http://", "https://", "ws://", "wss://"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryParams {
    /// Least stake a provider must hold to register and to stay active.
    pub min_stake: u128,
    /// Seconds between `unbond` and the earliest `withdraw`.
    pub unbonding_period: u64,
    /// Most endpoints one provider may hold, so one provider cannot make
    /// enumeration unbounded.
    pub max_services_per_provider: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unbonding {
    pub amount: u128,
    /// Unix seconds from which `withdraw` succeeds.
    pub release_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider<A> {
    /// Hot key that manages endpoints; stake stays with the provider account.
    pub operator: A,
    /// Bonded stake.
    pub stake: u128,
    pub unbonding: Option<Unbonding>,
    pub services: BTreeSet<ServiceId>,
}

impl<A> Provider<A> {
    /// What a slash can still reach: bonded plus unbonding stake.
    pub fn slashable(&self) -> u128 {
        self.stake + self.unbonding.map_or(0, |u| u.amount)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service<A> {
    pub provider: A,
    pub chain: ChainId,
    pub kind: String,
    pub url: String,
    pub metadata_hash: B256,
}

/// A slash order whose signature has been checked by the caller: `signer`
/// is the address the signature recovered to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashOrder<A> {
    pub provider: A,
    pub amount: u128,
    pub reason: u8,
    pub evidence_hash: B256,
    pub receipt_id: B256,
    pub nonce: U256,
    pub deadline: u64,
    pub signer: A,
}

/// What each accepted transition did, for indexers and differential tests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryEvent<A> {
    ProviderRegistered { provider: A, operator: A, stake: u128 },
    StakeAdded { provider: A, amount: u128, stake: u128 },
    OperatorChanged { provider: A, operator: A },
    ServiceAdded { provider: A, service: ServiceId },
    ServiceRemoved { provider: A, service: ServiceId },
    UnbondStarted { provider: A, amount: u128, release_at: u64 },
    Withdrawn { provider: A, amount: u128, exited: bool },
    Slashed { provider: A, amount: u128, nonce: U256, reason: u8, receipt_id: B256 },
    SlasherChanged { slasher: A },
    TreasuryChanged { treasury: A },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("the zero account cannot take part")]
    ZeroAccount,
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("already registered")]
    AlreadyRegistered,
    #[error("not a registered provider")]
    NotRegistered,
    #[error("caller is not the provider's operator")]
    NotOperator,
    #[error("caller is not the owner")]
    NotOwner,
    #[error("stake {stake} is below the minimum {min}")]
    StakeBelowMinimum { stake: u128, min: u128 },
    #[error("service {0} is already registered")]
    ServiceExists(ServiceId),
    #[error("service {0} is not registered to this provider")]
    UnknownService(ServiceId),
    #[error("provider already holds the maximum of {0} services")]
    TooManyServices(usize),
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(&'static str),
    #[error("unbond of {requested} exceeds the bonded stake {stake}")]
    UnbondExceedsStake { requested: u128, stake: u128 },
    #[error("unbonding would leave {remaining}, below the minimum {min}; unbond all or less")]
    UnbondLeavesBelowMinimum { remaining: u128, min: u128 },
    #[error("nothing is unbonding")]
    NothingUnbonding,
    #[error("unbonding until {release_at}, now {now}")]
    StillUnbonding { release_at: u64, now: u64 },
    #[error("slash is not signed by the slasher")]
    NotSlasher,
    #[error("slash nonce {0} was already used")]
    NonceUsed(U256),
    #[error("slash expired at {deadline}, now {now}")]
    SlashExpired { deadline: u64, now: u64 },
    #[error("slash of {amount} exceeds the slashable stake {slashable}")]
    SlashExceedsSlashable { amount: u128, slashable: u128 },
    #[error("amount overflows the stake counter")]
    Overflow,
}

/// The registry of one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registry<A: RegistryAccount> {
    params: RegistryParams,
    owner: A,
    slasher: A,
    treasury: A,
    /// Everything ever slashed, all of it sent to the treasury.
    slashed_total: u128,
    providers: BTreeMap<A, Provider<A>>,
    services: BTreeMap<ServiceId, Service<A>>,
    used_slash_nonces: BTreeSet<U256>,
}

impl<A: RegistryAccount> Registry<A> {
    pub fn new(
        params: RegistryParams,
        owner: A,
        slasher: A,
        treasury: A,
    ) -> Result<Self, RegistryError> {
        if owner.is_zero() || slasher.is_zero() || treasury.is_zero() {
            return Err(RegistryError::ZeroAccount);
        }
        Ok(Self {
            params,
            owner,
            slasher,
            treasury,
            slashed_total: 0,
            providers: BTreeMap::new(),
            services: BTreeMap::new(),
            used_slash_nonces: BTreeSet::new(),
        })
    }

    pub fn params(&self) -> &RegistryParams {
        &self.params
    }

    pub fn slasher(&self) -> &A {
        &self.slasher
    }

    pub fn treasury(&self) -> &A {
        &self.treasury
    }

    pub fn slashed_total(&self) -> u128 {
        self.slashed_total
    }

    pub fn provider(&self, provider: &A) -> Option<&Provider<A>> {
        self.providers.get(provider)
    }

    pub fn providers(&self) -> impl Iterator<Item = (&A, &Provider<A>)> {
        self.providers.iter()
    }

    pub fn service(&self, id: &ServiceId) -> Option<&Service<A>> {
        self.services.get(id)
    }

    pub fn services(&self) -> impl Iterator<Item = (&ServiceId, &Service<A>)> {
        self.services.iter()
    }

    pub fn is_nonce_used(&self, nonce: &U256) -> bool {
        self.used_slash_nonces.contains(nonce)
    }

    /// Whether the provider holds enough bonded stake to be served.
    pub fn is_active(&self, provider: &A) -> bool {
        self.providers.get(provider).is_some_and(|p| p.stake >= self.params.min_stake)
    }

    /// Stake the contract holds for providers: bonded plus unbonding. With
    /// `slashed_total` it accounts for every token ever staked and not yet
    /// withdrawn.
    pub fn total_held(&self) -> u128 {
        self.providers.values().map(Provider::slashable).sum()
    }

    pub fn register(
        &mut self,
        caller: &A,
        operator: A,
        stake: u128,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        if caller.is_zero() || operator.is_zero() {
            return Err(RegistryError::ZeroAccount);
        }
        if self.providers.contains_key(caller) {
            return Err(RegistryError::AlreadyRegistered);
        }
        if stake < self.params.min_stake || stake == 0 {
            return Err(RegistryError::StakeBelowMinimum { stake, min: self.params.min_stake });
        }
        self.total_held().checked_add(stake).ok_or(RegistryError::Overflow)?;
        self.providers.insert(
            caller.clone(),
            Provider {
                operator: operator.clone(),
                stake,
                unbonding: None,
                services: BTreeSet::new(),
            },
        );
        Ok(RegistryEvent::ProviderRegistered { provider: caller.clone(), operator, stake })
    }

    pub fn add_stake(
        &mut self,
        caller: &A,
        amount: u128,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        if amount == 0 {
            return Err(RegistryError::ZeroAmount);
        }
        let total_held = self.total_held();
        let provider = self.providers.get_mut(caller).ok_or(RegistryError::NotRegistered)?;
        total_held.checked_add(amount).ok_or(RegistryError::Overflow)?;
        provider.stake += amount;
        Ok(RegistryEvent::StakeAdded { provider: caller.clone(), amount, stake: provider.stake })
    }

    pub fn set_operator(
        &mut self,
        caller: &A,
        operator: A,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        if operator.is_zero() {
            return Err(RegistryError::ZeroAccount);
        }
        let provider = self.providers.get_mut(caller).ok_or(RegistryError::NotRegistered)?;
        provider.operator = operator.clone();
        Ok(RegistryEvent::OperatorChanged { provider: caller.clone(), operator })
    }

    /// Adds an endpoint; `caller` must be `provider`'s operator.
    pub fn add_service(
        &mut self,
        caller: &A,
        provider_account: &A,
        chain: ChainId,
        kind: &str,
        url: &str,
        metadata_hash: B256,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        validate_endpoint(kind, url)?;
        let provider = self.providers.get(provider_account).ok_or(RegistryError::NotRegistered)?;
        if &provider.operator != caller {
            return Err(RegistryError::NotOperator);
        }
        if provider.services.len() >= self.params.max_services_per_provider {
            return Err(RegistryError::TooManyServices(self.params.max_services_per_provider));
        }
        let id = ServiceId::compute(&provider_account.id_bytes(), &chain, kind, url);
        if self.services.contains_key(&id) {
            return Err(RegistryError::ServiceExists(id));
        }
        self.services.insert(
            id,
            Service {
                provider: provider_account.clone(),
                chain,
                kind: kind.to_owned(),
                url: url.to_owned(),
                metadata_hash,
            },
        );
        self.providers.get_mut(provider_account).expect("checked above").services.insert(id);
        Ok(RegistryEvent::ServiceAdded { provider: provider_account.clone(), service: id })
    }

    pub fn remove_service(
        &mut self,
        caller: &A,
        provider_account: &A,
        id: ServiceId,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        let provider =
            self.providers.get_mut(provider_account).ok_or(RegistryError::NotRegistered)?;
        if &provider.operator != caller {
            return Err(RegistryError::NotOperator);
        }
        if !provider.services.remove(&id) {
            return Err(RegistryError::UnknownService(id));
        }
        self.services.remove(&id);
        Ok(RegistryEvent::ServiceRemoved { provider: provider_account.clone(), service: id })
    }

    /// Starts the unbonding delay for `amount`. A partial unbond must leave
    /// at least the minimum bonded; a second unbond adds to the first and
    /// restarts the delay, so stake never leaves sooner than one full period
    /// after it was last unbonded.
    pub fn unbond(
        &mut self,
        caller: &A,
        amount: u128,
        now: u64,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        if amount == 0 {
            return Err(RegistryError::ZeroAmount);
        }
        let min = self.params.min_stake;
        let period = self.params.unbonding_period;
        let provider = self.providers.get_mut(caller).ok_or(RegistryError::NotRegistered)?;
        if amount > provider.stake {
            return Err(RegistryError::UnbondExceedsStake {
                requested: amount,
                stake: provider.stake,
            });
        }
        let remaining = provider.stake - amount;
        if remaining != 0 && remaining < min {
            return Err(RegistryError::UnbondLeavesBelowMinimum { remaining, min });
        }
        let release_at = now.saturating_add(period);
        let pending = provider.unbonding.map_or(0, |u| u.amount);
        provider.stake = remaining;
        provider.unbonding = Some(Unbonding { amount: pending + amount, release_at });
        Ok(RegistryEvent::UnbondStarted { provider: caller.clone(), amount, release_at })
    }

    /// Pays out unbonded stake once its delay has passed. A provider left
    /// with nothing bonded or unbonding has exited: it and its services are
    /// removed.
    pub fn withdraw(&mut self, caller: &A, now: u64) -> Result<RegistryEvent<A>, RegistryError> {
        let provider = self.providers.get_mut(caller).ok_or(RegistryError::NotRegistered)?;
        let unbonding = provider.unbonding.ok_or(RegistryError::NothingUnbonding)?;
        if now < unbonding.release_at {
            return Err(RegistryError::StillUnbonding { release_at: unbonding.release_at, now });
        }
        provider.unbonding = None;
        let exited = provider.stake == 0;
        if exited {
            let provider = self.providers.remove(caller).expect("present");
            for id in provider.services {
                self.services.remove(&id);
            }
        }
        Ok(RegistryEvent::Withdrawn { provider: caller.clone(), amount: unbonding.amount, exited })
    }

    /// Applies a slash. Bonded stake is taken first, then unbonding stake,
    /// so a provider on its way out stays liable until it has withdrawn.
    pub fn slash(
        &mut self,
        order: &SlashOrder<A>,
        now: u64,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        if order.signer != self.slasher {
            return Err(RegistryError::NotSlasher);
        }
        if now > order.deadline {
            return Err(RegistryError::SlashExpired { deadline: order.deadline, now });
        }
        if self.used_slash_nonces.contains(&order.nonce) {
            return Err(RegistryError::NonceUsed(order.nonce));
        }
        if order.amount == 0 {
            return Err(RegistryError::ZeroAmount);
        }
        let provider =
            self.providers.get_mut(&order.provider).ok_or(RegistryError::NotRegistered)?;
        let slashable = provider.slashable();
        if order.amount > slashable {
            return Err(RegistryError::SlashExceedsSlashable { amount: order.amount, slashable });
        }
        let from_stake = order.amount.min(provider.stake);
        provider.stake -= from_stake;
        let from_unbonding = order.amount - from_stake;
        if let Some(unbonding) = provider.unbonding.as_mut() {
            unbonding.amount -= from_unbonding;
            if unbonding.amount == 0 {
                provider.unbonding = None;
            }
        }
        self.used_slash_nonces.insert(order.nonce);
        self.slashed_total += order.amount;
        Ok(RegistryEvent::Slashed {
            provider: order.provider.clone(),
            amount: order.amount,
            nonce: order.nonce,
            reason: order.reason,
            receipt_id: order.receipt_id,
        })
    }

    pub fn set_slasher(
        &mut self,
        caller: &A,
        slasher: A,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        self.only_owner(caller)?;
        if slasher.is_zero() {
            return Err(RegistryError::ZeroAccount);
        }
        self.slasher = slasher.clone();
        Ok(RegistryEvent::SlasherChanged { slasher })
    }

    pub fn set_treasury(
        &mut self,
        caller: &A,
        treasury: A,
    ) -> Result<RegistryEvent<A>, RegistryError> {
        self.only_owner(caller)?;
        if treasury.is_zero() {
            return Err(RegistryError::ZeroAccount);
        }
        self.treasury = treasury.clone();
        Ok(RegistryEvent::TreasuryChanged { treasury })
    }

    fn only_owner(&self, caller: &A) -> Result<(), RegistryError> {
        if caller == &self.owner { Ok(()) } else { Err(RegistryError::NotOwner) }
    }
}

/// Checks an endpoint record against the limits every chain enforces.
pub fn validate_endpoint(kind: &str, url: &str) -> Result<(), RegistryError> {
    if kind.is_empty() || kind.len() > MAX_KIND_LEN {
        return Err(RegistryError::InvalidEndpoint("kind must be 1–32 bytes"));
    }
    if !kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(RegistryError::InvalidEndpoint("kind must be lowercase a–z, 0–9 or -"));
    }
    if url.len() > MAX_URL_LEN {
        return Err(RegistryError::InvalidEndpoint("url is longer than 256 bytes"));
    }
    let Some(rest) = URL_SCHEMES.iter().find_map(|scheme| url.strip_prefix(scheme)) else {
        return Err(RegistryError::InvalidEndpoint(
            "url must start with http://, https://, ws:// or wss://",
        ));
    };
    if rest.is_empty() || rest.starts_with('/') {
        return Err(RegistryError::InvalidEndpoint("url has no host"));
    }
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RegistryError::InvalidEndpoint("url must be printable ASCII without spaces"));
    }
    Ok(())
}
