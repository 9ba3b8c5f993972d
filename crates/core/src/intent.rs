//! Verification of signed payment intents, in bulk across threads.
//!
//! Recovering a signer costs far more than everything else an intent goes
//! through (digest, reservation, netting), so batched submissions verify in
//! parallel and only the cheap bookkeeping stays sequential.

use std::{num::NonZeroUsize, thread};

use alloy_primitives::{Address, B256};
use alloy_sol_types::{Eip712Domain, SolStruct};
use serde::{Deserialize, Serialize};

use crate::{
    eip712::PaymentIntent,
    signature::{SignatureError, recover_address},
};

/// An intent with its payer's signature (`r ‖ s ‖ v`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIntent {
    pub intent: PaymentIntent,
    #[serde(with = "signature_hex")]
    pub signature: [u8; 65],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("bad signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("signed by {recovered}, not by the payer {payer}")]
    NotPayer { payer: Address, recovered: Address },
}

/// The intent's EIP-712 digest under `domain`, if its payer signed it.
pub fn verify_intent(domain: &Eip712Domain, signed: &SignedIntent) -> Result<B256, VerifyError> {
    let digest = signed.intent.eip712_signing_hash(domain);
    let recovered = recover_address(&digest, &signed.signature)?;
    if recovered != signed.intent.payer {
        return Err(VerifyError::NotPayer { payer: signed.intent.payer, recovered });
    }
    Ok(digest)
}

/// [`verify_intent`] for each intent, spread over up to `threads` threads;
/// results are in input order.
pub fn verify_intents(
    domain: &Eip712Domain,
    intents: &[SignedIntent],
    threads: NonZeroUsize,
) -> Vec<Result<B256, VerifyError>> {
    let threads = threads.get().min(intents.len().max(1));
    if threads == 1 {
        return intents.iter().map(|s| verify_intent(domain, s)).collect();
    }
    let chunk = intents.len().div_ceil(threads);
    thread::scope(|scope| {
        let workers: Vec<_> = intents
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().map(|s| verify_intent(domain, s)).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("verification does not panic")).collect()
    })
}

mod signature_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8; 65], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&alloy_primitives::hex::encode_prefixed(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 65], D::Error> {
        let text = String::deserialize(d)?;
        let bytes = alloy_primitives::hex::decode(&text).map_err(D::Error::custom)?;
        bytes.try_into().map_err(|b: Vec<u8>| D::Error::invalid_length(b.len(), &"65 bytes"))
    }
}
