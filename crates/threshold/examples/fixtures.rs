//! Regenerates the test fixtures: Paillier primes for five parties and the
//! shares of a 2-of-3 and a 3-of-5 group made by real distributed keygen.
//!
//! `cargo run -p cairn-threshold --example fixtures -- crates/threshold/tests/fixtures`

use std::{path::PathBuf, time::Instant};

use cairn_threshold::{Policy, harness::LocalGroup, keygen, write_group_key};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: fixtures OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    for i in 0..5 {
        let path = out.join(format!("primes-{i}.json"));
        if path.exists() {
            continue;
        }
        let started = Instant::now();
        let primes = tokio::task::spawn_blocking(cairn_threshold::generate_primes).await?;
        std::fs::write(&path, serde_json::to_vec(&primes)?)?;
        println!("primes {i}: {:.1} s", started.elapsed().as_secs_f64());
    }
    for (t, n) in [(2u16, 3u16), (3, 5)] {
        let dir = tempfile::tempdir()?;
        for i in 0..n {
            let primes = std::fs::read(out.join(format!("primes-{i}.json")))?;
            cairn_threshold::write_private_file(
                &dir.path().join(format!("primes-{i}.json")),
                &primes,
            )?;
        }
        let group = LocalGroup::start(dir.path(), t, n, Policy::default(), 20_000).await?;
        let started = Instant::now();
        let outcome = keygen(&group.group).await?;
        println!(
            "keygen {t}-of-{n}: {:.1} s, address {}",
            started.elapsed().as_secs_f64(),
            outcome.group_key.address
        );
        let target = out.join(format!("{t}-of-{n}"));
        std::fs::create_dir_all(&target)?;
        for i in 0..n {
            std::fs::copy(
                dir.path().join(format!("share-{i}.json")),
                target.join(format!("share-{i}.json")),
            )?;
        }
        write_group_key(&target.join("group-key.json"), &outcome.group_key)?;
    }
    Ok(())
}
