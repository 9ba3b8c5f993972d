//! `AgentCanister`'s candid, checked against the committed `registry.did`
//! without a replica: a loopback transport decodes every call's argument
//! with the types `registry.did` declares for that method (and refuses a
//! query sent as an update or the reverse), runs it on the in-process
//! canister, and hands back the reply re-encoded with the `.did`'s result
//! types, which the client must decode. Every method of the interface is
//! called once.

use std::{
    collections::BTreeSet,
    path::Path,
    sync::{Arc, Mutex},
};

use cairn_icp::{
    AgentCanister, CallFuture, CandidTransport, EventFollower, IcpError, IcpSigner,
    InProcessCanister, RegistryCanister,
    types::{
        BatchRequest, EndpointArgs, EthClaim, InitArgs, RegistryError, ServiceRecord, SlashRequest,
    },
};
use cairn_signer::{RequestSigner, SignerError};
use candid::{
    CandidType, IDLArgs, Principal, TypeEnv,
    types::{FuncMode, Function, Type},
};
use candid_parser::utils::CandidSource;
use serde_bytes::ByteBuf;

use crate::support::{PROVIDER, REGISTRY, TOKEN, canister_id, install, service, slash};

struct DidReplica {
    canister: InProcessCanister,
    /// The `.did` text; parsed on each use, because candid's `Type`s are
    /// `Rc`s and cannot be held by a `Send` transport.
    did: String,
    called: Mutex<BTreeSet<String>>,
}

fn rejected(message: String) -> IcpError {
    IcpError::Rejected { code: "CanisterReject".into(), message }
}

/// A `Result<T, RegistryError>` reply, as the canister's endpoints answer.
fn result<T: CandidType>(answer: Result<T, IcpError>) -> Result<Vec<u8>, IcpError> {
    let answer: Result<T, RegistryError> = match answer {
        Ok(value) => Ok(value),
        Err(IcpError::Canister(refusal)) => Err(refusal),
        Err(other) => return Err(other),
    };
    candid::encode_one(&answer).map_err(|e| rejected(e.to_string()))
}

fn plain<T: CandidType>(answer: Result<T, IcpError>) -> Result<Vec<u8>, IcpError> {
    candid::encode_one(&answer?).map_err(|e| rejected(e.to_string()))
}

fn args<T: for<'de> candid::utils::ArgumentDecoder<'de>>(arg: &[u8]) -> Result<T, IcpError> {
    candid::decode_args(arg).map_err(|e| rejected(e.to_string()))
}

impl DidReplica {
    fn new(canister: InProcessCanister) -> Self {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../canisters/registry/registry.did");
        let did = std::fs::read_to_string(path).expect("registry.did is readable");
        Self { canister, did, called: Mutex::default() }
    }

    fn interface(&self) -> (TypeEnv, Type) {
        let (env, actor) = CandidSource::Text(&self.did).load().expect("registry.did parses");
        (env, actor.expect("registry.did has a service"))
    }

    fn methods(&self) -> BTreeSet<String> {
        let (env, actor) = self.interface();
        env.as_service(&actor).unwrap().iter().map(|(name, _)| name.clone()).collect()
    }

    fn function(&self, method: &str) -> Result<(TypeEnv, Function), IcpError> {
        let (env, actor) = self.interface();
        let func = env
            .get_method(&actor, method)
            .map_err(|e| rejected(format!("{method} is not in registry.did: {e}")))?
            .clone();
        Ok((env, func))
    }

    /// The method exists, in this mode, and `arg` decodes as its arguments.
    fn check_call(&self, method: &str, query: bool, arg: &[u8]) -> Result<(), IcpError> {
        let (env, func) = self.function(method)?;
        let declared_query = func.modes.iter().any(|m| matches!(m, FuncMode::Query));
        if declared_query != query {
            return Err(rejected(format!(
                "{method} sent as {} but registry.did declares it {}",
                if query { "a query" } else { "an update" },
                if declared_query { "a query" } else { "an update" },
            )));
        }
        IDLArgs::from_bytes_with_types(arg, &env, &func.args).map_err(|e| {
            rejected(format!("{method}'s argument does not match registry.did: {e}"))
        })?;
        Ok(())
    }

    /// The reply, decoded and re-encoded with the `.did`'s result types, so
    /// the client gets bytes typed by registry.did, not by the Rust types.
    fn retype_reply(&self, method: &str, reply: &[u8]) -> Result<Vec<u8>, IcpError> {
        let (env, func) = self.function(method)?;
        let typed = IDLArgs::from_bytes_with_types(reply, &env, &func.rets)
            .map_err(|e| rejected(format!("{method}'s reply does not match registry.did: {e}")))?;
        typed.to_bytes_with_types(&env, &func.rets).map_err(|e| rejected(e.to_string()))
    }

