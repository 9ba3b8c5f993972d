//! Writes data items signed by this crate into a directory, one `.bin` per
//! item plus `expected.json` (id per file) and `bundle.bundle` (all of them
//! as one ANS-104 bundle), for `fixtures/verify.mjs` to check with arbundles'
//! own code.
//!
//!   cargo run -p cairn-arweave --example write-items -- OUT_DIR

use std::{fmt::Write as _, path::PathBuf};

use cairn_arweave::{Tag, UnsignedItem};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: write-items OUT_DIR")?);
    std::fs::create_dir_all(&out)?;

    let signer = cairn_signer::LocalSigner::from_hex(&"5a".repeat(32))?;
    let ed25519 = ed25519_dalek::SigningKey::from_bytes(&[0x17; 32]);
    let cases = [
        UnsignedItem::default(),
        UnsignedItem {
            data: br#"{"batchId":1,"intentsRoot":"0x00"}"#.to_vec(),
            tags: vec![Tag::new("App-Name", "Cairn"), Tag::new("Content-Type", "application/json")],
            ..Default::default()
        },
        UnsignedItem {
            data: (0..5000u32).map(|i| (i % 251) as u8).collect(),
            tags: (0..40).map(|i| Tag::new(format!("Tag-{i}"), "é".repeat(i + 1))).collect(),
            target: Some([0xab; 32]),
            anchor: Some([0xcd; 32]),
        },
    ];

    let mut manifest = String::from("{\n");
    let mut count = 0;
    let mut all = Vec::new();
    for (i, case) in cases.into_iter().enumerate() {
        for (scheme, item) in [
            ("ed25519", case.clone().sign_ed25519(&ed25519)?),
            ("secp256k1", case.sign_ethereum(&signer).await?),
        ] {
            let name = format!("item-{i}-{scheme}.bin");
            std::fs::write(out.join(&name), item.encode())?;
            if count > 0 {
                manifest.push_str(",\n");
            }
            write!(manifest, "  \"{name}\": \"{}\"", item.id_base64url())?;
            count += 1;
            all.push(item);
        }
    }
    manifest.push_str("\n}\n");
    std::fs::write(out.join("expected.json"), manifest)?;
    // All of them as one ANS-104 bundle, in the manifest's order.
    std::fs::write(out.join("bundle.bundle"), cairn_arweave::encode_bundle(&all))?;
    // Arweave transaction data roots for sizes around the chunking edges,
    // over bytes i % 251.
    let sizes = [0usize, 1, 1000, 262_144, 262_145, 294_911, 294_912, 600_000, 1_048_583];
    let mut roots = String::from("{\n");
    for (i, size) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..*size).map(|b| (b % 251) as u8).collect();
        let root = cairn_arweave::base64url(&cairn_arweave::chunks::data_root(&data));
        write!(roots, "{}  \"{size}\": \"{root}\"", if i > 0 { ",\n" } else { "" })?;
    }
    roots.push_str("\n}\n");
    std::fs::write(out.join("data-roots.json"), roots)?;
    // The bundle as the data of an L1 transaction signed by the test wallet.
    let wallet =
        cairn_arweave::transaction::Wallet::from_jwk(include_str!("../fixtures/test-wallet.json"))?;
    let bundle = cairn_arweave::encode_bundle(&all);
    let tx = cairn_arweave::transaction::Transaction::sign_data(
        &wallet,
        &bundle,
        &[("Bundle-Format", "binary"), ("Bundle-Version", "2.0.0")],
        &cairn_arweave::base64url(&[7u8; 48]),
        "1000",
    )?;
    std::fs::write(out.join("transaction.json"), serde_json::to_string_pretty(&tx)?)?;
    println!("wrote {count} items to {}", out.display());
    Ok(())
}
