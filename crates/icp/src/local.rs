//! The registry canister run in this process: its own library
//! (`cairn-registry-canister`) behind its env traits, with a local k256 key
//! standing in for the management canister's threshold key. Tests use it
//! where no replica runs; it is the same logic the wasm build ships, minus
//! the `ic_cdk` glue in its `main.rs`.
//!
//! A canister executes one message at a time on its own state, and that
//! state (`DefaultMemoryImpl`, `RefCell`s, non-`Send` futures) cannot cross
//! threads, so the canister lives on a thread of its own and every call is a
//! message to it, answered over a oneshot channel. Handles are cheap clones
//! that differ only in the principal they call as.

use std::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    rc::Rc,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    time::{SystemTime, UNIX_EPOCH},
};

use cairn_registry_canister::{Caller, Clock, EcdsaSigner, StakeLedger, State};
use cairn_registry_types::{
    BatchRequest, Endpoint, EndpointArgs, EthClaim, EventEntry, InitArgs, NameEntry, ProviderInfo,
    RegistryError, ServiceRecord, SignedDigest, SlashRequest,
};
use candid::Principal;
use ic_stable_structures::DefaultMemoryImpl;
use k256::ecdsa::{Signature, SigningKey};
use serde_bytes::ByteBuf;
use tokio::sync::oneshot;

use crate::{CallFuture, IcpError, RegistryCanister};

type Job = Box<dyn FnOnce(Rc<Replica>) -> Pin<Box<dyn Future<Output = ()>>> + Send>;

/// What lives on the canister's thread.
struct Replica {
    state: RefCell<State<DefaultMemoryImpl>>,
    key: LocalEcdsa,
}

/// The management canister's `ecdsa_public_key` / `sign_with_ecdsa`, answered
/// by one local key (the derivation path is not applied: the key *is* the
/// derived policy key).
struct LocalEcdsa {
    key: SigningKey,
    fail: Arc<AtomicBool>,
}

impl EcdsaSigner for LocalEcdsa {
    async fn public_key(&self, _path: &[Vec<u8>]) -> Result<Vec<u8>, String> {
        Ok(self.key.verifying_key().to_sec1_bytes().to_vec())
    }

    async fn sign(&self, _path: &[Vec<u8>], digest: [u8; 32]) -> Result<[u8; 64], String> {
        if self.fail.load(Ordering::SeqCst) {
            return Err("management canister rejected sign_with_ecdsa".into());
        }
        let (signature, _): (Signature, _) =
            self.key.sign_prehash_recoverable(&digest).map_err(|e| e.to_string())?;
        Ok(signature.to_bytes().into())
    }
}

/// No ICRC-2 ledger runs in process: `add_stake` with a ledger configured
/// gets the ledger's refusal, and records nothing.
struct NoLedger;

impl StakeLedger for NoLedger {
    async fn transfer_from(
        &self,
        ledger: Principal,
        _from: Principal,
        _to: Principal,
        _amount: u128,
    ) -> Result<u128, String> {
        Err(format!("ledger {ledger} is not reachable from the in-process canister"))
    }
}

/// Caller, time and controllers of one message.
struct MessageEnv {
    caller: Principal,
    now: u64,
    controllers: Arc<Vec<Principal>>,
    canister_id: Principal,
}

impl Clock for MessageEnv {
    fn now_secs(&self) -> u64 {
        self.now
    }
}

impl Caller for MessageEnv {
    fn caller(&self) -> Principal {
        self.caller
    }
    fn is_controller(&self, principal: &Principal) -> bool {
        self.controllers.contains(principal)
    }
    fn canister_id(&self) -> Principal {
        self.canister_id
    }
}

#[derive(Debug)]
struct Shared {
    jobs: mpsc::Sender<Job>,
    canister_id: Principal,
    controllers: Arc<Vec<Principal>>,
    /// Unix seconds; 0 follows the wall clock.
    time: AtomicU64,
    signing_fails: Arc<AtomicBool>,
}