    async fn call(&self, method: &str, query: bool, arg: Vec<u8>) -> Result<Vec<u8>, IcpError> {
        self.check_call(method, query, &arg)?;
        self.called.lock().unwrap().insert(method.to_owned());
        let c = &self.canister;
        let reply = match method {
            "sign_slash" => result(c.sign_slash(args::<(SlashRequest,)>(&arg)?.0).await),
            "sign_batch" => result(c.sign_batch(args::<(BatchRequest,)>(&arg)?.0).await),
            "public_key" => result(c.public_key().await.map(ByteBuf::from)),
            "ethereum_address" => result(c.ethereum_address().await.map(ByteBuf::from)),
            "get_config" => plain(c.get_config().await),
            "configure" => result(c.configure(args::<(InitArgs,)>(&arg)?.0).await),
            "get_events" => {
                let (from, limit) = args::<(u64, u64)>(&arg)?;
                plain(c.get_events(from, limit).await)
            }
            "resolve" => result(c.resolve(args::<(String,)>(&arg)?.0).await),
            "claim_name" => {
                let (name, records) = args::<(String, Vec<ServiceRecord>)>(&arg)?;
                result(c.claim_name(name, records).await)
            }
            "claim_name_with_eth" => {
                result(c.claim_name_with_eth(args::<(EthClaim,)>(&arg)?.0).await)
            }
            "transfer_name" => {
                let (name, to) = args::<(String, Principal)>(&arg)?;
                result(c.transfer_name(name, to).await)
            }
            "renew_name" => result(c.renew_name(args::<(String,)>(&arg)?.0).await),
            "set_records" => {
                let (name, records) = args::<(String, Vec<ServiceRecord>)>(&arg)?;
                result(c.set_records(name, records).await)
            }
            "register_provider" => {
                result(c.register_provider(args::<(Option<Principal>,)>(&arg)?.0).await)
            }
            "add_endpoint" => {
                let (provider, endpoint) = args::<(Principal, EndpointArgs)>(&arg)?;
                result(c.add_endpoint(provider, endpoint).await)
            }
            "remove_endpoint" => {
                let (provider, id) = args::<(Principal, ByteBuf)>(&arg)?;
                result(c.remove_endpoint(provider, id.into_vec()).await)
            }
            "add_stake" => result(c.add_stake(args::<(u128,)>(&arg)?.0).await),
            "get_provider" => plain(c.get_provider(args::<(Principal,)>(&arg)?.0).await),
            other => Err(rejected(format!("the loopback replica has no {other}"))),
        }?;
        self.retype_reply(method, &reply)
    }
}

impl CandidTransport for DidReplica {
    fn query<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> CallFuture<'a, Vec<u8>> {
        Box::pin(self.call(method, true, arg))
    }

    fn update<'a>(&'a self, method: &'a str, arg: Vec<u8>) -> CallFuture<'a, Vec<u8>> {
        Box::pin(self.call(method, false, arg))
    }
}

fn record() -> ServiceRecord {
    ServiceRecord {
        chain: "eip155:1".into(),
        kind: "json-rpc".into(),
        url: "https://rpc.example".into(),
        provider: "eip155:1:0x2222222222222222222222222222222222222222".into(),
    }
}

