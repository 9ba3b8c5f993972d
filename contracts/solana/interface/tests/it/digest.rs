use alloy_primitives::{B256, U256};
use alloy_sol_types::SolStruct;
use cairn_core::{
    eip712::{Slash, solana_provider_address, solana_registry_domain},
    id::{ChainId, ServiceId},
    registry::validate_endpoint as core_validate,
};
use cairn_solana_interface::{
    ID,
    digest::{provider_eth_address, registry_domain_separator, service_id, slash_digest},
    instruction::SlashOrder,
    state::validate_endpoint,
};
use solana_program::pubkey::Pubkey;

fn order(i: u64) -> SlashOrder {
    let mut nonce = [0u8; 32];
    nonce[..8].copy_from_slice(&i.to_be_bytes());
    nonce[31] = i as u8;
    SlashOrder {
        amount: i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        reason: (i % 256) as u8,
        evidence_hash: [i as u8; 32],
        receipt_id: [(i * 3) as u8; 32],
        nonce,
        deadline: u64::MAX - i,
    }
}

#[test]
fn the_slash_digest_is_cores_eip712_digest_under_the_solana_domain() {
    for i in 0..64u64 {
        let provider = Pubkey::new_unique();
        let program = if i % 2 == 0 { ID } else { Pubkey::new_unique() };
        let o = order(i);
        let message = Slash {
            provider: solana_provider_address(&provider.to_bytes()),
            amount: U256::from(o.amount),
            reason: o.reason,
            evidenceHash: B256::from(o.evidence_hash),
            receiptId: B256::from(o.receipt_id),
            nonce: U256::from_be_bytes(o.nonce),
            deadline: o.deadline,
        };
        let domain = solana_registry_domain(program.to_bytes());
        assert_eq!(registry_domain_separator(&program), domain.separator().0);
        assert_eq!(slash_digest(&program, &provider, &o), message.eip712_signing_hash(&domain).0);
        assert_eq!(
            provider_eth_address(&provider),
            solana_provider_address(&provider.to_bytes()).0.0
        );
    }
}

#[test]
fn the_domain_binds_the_program() {
    let provider = Pubkey::new_unique();
    let a = slash_digest(&ID, &provider, &order(1));
    let b = slash_digest(&Pubkey::new_unique(), &provider, &order(1));
    assert_ne!(a, b);
}

#[test]
fn service_ids_are_cores() {
    let provider = Pubkey::new_unique();
    for (chain, kind, url) in [
        ("eip155:1", "json-rpc", "https://a.example"),
        (
            "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
            "ws",
            "wss://rpc.example.org/a/very/long/path/that/spans/more/than/one/word",
        ),
        ("eip155:10", "k", "http://x"),
    ] {
        let core =
            ServiceId::compute(&provider.to_bytes(), &chain.parse::<ChainId>().unwrap(), kind, url);
        assert_eq!(service_id(&provider, chain, kind, url), core.0.0);
    }
}

#[test]
fn endpoint_rules_accept_and_reject_what_core_does() {
    let long_url = format!("https://{}", "a".repeat(250));
    let long_kind = "k".repeat(33);
    let cases: &[(&str, &str, &str)] = &[
        ("eip155:1", "json-rpc", "https://a.example"),
        ("eip155:1", "json-rpc", "ftp://a.example"),
        ("eip155:1", "Json", "https://a.example"),
        ("eip155:1", "", "https://a.example"),
        ("eip155:1", &long_kind, "https://a.example"),
        ("eip155:1", "json-rpc", "https://"),
        ("eip155:1", "json-rpc", "https:///path"),
        ("eip155:1", "json-rpc", "https://a b"),
        ("eip155:1", "json-rpc", &long_url),
        ("solana", "json-rpc", "https://a.example"),
        ("ab:1", "json-rpc", "https://a.example"),
        ("eip155:", "json-rpc", "https://a.example"),
        ("EIP155:1", "json-rpc", "https://a.example"),
    ];
    for (chain, kind, url) in cases {
        let core_ok = chain.parse::<ChainId>().is_ok() && core_validate(kind, url).is_ok();
        assert_eq!(validate_endpoint(chain, kind, url).is_ok(), core_ok, "{chain} {kind} {url}");
    }
}

