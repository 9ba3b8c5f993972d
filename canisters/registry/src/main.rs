//! The canister's endpoints and nothing else: each reads the caller and time
//! from `ic_cdk`, the key from the management canister, and calls the
//! library. Natively this binary prints the candid interface.

use std::{cell::RefCell, rc::Rc};

use cairn_registry_canister::{
    Caller, Clock, EcdsaSigner, StakeLedger, State,
    types::{
        BatchRequest, Endpoint, EndpointArgs, EthClaim, EventEntry, InitArgs, NameEntry,
        ProviderInfo, RegistryError, ServiceRecord, SignedDigest, SlashRequest,
    },
};
use candid::{CandidType, Principal};
use ic_cdk::call::Call;
use ic_stable_structures::DefaultMemoryImpl;
use serde::Deserialize;
use serde_bytes::ByteBuf;

#[cfg(target_arch = "wasm32")]
fn no_randomness(_: &mut [u8]) -> Result<(), getrandom_02::Error> {
    Err(getrandom_02::Error::UNSUPPORTED)
}
#[cfg(target_arch = "wasm32")]
getrandom_02::register_custom_getrandom!(no_randomness);

thread_local! {
    // Rc so an async endpoint can hold the state across its await points.
    static STATE: Rc<RefCell<State<DefaultMemoryImpl>>> =
        Rc::new(RefCell::new(State::open(DefaultMemoryImpl::default())));
}

fn state() -> Rc<RefCell<State<DefaultMemoryImpl>>> {
    STATE.with(Rc::clone)
}

struct Ic;

impl Clock for Ic {
    fn now_secs(&self) -> u64 {
        ic_cdk::api::time() / 1_000_000_000
    }
}

impl Caller for Ic {
    fn caller(&self) -> Principal {
        ic_cdk::api::msg_caller()
    }
    fn is_controller(&self, principal: &Principal) -> bool {
        ic_cdk::api::is_controller(principal)
    }
    fn canister_id(&self) -> Principal {
        ic_cdk::api::canister_self()
    }
}

#[derive(CandidType, Deserialize)]
enum EcdsaCurve {
    #[serde(rename = "secp256k1")]
    Secp256k1,
}

#[derive(CandidType, Deserialize)]
struct EcdsaKeyId {
    curve: EcdsaCurve,
    name: String,
}

#[derive(CandidType)]
struct SignWithEcdsaArgs {
    message_hash: ByteBuf,
    derivation_path: Vec<ByteBuf>,
    key_id: EcdsaKeyId,
}

#[derive(Deserialize, CandidType)]
struct SignWithEcdsaResult {
    signature: ByteBuf,
}

#[derive(CandidType)]
struct EcdsaPublicKeyArgs {
    canister_id: Option<Principal>,
    derivation_path: Vec<ByteBuf>,
    key_id: EcdsaKeyId,
}

#[derive(Deserialize, CandidType)]
struct EcdsaPublicKeyResult {
    public_key: ByteBuf,
}

/// The management canister's threshold key named in the init args.
struct Management {
    key_name: String,
}

impl Management {
    fn current() -> Result<Self, RegistryError> {
        let key_name =
            state().borrow().config().init.map(|i| i.key_name).ok_or_else(|| {
                RegistryError::InvalidArgument("canister is not configured".into())
            })?;
        Ok(Self { key_name })
    }

    fn key_id(&self) -> EcdsaKeyId {
        EcdsaKeyId { curve: EcdsaCurve::Secp256k1, name: self.key_name.clone() }
    }
}

fn path(derivation_path: &[Vec<u8>]) -> Vec<ByteBuf> {
    derivation_path.iter().cloned().map(ByteBuf::from).collect()
}