fn refusal<T: std::fmt::Debug>(answer: Result<T, IcpError>) -> RegistryError {
    match answer {
        Err(IcpError::Canister(refusal)) => refusal,
        other => panic!("expected a canister refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn every_call_the_agent_client_makes_matches_registry_did() {
    let (canister, _) = install();
    let replica = Arc::new(DidReplica::new(canister.as_caller(service())));
    let client: Arc<dyn RegistryCanister> = Arc::new(AgentCanister::with_transport(
        Arc::clone(&replica) as Arc<dyn CandidTransport>,
        canister_id(),
        service(),
    ));

    // The signer: a slash and a batch over candid, and the canister's refusal
    // of a replay arriving as its `Err` variant.
    let signer = IcpSigner::connect(Arc::clone(&client)).await.unwrap();
    let request = slash(1, TOKEN, PROVIDER, 31337, REGISTRY);
    let signature = signer.sign_request(&request).await.unwrap();
    assert_eq!(signature.recover(request.digest()).unwrap(), RequestSigner::address(&signer));
    match signer.sign_request(&request).await {
        Err(SignerError::Refused(reason)) => assert!(reason.starts_with("NonceUsed"), "{reason}"),
        other => panic!("expected NonceUsed, got {other:?}"),
    }
    let mut batch = cairn_icp::batch_request(&batch_signing_request()).unwrap();
    client.sign_batch(batch.clone()).await.unwrap();
    batch.batch_id = 9;
    assert!(matches!(
        refusal(client.sign_batch(batch).await),
        RegistryError::DigestMismatch { .. }
    ));

    // Names.
    let entry = client.claim_name("eth-mainnet.cairn".into(), vec![record()]).await.unwrap();
    assert_eq!(client.resolve("eth-mainnet.cairn".into()).await.unwrap(), entry);
    assert_eq!(refusal(client.resolve("gone.cairn".into()).await), RegistryError::NameNotFound);
    client.set_records("eth-mainnet.cairn".into(), vec![]).await.unwrap();
    client.renew_name("eth-mainnet.cairn".into()).await.unwrap();
    let claim = EthClaim {
        name: "eth-claim.cairn".into(),
        address: ByteBuf::from(vec![0x11; 20]),
        valid_until: crate::support::now() + 60,
        signature: ByteBuf::from(vec![0x1b; 65]),
        records: vec![],
    };
    assert_eq!(refusal(client.claim_name_with_eth(claim).await), RegistryError::BadSignature);
    let moved = client.transfer_name("eth-mainnet.cairn".into(), crate::support::stranger()).await;
    assert_eq!(moved.unwrap().controller, crate::support::stranger());

    // Providers.
    let info = client.register_provider(Some(Principal::from_slice(&[9; 29]))).await.unwrap();
    assert_eq!(info.provider, service());
    let endpoint = client
        .add_endpoint(
            service(),
            EndpointArgs {
                chain: "eip155:1".into(),
                kind: "json-rpc".into(),
                url: "https://a.example".into(),
            },
        )
        .await
        .unwrap();
    let listed = client.get_provider(service()).await.unwrap().unwrap();
    assert_eq!(listed.endpoints, vec![endpoint.clone()]);
    client.remove_endpoint(service(), endpoint.service_id.into_vec()).await.unwrap();
    assert_eq!(client.get_provider(Principal::anonymous()).await.unwrap(), None);
    assert_eq!(refusal(client.add_stake(5).await), RegistryError::NoStakeLedger);

    // Configuration: readable, changeable by controllers only.
    let config = client.get_config().await.unwrap().unwrap();
    assert_eq!(config, crate::support::init_args());
    assert_eq!(refusal(client.configure(config).await), RegistryError::Unauthorised);

    // The log, through the follower.
    let page =
        EventFollower::new(Arc::clone(&client), 0).with_page_size(2).catch_up().await.unwrap();
    // Slash, batch, claim (claimed + records), records, renewal, transfer,
    // registration, endpoint added and removed.
    assert_eq!(page.events.iter().map(|e| e.id).collect::<Vec<_>>(), (0..10).collect::<Vec<_>>());
    assert_eq!(page.next, 10);

    let called = replica.called.lock().unwrap().clone();
    assert_eq!(called, replica.methods(), "every method of registry.did is called once");
}

#[tokio::test]
async fn the_loopback_check_refuses_what_registry_did_does_not_declare() {
    let (canister, _) = install();
    let replica = DidReplica::new(canister);
    // A wrong argument type, a query sent as an update, an unknown method.
    let wrong = candid::encode_args((0u32, 10u64)).unwrap();
    let right = candid::encode_args((0u64, 10u64)).unwrap();
    for (method, query, arg, why) in [
        ("get_events", true, wrong, "argument"),
        ("get_events", false, right.clone(), "sent as an update"),
        ("sign_slash", true, right.clone(), "sent as a query"),
        ("no_such_method", false, right, "not in registry.did"),
    ] {
        match replica.call(method, query, arg).await {
            Err(IcpError::Rejected { message, .. }) => assert!(message.contains(why), "{message}"),
            other => panic!("{method}: expected a rejection, got {other:?}"),
        }
    }
}

fn batch_signing_request() -> cairn_signer::SigningRequest {
    use alloy_primitives::{B256, keccak256};
    cairn_signer::SigningRequest::BatchCommitment {
        chain_id: 1,
        settlement: REGISTRY,
        commitment: cairn_core::eip712::BatchCommitment {
            batchId: 1,
            prevHash: B256::ZERO,
            windowStart: 1,
            windowEnd: 2,
            intentsRoot: keccak256("i"),
            deltasRoot: keccak256("d"),
            intentCount: 1,
            deltaCount: 1,
            receiptId: keccak256("r"),
        },
        batch: cairn_core::netting::ClosedBatch {
            body: cairn_core::netting::BatchBody {
                batch_id: 1,
                prev_hash: B256::ZERO,
                window_start: 1,
                window_end: 2,
                intents_root: B256::ZERO,
                deltas_root: B256::ZERO,
                intent_count: 0,
                delta_count: 0,
            },
            intents: vec![],
            deltas: vec![],
        },
        previous: None,
    }
}
