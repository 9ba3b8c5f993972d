//! Compute units of every instruction in one run, against a plain SPL
//! transfer, for docs/benchmarks.md (`cargo test -p cairn-solana-program
//! --test it compute_units -- --nocapture`). In native mode the Bank meters
//! only what runs in its VM (the SPL Token and system CPIs) plus fixed
//! builtin costs; the program's own Rust is not metered, so these are lower
//! bounds of an SBF deployment's cost.

use cairn_solana_interface::{ID, digest::service_id, instruction as ix};
use solana_sdk::signature::Signer;

use crate::common::{DELAY, Env, MIN_STAKE};

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