impl EcdsaSigner for Management {
    async fn public_key(&self, derivation_path: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        let args = EcdsaPublicKeyArgs {
            canister_id: None,
            derivation_path: path(derivation_path),
            key_id: self.key_id(),
        };
        let reply = Call::unbounded_wait(Principal::management_canister(), "ecdsa_public_key")
            .with_arg(args)
            .await
            .map_err(|e| e.to_string())?;
        let reply: EcdsaPublicKeyResult = reply.candid().map_err(|e| e.to_string())?;
        Ok(reply.public_key.into_vec())
    }

    async fn sign(
        &self,
        derivation_path: &[Vec<u8>],
        digest: [u8; 32],
    ) -> Result<[u8; 64], String> {
        // Secp256k1 is curve 0 in the cost API.
        let cycles =
            ic_cdk::api::cost_sign_with_ecdsa(&self.key_name, 0).map_err(|e| format!("{e:?}"))?;
        let args = SignWithEcdsaArgs {
            message_hash: ByteBuf::from(digest.to_vec()),
            derivation_path: path(derivation_path),
            key_id: self.key_id(),
        };
        let reply = Call::unbounded_wait(Principal::management_canister(), "sign_with_ecdsa")
            .with_arg(args)
            .with_cycles(cycles)
            .await
            .map_err(|e| e.to_string())?;
        let reply: SignWithEcdsaResult = reply.candid().map_err(|e| e.to_string())?;
        reply.signature.as_slice().try_into().map_err(|_| "signature is not 64 bytes".to_owned())
    }
}

#[derive(CandidType, Deserialize)]
struct Account {
    owner: Principal,
    subaccount: Option<ByteBuf>,
}

#[derive(CandidType)]
struct TransferFromArgs {
    spender_subaccount: Option<ByteBuf>,
    from: Account,
    to: Account,
    amount: candid::Nat,
    fee: Option<candid::Nat>,
    memo: Option<ByteBuf>,
    created_at_time: Option<u64>,
}

/// ICRC-2's `TransferFromError`, decoded so the reason reaches the caller.
#[derive(CandidType, Deserialize, Debug)]
enum TransferFromError {
    BadFee { expected_fee: candid::Nat },
    BadBurn { min_burn_amount: candid::Nat },
    InsufficientFunds { balance: candid::Nat },
    InsufficientAllowance { allowance: candid::Nat },
    TooOld,
    CreatedInFuture { ledger_time: u64 },
    Duplicate { duplicate_of: candid::Nat },
    TemporarilyUnavailable,
    GenericError { error_code: candid::Nat, message: String },
}

/// The ICRC-2 ledger named in the init args.
struct Icrc2;

impl StakeLedger for Icrc2 {
    async fn transfer_from(
        &self,
        ledger: Principal,
        from: Principal,
        to: Principal,
        amount: u128,
    ) -> Result<u128, String> {
        let args = TransferFromArgs {
            spender_subaccount: None,
            from: Account { owner: from, subaccount: None },
            to: Account { owner: to, subaccount: None },
            amount: candid::Nat::from(amount),
            fee: None,
            memo: None,
            created_at_time: None,
        };
        let reply = Call::unbounded_wait(ledger, "icrc2_transfer_from")
            .with_arg(args)
            .await
            .map_err(|e| e.to_string())?;
        let result: Result<candid::Nat, TransferFromError> =
            reply.candid().map_err(|e| e.to_string())?;
        let block = result.map_err(|e| format!("{e:?}"))?;
        u128::try_from(block.0).map_err(|_| "block index beyond u128".to_owned())
    }
}

#[ic_cdk::init]
fn init(args: InitArgs) {
    state().borrow_mut().configure(args);
}

// No pre_upgrade: every structure writes through to stable memory, so there
// is nothing to save. post_upgrade reopens the same memory.
#[ic_cdk::post_upgrade]
fn post_upgrade() {
    let _ = state();
}

/// Replaces key name, signers and policy. Controllers only.
#[ic_cdk::update]
fn configure(args: InitArgs) -> Result<(), RegistryError> {
    if !ic_cdk::api::is_controller(&ic_cdk::api::msg_caller()) {
        return Err(RegistryError::Unauthorised);
    }
    state().borrow_mut().configure(args);
    Ok(())
}

