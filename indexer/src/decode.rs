//! Contract logs → the store's chain events, through the generated bindings.

use alloy::{
    primitives::{Address, Log},
    sol_types::SolEventInterface,
};
use cairn_bindings::{Registry::RegistryEvents, Settlement::SettlementEvents};
use cairn_store::ChainEvent;

/// Which contract a log came from decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    pub registry: Address,
    pub settlement: Address,
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("log from {0}, which is not a Cairn contract")]
    UnknownContract(Address),
    #[error("log from {contract} does not decode as one of its events: {message}")]
    Undecodable { contract: &'static str, message: String },
}

/// Text form of an EVM account in the store: lowercase `0x` hex.
pub fn account(address: &Address) -> String {
    alloy::primitives::hex::encode_prefixed(address)
}

impl Contracts {
    pub fn addresses(&self) -> [Address; 2] {
        [self.registry, self.settlement]
    }

    /// The chain event a log records, or `None` for events that change no
    /// derived state (ownership, signer rotation, allowed assets).
    pub fn decode(&self, log: &Log) -> Result<Option<ChainEvent>, DecodeError> {
        if log.address == self.registry {
            let event = RegistryEvents::decode_log(log).map_err(|e| DecodeError::Undecodable {
                contract: "Registry",
                message: e.to_string(),
            })?;
            Ok(registry_event(event.data))
        } else if log.address == self.settlement {
            let event = SettlementEvents::decode_log(log).map_err(|e| {
                DecodeError::Undecodable { contract: "Settlement", message: e.to_string() }
            })?;
            Ok(settlement_event(event.data))
        } else {
            Err(DecodeError::UnknownContract(log.address))
        }
    }
}

/// Why an endpoint's text cannot be served as it is, if it cannot: the
/// contract takes any bytes as the chain, and a NUL byte or a chain id that
/// is not CAIP-2 would otherwise halt the store or mislead discovery. The
/// reason quotes the text escaped, so it holds no NUL itself.
pub fn endpoint_problem(chain: &str, kind: &str, url: &str) -> Option<String> {
    let printable = |text: &str| text.chars().all(|c| !c.is_control());
    if !printable(chain) || chain.parse::<cairn_core::ChainId>().is_err() {
        return Some(format!("chain {chain:?} is not a CAIP-2 chain id"));
    }
    if !printable(kind) {
        return Some(format!("kind {kind:?} holds control characters"));
    }
    if !printable(url) {
        return Some(format!("url {url:?} holds control characters"));
    }
    None
}

fn registry_event(event: RegistryEvents) -> Option<ChainEvent> {
    Some(match event {
        RegistryEvents::ProviderRegistered(e) => ChainEvent::ProviderRegistered {
            provider: account(&e.provider),
            operator: account(&e.operator),
            stake: e.stake,
        },
        RegistryEvents::StakeAdded(e) => ChainEvent::StakeAdded {
            provider: account(&e.provider),
            amount: e.amount,
            stake: e.stake,
        },
        RegistryEvents::OperatorChanged(e) => ChainEvent::OperatorChanged {
            provider: account(&e.provider),
            operator: account(&e.operator),
        },
        RegistryEvents::ServiceAdded(e) => match endpoint_problem(&e.chain, &e.kind, &e.url) {
            Some(reason) => ChainEvent::Rejected { event: "ServiceAdded".into(), reason },
            None => ChainEvent::ServiceAdded {
                service_id: e.serviceId,
                provider: account(&e.provider),
                service_chain: e.chain,
                service_kind: e.kind,
                url: e.url,
                metadata_hash: e.metadataHash,
            },
        },
        RegistryEvents::ServiceRemoved(e) => {
            ChainEvent::ServiceRemoved { service_id: e.serviceId, provider: account(&e.provider) }
        }
        RegistryEvents::UnbondStarted(e) => ChainEvent::UnbondStarted {
            provider: account(&e.provider),
            amount: e.amount,
            stake: e.stake,
            unbonding: e.unbonding,
            release_at: e.releaseAt,
        },
        RegistryEvents::Withdrawn(e) => ChainEvent::Withdrawn {
            provider: account(&e.provider),
            amount: e.amount,
            exited: e.exited,
        },
        RegistryEvents::Slashed(e) => ChainEvent::Slashed {
            provider: account(&e.provider),
            nonce: e.nonce,
            amount: e.amount,
            reason: e.reason,
            evidence_hash: e.evidenceHash,
            receipt_id: e.receiptId,
            stake: e.stake,
            unbonding: e.unbonding,
        },
        RegistryEvents::SlasherChanged(_)
        | RegistryEvents::TreasuryChanged(_)
        | RegistryEvents::OwnershipTransferred(_)
        | RegistryEvents::OwnershipTransferStarted(_)
        | RegistryEvents::EIP712DomainChanged(_) => return None,
    })
}

fn settlement_event(event: SettlementEvents) -> Option<ChainEvent> {
    Some(match event {
        SettlementEvents::Deposited(e) => ChainEvent::Deposited {
            account: account(&e.account),
            asset: account(&e.asset),
            amount: e.amount,
            balance: e.balance,
        },
        SettlementEvents::WithdrawalRequested(e) => ChainEvent::WithdrawalRequested {
            account: account(&e.account),
            asset: account(&e.asset),
            amount: e.amount,
            ready_at: e.readyAt,
        },
        SettlementEvents::Withdrawn(e) => ChainEvent::BalanceWithdrawn {
            account: account(&e.account),
            asset: account(&e.asset),
            amount: e.amount,
            balance: e.balance,
        },
        SettlementEvents::BatchSettled(e) => ChainEvent::BatchSettled {
            batch_id: e.batchId,
            commitment_hash: e.commitmentHash,
            intents_root: e.intentsRoot,
            deltas_root: e.deltasRoot,
            receipt_id: e.receiptId,
            window_start: e.windowStart,
            window_end: e.windowEnd,
            intent_count: e.intentCount,
            delta_count: e.deltaCount,
        },
        SettlementEvents::BalanceChanged(e) => ChainEvent::BalanceChanged {
            batch_id: e.batchId,
            account: account(&e.account),
            asset: account(&e.asset),
            delta: e.delta,
            balance: e.balance,
        },
        SettlementEvents::AssetAllowed(_)
        | SettlementEvents::SettlementSignerChanged(_)
        | SettlementEvents::OwnershipTransferred(_)
        | SettlementEvents::OwnershipTransferStarted(_)
        | SettlementEvents::EIP712DomainChanged(_) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_lowercase_prefixed_hex() {
        let address = alloy::primitives::address!("0xAbC00000000000000000000000000000000D0eF1");
        assert_eq!(account(&address), "0xabc00000000000000000000000000000000d0ef1");
    }
}
