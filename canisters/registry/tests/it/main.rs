//! Native tests of the registry canister's logic, driven through the same
//! traits the wasm endpoints use: a settable clock and caller, and a local
//! k256 key standing in for the management canister's threshold key.

mod candid_interface;
mod conformance;
mod eth_claim;
mod events;
mod names;
mod providers;
mod sign_batch;
mod sign_slash;
mod signature;
mod stake;
mod upgrade;

use std::cell::{Cell, RefCell};

use alloy_primitives::{Address, B256, keccak256};
use cairn_registry_canister::{
    Caller, Clock, EcdsaSigner, State,
    signer::{batch_digest, slash_digest},
    types::{BatchRequest, InitArgs, SignPolicy, SlashRequest},
};
use candid::Principal;
use ic_stable_structures::DefaultMemoryImpl;
use k256::ecdsa::{Signature, SigningKey};
use serde_bytes::ByteBuf;

pub(crate) const NOW: u64 = 1_800_000_000;
pub(crate) const TTL: u64 = 30 * 24 * 3600;
pub(crate) const MAX_SLASH: u128 = 1_000;
pub(crate) const CHAIN_ID: u64 = 31_337;
pub(crate) const REGISTRY: Address = Address::repeat_byte(0x52);
pub(crate) const SETTLEMENT: Address = Address::repeat_byte(0x53);

pub(crate) fn principal(n: u8) -> Principal {
    Principal::from_slice(&[n; 10])
}

pub(crate) fn controller() -> Principal {
    principal(1)
}

/// The Cairn service's identity, allowed to ask for signatures.
pub(crate) fn service() -> Principal {
    principal(2)
}

pub(crate) fn stranger() -> Principal {
    principal(9)
}

/// The ICRC-2 ledger the test canister is configured with.
pub(crate) fn ledger_id() -> Principal {
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 2, 1, 1])
}

pub(crate) fn canister_id() -> Principal {
    Principal::from_slice(&[0, 0, 0, 0, 0, 0, 0, 7, 1, 1])
}

/// One message's caller and time, changed between calls by the test.
#[derive(Debug)]
pub(crate) struct TestEnv {
    pub(crate) caller: Cell<Principal>,
    pub(crate) now: Cell<u64>,
}

impl TestEnv {
    pub(crate) fn new() -> Self {
        Self { caller: Cell::new(controller()), now: Cell::new(NOW) }
    }

    pub(crate) fn as_caller(&self, p: Principal) -> &Self {
        self.caller.set(p);
        self
    }
}

impl Clock for TestEnv {
    fn now_secs(&self) -> u64 {
        self.now.get()
    }
}

impl Caller for TestEnv {
    fn caller(&self) -> Principal {
        self.caller.get()
    }
    fn is_controller(&self, p: &Principal) -> bool {
        *p == controller()
    }
    fn canister_id(&self) -> Principal {
        canister_id()
    }
}

/// A local secp256k1 key behind the canister's `EcdsaSigner` trait. It can
/// return the high-s twin of each signature, as the threshold protocol may,
/// and fail on demand, as a management-canister call may.
#[derive(Debug)]
pub(crate) struct LocalKey {
    pub(crate) key: SigningKey,
    pub(crate) high_s: Cell<bool>,
    pub(crate) fail: Cell<bool>,
    pub(crate) calls: Cell<u32>,
}

impl LocalKey {
    pub(crate) fn from_hex(hex_key: &str) -> Self {
        let bytes: [u8; 32] = alloy_primitives::hex::decode(hex_key).unwrap().try_into().unwrap();
        Self {
            key: SigningKey::from_bytes(&bytes.into()).unwrap(),
            high_s: Cell::new(false),
            fail: Cell::new(false),
            calls: Cell::new(0),
        }
    }

    pub(crate) fn new() -> Self {
        Self::from_hex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
    }

    pub(crate) fn address(&self) -> Address {
        let point = self.key.verifying_key().to_encoded_point(false);
        Address::from_slice(&keccak256(&point.as_bytes()[1..])[12..])
    }
}

impl EcdsaSigner for LocalKey {
    async fn public_key(&self, _path: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        Ok(self.key.verifying_key().to_sec1_bytes().to_vec())
    }

    async fn sign(&self, _path: &[Vec<u8>], digest: [u8; 32]) -> Result<[u8; 64], String> {
        self.calls.set(self.calls.get() + 1);
        if self.fail.get() {
            return Err("management canister rejected the call".into());
        }
        let (sig, _): (Signature, _) = self.key.sign_prehash_recoverable(&digest).unwrap();
        let sig = if self.high_s.get() {
            let s: k256::Scalar = *sig.s();
            Signature::from_scalars(sig.r().to_bytes(), (-s).to_bytes()).unwrap()
        } else {
            sig
        };
        Ok(sig.to_bytes().into())
    }
}

pub(crate) fn policy() -> SignPolicy {
    SignPolicy {
        max_slash_amount: MAX_SLASH,
        reasons: vec![1, 2, 3],
        max_slashes_per_window: 3,
        rate_window_secs: 3600,
        max_deadline_secs: 24 * 3600,
    }
}

pub(crate) fn init_args() -> InitArgs {
    InitArgs {
        key_name: "dfx_test_key".into(),
        signers: vec![service()],
        policy: policy(),
        name_ttl_secs: TTL,
        stake_ledger: Some(crate::ledger_id()),
    }
}

/// A configured canister on fresh memory, and that memory.
pub(crate) fn canister() -> (RefCell<State<DefaultMemoryImpl>>, DefaultMemoryImpl) {
    let memory = DefaultMemoryImpl::default();
    let mut state = State::open(memory.clone());
    state.configure(init_args());
    (RefCell::new(state), memory)
}

pub(crate) fn buf(bytes: &[u8]) -> ByteBuf {
    ByteBuf::from(bytes.to_vec())
}

/// A well-formed slash request with its digest filled in.
pub(crate) fn slash_request(provider: Address, amount: u128, nonce: u128) -> SlashRequest {
    let mut req = SlashRequest {
        chain_id: CHAIN_ID,
        registry: buf(REGISTRY.as_slice()),
        provider: buf(provider.as_slice()),
        amount,
        reason: 1,
        evidence_hash: buf(keccak256("two conflicting signed answers").as_slice()),
        receipt_id: buf(keccak256("arweave receipt").as_slice()),
        nonce,
        deadline: NOW + 3600,
        digest: buf(&[0; 32]),
    };
    with_digest(&mut req);
    req
}

pub(crate) fn with_digest(req: &mut SlashRequest) {
    req.digest = buf(slash_digest(req).unwrap().1.as_slice());
}

pub(crate) fn batch_request(batch_id: u64, prev: B256) -> BatchRequest {
    let mut req = BatchRequest {
        chain_id: CHAIN_ID,
        settlement: buf(SETTLEMENT.as_slice()),
        batch_id,
        prev_hash: buf(prev.as_slice()),
        window_start: NOW - 60,
        window_end: NOW,
        intents_root: buf(keccak256("intents").as_slice()),
        deltas_root: buf(keccak256("deltas").as_slice()),
        intent_count: 10,
        delta_count: 4,
        receipt_id: buf(keccak256("batch receipt").as_slice()),
        digest: buf(&[0; 32]),
    };
    with_batch_digest(&mut req);
    req
}

pub(crate) fn with_batch_digest(req: &mut BatchRequest) {
    req.digest = buf(batch_digest(req).unwrap().1.as_slice());
}
