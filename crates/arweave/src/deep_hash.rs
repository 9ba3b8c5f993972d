//! Arweave's deep hash (SHA-384), the message every ANS-104 item signs.

use sha2::{Digest, Sha384};

#[derive(Debug)]
pub enum Chunk<'a> {
    Blob(&'a [u8]),
    List(Vec<Chunk<'a>>),
}

pub fn deep_hash(chunk: &Chunk<'_>) -> [u8; 48] {
    match chunk {
        Chunk::Blob(bytes) => {
            let tag = Sha384::digest(format!("blob{}", bytes.len()));
            let data = Sha384::digest(bytes);
            Sha384::new().chain_update(tag).chain_update(data).finalize().into()
        }
        Chunk::List(items) => {
            let mut acc: [u8; 48] = Sha384::digest(format!("list{}", items.len())).into();
            for item in items {
                acc =
                    Sha384::new().chain_update(acc).chain_update(deep_hash(item)).finalize().into();
            }
            acc
        }
    }
}