fn commitment(i: u64) -> cairn_solana_interface::instruction::BatchCommitment {
    cairn_solana_interface::instruction::BatchCommitment {
        batch_id: i + 1,
        prev_hash: [i as u8; 32],
        window_start: i * 60,
        window_end: u64::MAX - i,
        intents_root: [(i * 5) as u8; 32],
        deltas_root: [(i * 7) as u8; 32],
        intent_count: (i as u32).wrapping_mul(0x9e37_79b9),
        delta_count: u32::MAX - i as u32,
        receipt_id: [(i * 11) as u8; 32],
    }
}

#[test]
fn the_batch_digest_is_cores_eip712_digest_under_the_solana_settlement_domain() {
    use cairn_core::eip712::{BatchCommitment, solana_settlement_domain};
    use cairn_solana_interface::digest::{batch_digest, settlement_domain_separator};
    for i in 0..64u64 {
        let program = if i % 2 == 0 { ID } else { Pubkey::new_unique() };
        let c = commitment(i);
        let message = BatchCommitment {
            batchId: c.batch_id,
            prevHash: B256::from(c.prev_hash),
            windowStart: c.window_start,
            windowEnd: c.window_end,
            intentsRoot: B256::from(c.intents_root),
            deltasRoot: B256::from(c.deltas_root),
            intentCount: c.intent_count,
            deltaCount: c.delta_count,
            receiptId: B256::from(c.receipt_id),
        };
        let domain = solana_settlement_domain(program.to_bytes());
        assert_eq!(settlement_domain_separator(&program), domain.separator().0);
        assert_eq!(batch_digest(&program, &c), message.eip712_signing_hash(&domain).0);
        // The settlement domain is not the registry's: a slash signature
        // cannot pass for a batch signature on the same program.
        assert_ne!(settlement_domain_separator(&program), registry_domain_separator(&program));
    }
}

alloy_sol_types::sol! {
    /// The Solana delta as an ABI tuple: keys are 32 bytes, not addresses.
    struct SolanaDelta {
        bytes32 owner;
        bytes32 mint;
        int256 amount;
    }
}

#[test]
fn delta_leaves_and_roots_follow_cores_merkle_rule() {
    use alloy_sol_types::SolValue;
    use cairn_core::merkle;
    use cairn_solana_interface::digest::{delta_leaf, deltas_root};
    let amounts = [1i64, -1, i64::MAX, i64::MIN, -1_000_000, 42, -7];
    for n in 0..=amounts.len() {
        let deltas: Vec<(Pubkey, Pubkey, i64)> =
            amounts[..n].iter().map(|&a| (Pubkey::new_unique(), Pubkey::new_unique(), a)).collect();
        let core_leaves: Vec<B256> = deltas
            .iter()
            .map(|(o, m, a)| {
                let encoded = SolanaDelta {
                    owner: B256::from(o.to_bytes()),
                    mint: B256::from(m.to_bytes()),
                    amount: alloy_primitives::I256::try_from(*a).unwrap(),
                }
                .abi_encode();
                merkle::leaf_hash(&encoded)
            })
            .collect();
        for ((o, m, a), leaf) in deltas.iter().zip(&core_leaves) {
            assert_eq!(delta_leaf(o, m, *a), leaf.0);
        }
        assert_eq!(deltas_root(&deltas), merkle::root(&core_leaves).0, "{n} deltas");
    }
}

#[test]
fn a_changed_delta_changes_the_root() {
    use cairn_solana_interface::digest::deltas_root;
    let (a, b, m) = (Pubkey::new_unique(), Pubkey::new_unique(), Pubkey::new_unique());
    let root = deltas_root(&[(a, m, -5), (b, m, 5)]);
    assert_ne!(root, deltas_root(&[(a, m, -6), (b, m, 6)]));
    assert_ne!(root, deltas_root(&[(b, m, -5), (a, m, 5)]));
    assert_ne!(root, deltas_root(&[(a, m, -5)]));
}

#[test]
fn the_incremental_frontier_gives_cores_root_for_every_size() {
    use cairn_core::merkle;
    use cairn_solana_interface::digest::MerkleFrontier;
    let mut frontier = MerkleFrontier::default();
    let mut leaves: Vec<B256> = Vec::new();
    assert_eq!(frontier.root(), merkle::root(&leaves).0);
    for i in 0..300u32 {
        let leaf = merkle::leaf_hash(&i.to_be_bytes());
        frontier.push(leaf.0).unwrap();
        leaves.push(leaf);
        assert_eq!(frontier.root(), merkle::root(&leaves).0, "{} leaves", leaves.len());
    }
}
