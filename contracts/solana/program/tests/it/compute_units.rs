//! Compute units of every instruction in one run, against a plain SPL
//! transfer, for docs/benchmarks.md (`cargo test -p cairn-solana-program
//! --test it compute_units -- --nocapture`). In native mode the Bank meters
//! only what runs in its VM (the SPL Token and system CPIs) plus fixed
//! builtin costs; the program's own Rust is not metered, so these are lower
//! bounds of an SBF deployment's cost.

use cairn_solana_interface::{
    ID,
    digest::service_id,
    instruction::{self as ix, MAX_DELTAS_PER_TX},
};
use solana_program::pubkey::Pubkey;
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env, MIN_STAKE, WITHDRAWAL_DELAY, commitment, sorted};

#[tokio::test]
async fn compute_units_per_instruction() {
    let mut env = Env::new().await;
    let mut rows = Vec::new();
    let i = env.initialize_ix(MIN_STAKE, DELAY);
    let authority = env.authority.insecure_clone();
    rows.push(("initialize", env.send(&[i], &[&authority]).await.ok().compute_units));

    let s = env.funded(10_000).await;
    let other = env.token_account(&s.key.pubkey()).await;
    let transfer = spl_token_interface::instruction::transfer(
        &spl_token_interface::ID,
        &s.token,
        &other,
        &s.key.pubkey(),
        &[],
        1,
    )
    .unwrap();
    rows.push((
        "spl-token transfer (reference)",
        env.send(&[transfer], &[&s.key]).await.ok().compute_units,
    ));

    let p = s.key.pubkey();
    let i = ix::register(&ID, &p, &s.token, &s.operator.pubkey(), 5_000);
    rows.push(("register", env.send(&[i], &[&s.key]).await.ok().compute_units));
    let (chain, kind, url) = ("eip155:1", "json-rpc", "https://rpc.example.org");
    let i = ix::add_endpoint(&ID, &s.operator.pubkey(), &p, chain, kind, url, [0; 32]);
    rows.push(("add_endpoint", env.send(&[i], &[&s.operator]).await.ok().compute_units));
    let i = ix::remove_endpoint(&ID, &s.operator.pubkey(), &p, service_id(&p, chain, kind, url));
    rows.push(("remove_endpoint", env.send(&[i], &[&s.operator]).await.ok().compute_units));
    let i = ix::unbond(&ID, &p, 2_000);
    rows.push(("unbond", env.send(&[i], &[&s.key]).await.ok().compute_units));
    let deadline = env.now().await + 3600;
    let i = env.slash_ix(&p, env.order(500, 1, deadline), &env.slasher.clone());
    rows.push(("slash", env.send(&[i], &[]).await.ok().compute_units));
    env.warp(DELAY).await;
    let i = ix::withdraw(&ID, &p, &s.token);
    rows.push(("withdraw", env.send(&[i], &[&s.key]).await.ok().compute_units));

    println!("| instruction | compute units |\n|---|---:|");
    for (name, cu) in &rows {
        println!("| {name} | {cu} |");
        assert!(*cu > 0, "{name} reported no compute units");
    }
}

/// The most bytes a transaction may have on a cluster: an IPv6 packet's
/// 1280 less its 40-byte header and the 8-byte UDP header (`solana-packet`'s
/// `PACKET_DATA_SIZE`, not otherwise a dependency here).
const PACKET_DATA_SIZE: usize = 1280 - 40 - 8;

/// A transaction of `settle_batch` with `n` deltas, as a cluster would see it
/// (one fee-payer signature).
fn settle_tx_len(n: usize) -> usize {
    let deltas: Vec<_> = (0..n).map(|_| (Pubkey::new_unique(), Pubkey::new_unique(), 1)).collect();
    let c = commitment(1, [0; 32], &deltas);
    let i = ix::settle_batch(&ID, c, [0; 64], 0, &deltas);
    let payer = Pubkey::new_unique();
    let message = solana_sdk::message::Message::new(&[i], Some(&payer));
    // compact-u16 signature count, one signature, the message.
    1 + 64 + message.serialize().len()
}

