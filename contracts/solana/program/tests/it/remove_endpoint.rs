use cairn_solana_interface::{
    CairnError, ID, digest::service_id, endpoint_address, event::Event, instruction as ix,
};
use solana_sdk::signature::Signer;

use crate::common::{Env, Staker};

const CHAIN: &str = "eip155:1";
const URL: &str = "wss://rpc.example.org/ws";

async fn with_endpoint(env: &mut Env) -> (Staker, [u8; 32]) {
    let s = env.registered(2_000).await;
    let i = ix::add_endpoint(
        &ID,
        &s.operator.pubkey(),
        &s.key.pubkey(),
        CHAIN,
        "json-rpc",
        URL,
        [0; 32],
    );
    env.send(&[i], &[&s.operator]).await.ok();
    let id = service_id(&s.key.pubkey(), CHAIN, "json-rpc", URL);
    (s, id)
}

#[tokio::test]
async fn the_operator_removes_an_endpoint_and_gets_its_rent() {
    let mut env = Env::initialized().await;
    let (s, id) = with_endpoint(&mut env).await;
    let before = env.ctx.banks_client.get_balance(s.operator.pubkey()).await.unwrap();
    let i = ix::remove_endpoint(&ID, &s.operator.pubkey(), &s.key.pubkey(), id);
    let out = env.send(&[i], &[&s.operator]).await;
    out.ok();
    assert_eq!(
        out.events,
        vec![Event::EndpointRemoved { provider: s.key.pubkey(), service_id: id }]
    );
    let addr = endpoint_address(&ID, &s.key.pubkey(), &id).0;
    assert!(env.ctx.banks_client.get_account(addr).await.unwrap().is_none());
    assert!(env.ctx.banks_client.get_balance(s.operator.pubkey()).await.unwrap() > before);
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().endpoint_count, 0);
}

#[tokio::test]
async fn only_the_operator_removes() {
    let mut env = Env::initialized().await;
    let (s, id) = with_endpoint(&mut env).await;
    let i = ix::remove_endpoint(&ID, &s.key.pubkey(), &s.key.pubkey(), id);
    env.send(&[i], &[&s.key]).await.err(CairnError::NotOperator);
}

#[tokio::test]
async fn a_closed_endpoint_revived_with_lamports_stays_closed() {
    let mut env = Env::initialized().await;
    let (s, id) = with_endpoint(&mut env).await;
    let addr = endpoint_address(&ID, &s.key.pubkey(), &id).0;
    let remove = ix::remove_endpoint(&ID, &s.operator.pubkey(), &s.key.pubkey(), id);
    // Refund rent in the same transaction, the classic revival attempt.
    let revive =
        solana_system_interface::instruction::transfer(&env.ctx.payer.pubkey(), &addr, 10_000_000);
    env.send(&[remove.clone(), revive], &[&s.operator]).await.ok();
    let account = env.ctx.banks_client.get_account(addr).await.unwrap().unwrap();
    assert_eq!(account.owner, solana_system_interface::program::ID);
    assert!(account.data.is_empty());
    env.send(&[remove], &[&s.operator]).await.err(CairnError::WrongOwner);
    assert_eq!(env.provider(&s.key.pubkey()).await.unwrap().endpoint_count, 0);
}
