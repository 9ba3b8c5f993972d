use alloy_primitives::{Address, b256};
use cairn_core::{AccountId, ChainId, IdError, ServiceId};

#[test]
fn chain_ids_parse_display_and_serde_round_trip() {
    for text in
        ["eip155:1", "eip155:31337", "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", "icp:rdmx6-jaaaa"]
    {
        let id: ChainId = text.parse().unwrap();
        assert_eq!(id.to_string(), text);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<ChainId>(&json).unwrap(), id);
    }
    assert_eq!("eip155:10".parse::<ChainId>().unwrap().evm_chain_id(), Some(10));
    assert_eq!("solana:abc".parse::<ChainId>().unwrap().evm_chain_id(), None);
}

#[test]
fn malformed_chain_ids_are_refused_with_the_reason() {
    assert!(matches!("eip155".parse::<ChainId>(), Err(IdError::NotChainId(_))));
    assert!(matches!("ei:1".parse::<ChainId>(), Err(IdError::Namespace(_))));
    assert!(matches!("EIP155:1".parse::<ChainId>(), Err(IdError::Namespace(_))));
    assert!(matches!("eip155:".parse::<ChainId>(), Err(IdError::Reference(_))));
    assert!(matches!("eip155:1 ".parse::<ChainId>(), Err(IdError::Reference(_))));
    let long = format!("eip155:{}", "1".repeat(33));
    assert!(matches!(long.parse::<ChainId>(), Err(IdError::Reference(_))));
    assert!(serde_json::from_str::<ChainId>("\"nope\"").is_err());
}

#[test]
fn evm_accounts_compare_in_checksum_form() {
    let lower: AccountId = "eip155:1:0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb".parse().unwrap();
    let mixed: AccountId = "eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb".parse().unwrap();
    assert_eq!(lower, mixed);
    assert_eq!(lower.to_string(), "eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb");
    let address: Address = "0xab16a96d359ec26a11e2c2b3d8f8b8942d5bfcdb".parse().unwrap();
    assert_eq!(AccountId::evm(1, address), lower);
    assert_eq!(lower.chain(), &ChainId::eip155(1));
}

#[test]
fn malformed_accounts_are_refused() {
    assert!(matches!("eip155:1".parse::<AccountId>(), Err(IdError::NotAccountId(_))));
    assert!(matches!("eip155:1:".parse::<AccountId>(), Err(IdError::Address(_))));
    assert!(matches!("eip155:1:0x12 34".parse::<AccountId>(), Err(IdError::Address(_))));
    let long = format!("eip155:1:{}", "a".repeat(129));
    assert!(matches!(long.parse::<AccountId>(), Err(IdError::Address(_))));
}

/// Vector from `cast keccak $(cast abi-encode "f(bytes,string,string,string)"
/// 0x1111111111111111111111111111111111111111 eip155:1 rpc https://rpc.example.org)`.
#[test]
fn service_id_matches_the_solidity_encoding() {
    let provider = [0x11u8; 20];
    let id = ServiceId::compute(&provider, &ChainId::eip155(1), "rpc", "https://rpc.example.org");
    assert_eq!(id.0, b256!("1a10f871cc83ce963715b3abf0db89ee26574355362fd78d40509187fab43cda"));
    let other =
        ServiceId::compute(&provider, &ChainId::eip155(1), "rpc", "https://rpc.example.org/");
    assert_ne!(id, other, "every field is part of the id");
}
