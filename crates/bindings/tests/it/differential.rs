//! The contracts' EIP-712 digests, service ids and deltas root equal
//! `cairn-core`'s for random inputs: the two implementations of each rule
//! must never disagree.

use alloy::{
    primitives::{Address, B256, I256, U256, keccak256},
    sol_types::SolValue,
};
use cairn_bindings::{Registry, Settlement};
use cairn_core::{
    ChainId, ServiceId,
    eip712::{
        BatchCommitment, Delta, PaymentIntent, Slash, registry_domain, settlement_domain,
        signing_hash,
    },
    merkle,
};

use crate::deployed;

struct Rng(u64);

impl Rng {
    fn u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn b256(&mut self) -> B256 {
        keccak256(self.u64().to_be_bytes())
    }

    fn address(&mut self) -> Address {
        Address::from_slice(&self.b256()[12..])
    }

    fn u256(&mut self) -> U256 {
        U256::from_be_bytes(self.b256().0) >> (self.u64() % 256) as usize
    }
}

#[tokio::test]
async fn digests_service_ids_and_roots_match_core() {
    let (anvil, provider, deployment) = deployed().await;
    let chain_id = anvil.chain_id();
    let registry = Registry::new(deployment.registry, &provider);
    let settlement = Settlement::new(deployment.settlement, &provider);
    let mut rng = Rng(0x5eed_cafe);

    assert_eq!(
        registry.domainSeparator().call().await.unwrap(),
        registry_domain(chain_id, deployment.registry).separator()
    );
    assert_eq!(
        settlement.domainSeparator().call().await.unwrap(),
        settlement_domain(chain_id, deployment.settlement).separator()
    );

    for _ in 0..25 {
        let slash = Slash {
            provider: rng.address(),
            amount: rng.u256(),
            reason: rng.u64() as u8,
            evidenceHash: rng.b256(),
            receiptId: rng.b256(),
            nonce: rng.u256(),
            deadline: rng.u64(),
        };
        let on_chain = registry.hashSlash(Registry::Slash::from(&slash)).call().await.unwrap();
        assert_eq!(on_chain, signing_hash(&slash, &registry_domain(chain_id, deployment.registry)));

        let commitment = BatchCommitment {
            batchId: rng.u64(),
            prevHash: rng.b256(),
            windowStart: rng.u64(),
            windowEnd: rng.u64(),
            intentsRoot: rng.b256(),
            deltasRoot: rng.b256(),
            intentCount: rng.u64() as u32,
            deltaCount: rng.u64() as u32,
            receiptId: rng.b256(),
        };
        let on_chain = settlement
            .hashBatch(Settlement::BatchCommitment::from(&commitment))
            .call()
            .await
            .unwrap();
        assert_eq!(
            on_chain,
            signing_hash(&commitment, &settlement_domain(chain_id, deployment.settlement))
        );

        let intent = PaymentIntent {
            payer: rng.address(),
            payee: rng.address(),
            asset: rng.address(),
            amount: rng.u256(),
            nonce: rng.u256(),
            validUntil: rng.u64(),
        };
        let on_chain = settlement
            .hashIntent(
                intent.payer,
                intent.payee,
                intent.asset,
                intent.amount,
                intent.nonce,
                intent.validUntil,
            )
            .call()
            .await
            .unwrap();
        assert_eq!(
            on_chain,
            signing_hash(&intent, &settlement_domain(chain_id, deployment.settlement))
        );

        let provider_address = rng.address();
        let url = format!("https://node-{}.example.org/rpc", rng.u64());
        let chain = ChainId::eip155(rng.u64() % 100_000);
        let on_chain = registry
            .serviceIdOf(provider_address, chain.to_string(), "rpc".into(), url.clone())
            .call()
            .await
            .unwrap();
        assert_eq!(
            on_chain,
            ServiceId::compute(provider_address.as_slice(), &chain, "rpc", &url).0
        );

        let count = 1 + (rng.u64() % 12) as usize;
        let deltas: Vec<Delta> = (0..count)
            .map(|_| Delta {
                account: rng.address(),
                asset: rng.address(),
                amount: I256::try_from(rng.u64() as i64).unwrap(),
            })
            .collect();
        let leaves: Vec<B256> = deltas.iter().map(|d| merkle::leaf_hash(&d.abi_encode())).collect();
        let on_chain = settlement
            .deltasRootOf(deltas.iter().map(Settlement::Delta::from).collect())
            .call()
            .await
            .unwrap();
        assert_eq!(on_chain, merkle::root(&leaves), "{count} deltas");
    }
}