#[ic_cdk::query]
fn get_config() -> Option<InitArgs> {
    state().borrow().config().init
}

#[ic_cdk::update]
async fn sign_slash(request: SlashRequest) -> Result<SignedDigest, RegistryError> {
    let signer = Management::current()?;
    cairn_registry_canister::sign_slash(&state(), &Ic, &signer, request).await
}

#[ic_cdk::update]
async fn sign_batch(request: BatchRequest) -> Result<SignedDigest, RegistryError> {
    let signer = Management::current()?;
    cairn_registry_canister::sign_batch(&state(), &Ic, &signer, request).await
}

#[ic_cdk::update]
async fn public_key() -> Result<ByteBuf, RegistryError> {
    let signer = Management::current()?;
    cairn_registry_canister::public_key(&state(), &signer).await.map(ByteBuf::from)
}

#[ic_cdk::update]
async fn ethereum_address() -> Result<ByteBuf, RegistryError> {
    let signer = Management::current()?;
    cairn_registry_canister::ethereum_address(&state(), &signer).await.map(ByteBuf::from)
}

#[ic_cdk::query]
fn get_events(from: u64, limit: u64) -> Vec<EventEntry> {
    state().borrow().get_events(from, limit)
}

#[ic_cdk::update]
fn claim_name(name: String, records: Vec<ServiceRecord>) -> Result<NameEntry, RegistryError> {
    state().borrow_mut().claim_name(&Ic, name, records)
}

#[ic_cdk::update]
fn claim_name_with_eth(claim: EthClaim) -> Result<NameEntry, RegistryError> {
    state().borrow_mut().claim_name_with_eth(&Ic, claim)
}

#[ic_cdk::update]
fn transfer_name(name: String, to: Principal) -> Result<NameEntry, RegistryError> {
    state().borrow_mut().transfer_name(&Ic, &name, to)
}

#[ic_cdk::update]
fn renew_name(name: String) -> Result<NameEntry, RegistryError> {
    state().borrow_mut().renew_name(&Ic, &name)
}

#[ic_cdk::update]
fn set_records(name: String, records: Vec<ServiceRecord>) -> Result<NameEntry, RegistryError> {
    state().borrow_mut().set_records(&Ic, &name, records)
}

#[ic_cdk::query]
fn resolve(name: String) -> Result<NameEntry, RegistryError> {
    state().borrow().resolve(&Ic, &name)
}

#[ic_cdk::update]
fn register_provider(operator: Option<Principal>) -> Result<ProviderInfo, RegistryError> {
    state().borrow_mut().register_provider(&Ic, operator)
}

#[ic_cdk::update]
fn add_endpoint(provider: Principal, endpoint: EndpointArgs) -> Result<Endpoint, RegistryError> {
    state().borrow_mut().add_endpoint(&Ic, provider, endpoint)
}

#[ic_cdk::update]
fn remove_endpoint(provider: Principal, service_id: ByteBuf) -> Result<(), RegistryError> {
    state().borrow_mut().remove_endpoint(&Ic, provider, service_id)
}

/// Takes `amount` of stake from the calling provider on the stake ledger
/// (approve this canister first with `icrc2_approve`).
#[ic_cdk::update]
async fn add_stake(amount: u128) -> Result<ProviderInfo, RegistryError> {
    cairn_registry_canister::add_stake(&state(), &Ic, &Icrc2, amount).await
}

#[ic_cdk::query]
fn get_provider(provider: Principal) -> Option<ProviderInfo> {
    state().borrow().get_provider(&provider)
}

ic_cdk::export_candid!();

fn main() {
    // `cargo run -p cairn-registry-canister` prints the interface that
    // `registry.did` must match.
    println!("{}", __export_service());
}