/// A handle on an in-process registry canister, calling as one principal.
#[derive(Debug, Clone)]
pub struct InProcessCanister {
    shared: Arc<Shared>,
    caller: Principal,
}

impl InProcessCanister {
    /// Installs a fresh canister with `init` (as `canister_init` would),
    /// controlled by `controller`, signing with `key`. The handle calls as
    /// the controller.
    pub fn install(
        canister_id: Principal,
        controller: Principal,
        init: InitArgs,
        key: SigningKey,
    ) -> Result<Self, IcpError> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let signing_fails = Arc::new(AtomicBool::new(false));
        let fail = Arc::clone(&signing_fails);
        std::thread::Builder::new()
            .name("in-process-canister".into())
            .spawn(move || {
                // One message at a time, like the canister's single thread.
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().build() else {
                    return;
                };
                let mut state = State::open(DefaultMemoryImpl::default());
                state.configure(init);
                let replica =
                    Rc::new(Replica { state: RefCell::new(state), key: LocalEcdsa { key, fail } });
                // Ends when every handle (and so every sender) is dropped.
                while let Ok(job) = inbox.recv() {
                    runtime.block_on(job(Rc::clone(&replica)));
                }
            })
            .map_err(|e| IcpError::Config(format!("cannot start the in-process canister: {e}")))?;
        Ok(Self {
            shared: Arc::new(Shared {
                jobs,
                canister_id,
                controllers: Arc::new(vec![controller]),
                time: AtomicU64::new(0),
                signing_fails,
            }),
            caller: controller,
        })
    }

    /// A handle on the same canister that calls as `caller` (another
    /// identity on an agent).
    pub fn as_caller(&self, caller: Principal) -> Self {
        Self { shared: Arc::clone(&self.shared), caller }
    }

    /// Fixes the canister's clock at `secs` (0: follow the wall clock again).
    pub fn set_time(&self, secs: u64) {
        self.shared.time.store(secs, Ordering::SeqCst);
    }

    /// Makes the stand-in management canister fail every `sign_with_ecdsa`,
    /// as a rejected threshold call would.
    pub fn set_signing_fails(&self, fails: bool) {
        self.shared.signing_fails.store(fails, Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        match self.shared.time.load(Ordering::SeqCst) {
            0 => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            fixed => fixed,
        }
    }

    /// Runs `call` as one message on the canister's thread.
    fn run<T, F, Fut>(&self, call: F) -> CallFuture<'_, T>
    where
        T: Send + 'static,
        F: FnOnce(Rc<Replica>, MessageEnv) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, IcpError>> + 'static,
    {
        let env = MessageEnv {
            caller: self.caller,
            now: self.now(),
            controllers: Arc::clone(&self.shared.controllers),
            canister_id: self.shared.canister_id,
        };
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |replica| {
            Box::pin(async move {
                // The caller may have given up; its answer is then dropped.
                let _ = reply.send(call(replica, env).await);
            })
        });
        // Fails only once the canister's thread has ended: a message that
        // panicked takes the thread down, like a canister that traps for good.
        let sent = self.shared.jobs.send(job).is_ok();
        Box::pin(async move {
            if !sent {
                return Err(IcpError::Transport("the in-process canister has stopped".into()));
            }
            // A dropped reply means the message panicked: on the IC, a trap.
            answer.await.map_err(|_| IcpError::Rejected {
                code: "CanisterError".into(),
                message: "the in-process canister trapped".into(),
            })?
        })
    }
}

fn canister<T>(result: Result<T, RegistryError>) -> Result<T, IcpError> {
    result.map_err(IcpError::Canister)
}

impl RegistryCanister for InProcessCanister {
    fn canister_id(&self) -> Principal {
        self.shared.canister_id
    }

    fn caller(&self) -> Principal {
        self.caller
    }

