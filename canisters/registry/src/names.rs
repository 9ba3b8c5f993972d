//! Names → service records. A name is held by a principal, or by an Ethereum
//! address that proved the claim with an EIP-191 signature (a principal then
//! acts for it). Names expire; an expired name resolves to `NameExpired` and
//! anyone may claim it again.

use std::str::FromStr;

use alloy_primitives::{Address, Signature};
use cairn_core::{ChainId, registry::validate_endpoint};
use candid::Principal;
use ic_stable_structures::Memory;
use serde_bytes::ByteBuf;

use crate::{
    env::Env,
    memory::Stored,
    state::State,
    types::{
        EthClaim, Event, NameEntry, NameOwner, RegistryError, ServiceRecord, eth_claim_message,
    },
};

pub const NAME_SUFFIX: &str = ".cairn";
pub const MAX_NAME_LEN: usize = 64;
pub const MAX_RECORDS: usize = 16;
pub const MAX_PROVIDER_LEN: usize = 128;

/// Lowercase DNS-like labels ending in `.cairn`, so a name reads the same
/// everywhere it is shown and cannot be confused by case or Unicode.
pub fn validate_name(name: &str) -> Result<(), RegistryError> {
    let invalid = |why: &str| Err(RegistryError::InvalidName(why.into()));
    if name.len() > MAX_NAME_LEN {
        return invalid("longer than 64 bytes");
    }
    let Some(stem) = name.strip_suffix(NAME_SUFFIX) else {
        return invalid("must end in .cairn");
    };
    for label in stem.split('.') {
        if label.is_empty() || label.starts_with('-') || label.ends_with('-') {
            return invalid("empty label or label starting or ending with -");
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return invalid("labels use a–z, 0–9 and -");
        }
    }
    Ok(())
}

/// The same endpoint rules as the on-chain registries (`cairn-core`).
pub fn validate_records(records: &[ServiceRecord]) -> Result<(), RegistryError> {
    if records.len() > MAX_RECORDS {
        return Err(RegistryError::InvalidRecord("more than 16 records".into()));
    }
    for r in records {
        ChainId::from_str(&r.chain)
            .map_err(|e| RegistryError::InvalidRecord(format!("chain: {e}")))?;
        validate_endpoint(&r.kind, &r.url)
            .map_err(|e| RegistryError::InvalidRecord(e.to_string()))?;
        if r.provider.is_empty() || r.provider.len() > MAX_PROVIDER_LEN {
            return Err(RegistryError::InvalidRecord("provider must be 1–128 bytes".into()));
        }
    }
    Ok(())
}

fn signed_in(env: &impl Env) -> Result<Principal, RegistryError> {
    let caller = env.caller();
    if caller == Principal::anonymous() { Err(RegistryError::Unauthorised) } else { Ok(caller) }
}

impl<M: Memory> State<M> {
    fn claim(
        &mut self,
        env: &impl Env,
        name: String,
        owner: NameOwner,
        records: Vec<ServiceRecord>,
    ) -> Result<NameEntry, RegistryError> {
        let controller = signed_in(env)?;
        validate_name(&name)?;
        validate_records(&records)?;
        let now = env.now_secs();
        if self.names.get(&name).is_some_and(|e| e.0.expires_at > now) {
            return Err(RegistryError::NameTaken);
        }
        let ttl = self.init_args()?.name_ttl_secs;
        let entry = NameEntry {
            name: name.clone(),
            owner: owner.clone(),
            controller,
            records: records.clone(),
            expires_at: now.saturating_add(ttl),
        };
        self.names.insert(name.clone(), Stored(entry.clone()));
        self.log(
            now,
            Event::NameClaimed {
                name: name.clone(),
                owner,
                controller,
                expires_at: entry.expires_at,
            },
        );
        self.log(now, Event::RecordsSet { name, records });
        Ok(entry)
    }