#[test]
fn max_deltas_per_tx_is_what_fits_one_packet() {
    assert!(settle_tx_len(MAX_DELTAS_PER_TX) <= PACKET_DATA_SIZE);
    assert!(settle_tx_len(MAX_DELTAS_PER_TX + 1) > PACKET_DATA_SIZE);
}

/// Compute units of the vault's instructions and of `settle_batch` at
/// several batch sizes, against a plain SPL transfer in the same run.
#[tokio::test]
async fn compute_units_of_the_settlement_vault() {
    let mut env = Env::new().await;
    let mut rows = Vec::new();
    let i = env.initialize_vault_ix(env.slasher_address());
    let authority = env.authority.insecure_clone();
    rows.push((
        "initialize_vault".to_string(),
        env.send(&[i], &[&authority]).await.ok().compute_units,
    ));

    let p = env.payer_with(10_000).await;
    let other = env.token_account(&p.pubkey()).await;
    let transfer = spl_token_interface::instruction::transfer(
        &spl_token_interface::ID,
        &p.token,
        &other,
        &p.pubkey(),
        &[],
        1,
    )
    .unwrap();
    let reference = env.send(&[transfer], &[&p.key]).await.ok().compute_units;
    rows.push(("spl-token transfer (reference)".into(), reference));
    let i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 5_000);
    rows.push((
        "deposit (opens the balance)".into(),
        env.send(&[i], &[&p.key]).await.ok().compute_units,
    ));
    let i = ix::deposit(&ID, &p.pubkey(), &p.token, &env.mint, 1_000);
    rows.push(("deposit".into(), env.send(&[i], &[&p.key]).await.ok().compute_units));
    let i = ix::open_balance(&ID, &env.ctx.payer.pubkey(), &Pubkey::new_unique(), &env.mint);
    rows.push(("open_balance".into(), env.send(&[i], &[]).await.ok().compute_units));
    let i = ix::request_withdrawal(&ID, &p.pubkey(), &env.mint, 500);
    rows.push(("request_withdrawal".into(), env.send(&[i], &[&p.key]).await.ok().compute_units));
    env.warp(WITHDRAWAL_DELAY).await;
    let i = ix::withdraw_balance(&ID, &p.pubkey(), &p.token, &env.mint);
    rows.push(("withdraw_balance".into(), env.send(&[i], &[&p.key]).await.ok().compute_units));

    let mut holders = Vec::new();
    for _ in 0..MAX_DELTAS_PER_TX {
        holders.push(env.depositor(1_000).await.pubkey());
    }
    let mut per_size = Vec::new();
    for n in [2, 4, 8, MAX_DELTAS_PER_TX] {
        let mut deltas = sorted(holders[..n].iter().map(|h| (*h, env.mint, 1)).collect());
        deltas[0].2 = -(n as i64 - 1);
        let c = env.next_commitment(&deltas).await;
        let i = Env::settle_ix(&env.slasher.clone(), &c, &deltas);
        let cu = env.send(&[i], &[]).await.ok().compute_units;
        rows.push((format!("settle_batch, {n} deltas"), cu));
        per_size.push((n, cu));
    }

    println!("| instruction | compute units |\n|---|---:|");
    for (name, cu) in &rows {
        println!("| {name} | {cu} |");
        assert!(*cu > 0, "{name} reported no compute units");
    }
    let (n0, c0) = per_size[0];
    let (n1, c1) = per_size[per_size.len() - 1];
    println!(
        "settle_batch per delta (metered, {n0}→{n1} deltas): {:.1} CU; spl-token transfer: {reference} CU",
        (c1 as f64 - c0 as f64) / (n1 - n0) as f64
    );
}