    fn sign_slash(&self, request: SlashRequest) -> CallFuture<'_, SignedDigest> {
        self.run(|r, env| async move {
            canister(cairn_registry_canister::sign_slash(&r.state, &env, &r.key, request).await)
        })
    }

    fn sign_batch(&self, request: BatchRequest) -> CallFuture<'_, SignedDigest> {
        self.run(|r, env| async move {
            canister(cairn_registry_canister::sign_batch(&r.state, &env, &r.key, request).await)
        })
    }

    fn public_key(&self) -> CallFuture<'_, Vec<u8>> {
        self.run(|r, _| async move {
            canister(cairn_registry_canister::public_key(&r.state, &r.key).await)
        })
    }

    fn ethereum_address(&self) -> CallFuture<'_, Vec<u8>> {
        self.run(|r, _| async move {
            canister(cairn_registry_canister::ethereum_address(&r.state, &r.key).await)
        })
    }

    fn get_config(&self) -> CallFuture<'_, Option<InitArgs>> {
        self.run(|r, _| async move { Ok(r.state.borrow().config().init) })
    }

    fn configure(&self, args: InitArgs) -> CallFuture<'_, ()> {
        // The check main.rs makes before calling the library.
        self.run(|r, env| async move {
            if !env.is_controller(&env.caller) {
                return Err(IcpError::Canister(RegistryError::Unauthorised));
            }
            r.state.borrow_mut().configure(args);
            Ok(())
        })
    }

    fn get_events(&self, from: u64, limit: u64) -> CallFuture<'_, Vec<EventEntry>> {
        self.run(move |r, _| async move { Ok(r.state.borrow().get_events(from, limit)) })
    }

    fn resolve(&self, name: String) -> CallFuture<'_, NameEntry> {
        self.run(|r, env| async move { canister(r.state.borrow().resolve(&env, &name)) })
    }

    fn claim_name(&self, name: String, records: Vec<ServiceRecord>) -> CallFuture<'_, NameEntry> {
        self.run(
            |r, env| async move { canister(r.state.borrow_mut().claim_name(&env, name, records)) },
        )
    }

    fn claim_name_with_eth(&self, claim: EthClaim) -> CallFuture<'_, NameEntry> {
        self.run(
            |r, env| async move { canister(r.state.borrow_mut().claim_name_with_eth(&env, claim)) },
        )
    }

    fn transfer_name(&self, name: String, to: Principal) -> CallFuture<'_, NameEntry> {
        self.run(move |r, env| async move {
            canister(r.state.borrow_mut().transfer_name(&env, &name, to))
        })
    }

    fn renew_name(&self, name: String) -> CallFuture<'_, NameEntry> {
        self.run(|r, env| async move { canister(r.state.borrow_mut().renew_name(&env, &name)) })
    }

    fn set_records(&self, name: String, records: Vec<ServiceRecord>) -> CallFuture<'_, NameEntry> {
        self.run(|r, env| async move {
            canister(r.state.borrow_mut().set_records(&env, &name, records))
        })
    }

    fn register_provider(&self, operator: Option<Principal>) -> CallFuture<'_, ProviderInfo> {
        self.run(move |r, env| async move {
            canister(r.state.borrow_mut().register_provider(&env, operator))
        })
    }

    fn add_endpoint(
        &self,
        provider: Principal,
        endpoint: EndpointArgs,
    ) -> CallFuture<'_, Endpoint> {
        self.run(move |r, env| async move {
            canister(r.state.borrow_mut().add_endpoint(&env, provider, endpoint))
        })
    }

    fn remove_endpoint(&self, provider: Principal, service_id: Vec<u8>) -> CallFuture<'_, ()> {
        self.run(move |r, env| async move {
            canister(r.state.borrow_mut().remove_endpoint(
                &env,
                provider,
                ByteBuf::from(service_id),
            ))
        })
    }

    fn add_stake(&self, amount: u128) -> CallFuture<'_, ProviderInfo> {
        self.run(move |r, env| async move {
            canister(cairn_registry_canister::add_stake(&r.state, &env, &NoLedger, amount).await)
        })
    }

    fn get_provider(&self, provider: Principal) -> CallFuture<'_, Option<ProviderInfo>> {
        self.run(move |r, _| async move { Ok(r.state.borrow().get_provider(&provider)) })
    }
}