    /// Claims a free (or expired) name for the calling principal.
    pub fn claim_name(
        &mut self,
        env: &impl Env,
        name: String,
        records: Vec<ServiceRecord>,
    ) -> Result<NameEntry, RegistryError> {
        let owner = NameOwner::Principal(signed_in(env)?);
        self.claim(env, name, owner, records)
    }

    /// Claims a name for an Ethereum address that signed
    /// [`eth_claim_message`] for the calling principal and this canister.
    pub fn claim_name_with_eth(
        &mut self,
        env: &impl Env,
        claim: EthClaim,
    ) -> Result<NameEntry, RegistryError> {
        let caller = signed_in(env)?;
        let address: [u8; 20] = claim
            .address
            .as_slice()
            .try_into()
            .map_err(|_| RegistryError::InvalidArgument("address must be 20 bytes".into()))?;
        if claim.valid_until < env.now_secs() {
            return Err(RegistryError::ClaimExpired);
        }
        let message =
            eth_claim_message(&claim.name, &caller, &env.canister_id(), claim.valid_until);
        let signature =
            Signature::from_raw(&claim.signature).map_err(|_| RegistryError::BadSignature)?;
        let recovered = signature
            .recover_address_from_msg(message.as_bytes())
            .map_err(|_| RegistryError::BadSignature)?;
        if recovered != Address::from(address) {
            return Err(RegistryError::BadSignature);
        }
        self.claim(
            env,
            claim.name,
            NameOwner::Ethereum(ByteBuf::from(address.to_vec())),
            claim.records,
        )
    }

    /// A live name, for its controller to change.
    fn controlled(&self, env: &impl Env, name: &str) -> Result<NameEntry, RegistryError> {
        let entry = self.live(env, name)?;
        if entry.controller != env.caller() {
            return Err(RegistryError::Unauthorised);
        }
        Ok(entry)
    }

    fn live(&self, env: &impl Env, name: &str) -> Result<NameEntry, RegistryError> {
        let entry = self.names.get(&name.to_owned()).ok_or(RegistryError::NameNotFound)?.0;
        if entry.expires_at <= env.now_secs() {
            return Err(RegistryError::NameExpired);
        }
        Ok(entry)
    }

    /// The records of a live name.
    pub fn resolve(&self, env: &impl Env, name: &str) -> Result<NameEntry, RegistryError> {
        self.live(env, name)
    }

    /// Hands a name to another principal, which then owns and controls it.
    pub fn transfer_name(
        &mut self,
        env: &impl Env,
        name: &str,
        to: Principal,
    ) -> Result<NameEntry, RegistryError> {
        let mut entry = self.controlled(env, name)?;
        if to == Principal::anonymous() {
            return Err(RegistryError::InvalidArgument("cannot transfer to anonymous".into()));
        }
        entry.owner = NameOwner::Principal(to);
        entry.controller = to;
        self.names.insert(name.to_owned(), Stored(entry.clone()));
        self.log(env.now_secs(), Event::NameTransferred { name: name.to_owned(), controller: to });
        Ok(entry)
    }

    /// Extends a live name by one TTL from now.
    pub fn renew_name(&mut self, env: &impl Env, name: &str) -> Result<NameEntry, RegistryError> {
        let mut entry = self.controlled(env, name)?;
        let now = env.now_secs();
        entry.expires_at = now.saturating_add(self.init_args()?.name_ttl_secs);
        self.names.insert(name.to_owned(), Stored(entry.clone()));
        self.log(now, Event::NameRenewed { name: name.to_owned(), expires_at: entry.expires_at });
        Ok(entry)
    }

    pub fn set_records(
        &mut self,
        env: &impl Env,
        name: &str,
        records: Vec<ServiceRecord>,
    ) -> Result<NameEntry, RegistryError> {
        let mut entry = self.controlled(env, name)?;
        validate_records(&records)?;
        entry.records = records.clone();
        self.names.insert(name.to_owned(), Stored(entry.clone()));
        self.log(env.now_secs(), Event::RecordsSet { name: name.to_owned(), records });
        Ok(entry)
    }
}
