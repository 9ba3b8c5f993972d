use cairn_solana_interface::{
    CairnError,
    event::Event,
    instruction::{RegistryInstruction, SlashOrder},
    state::{Config, Endpoint, Provider},
};
use solana_program::{program_error::ProgramError, pubkey::Pubkey};

#[test]
fn instructions_round_trip_and_reject_trailing_or_short_data() {
    let all = [
        RegistryInstruction::Initialize { min_stake: 1, unbonding_delay: 2, slasher: [3; 20] },
        RegistryInstruction::Register { amount: 5, operator: Pubkey::new_unique() },
        RegistryInstruction::AddEndpoint {
            chain: "eip155:1".into(),
            kind: "json-rpc".into(),
            url: "https://a.example".into(),
            metadata_hash: [4; 32],
        },
        RegistryInstruction::RemoveEndpoint { service_id: [6; 32] },
        RegistryInstruction::Unbond { amount: 7 },
        RegistryInstruction::Withdraw,
        RegistryInstruction::Slash {
            provider: Pubkey::new_unique(),
            order: SlashOrder {
                amount: 8,
                reason: 9,
                evidence_hash: [10; 32],
                receipt_id: [11; 32],
                nonce: [12; 32],
                deadline: 13,
            },
            signature: [14; 64],
            recovery_id: 1,
        },
    ];
    let invalid = ProgramError::from(CairnError::InvalidInstruction);
    for ix in all {
        let mut data = ix.pack();
        assert_eq!(RegistryInstruction::unpack(&data).unwrap(), ix);
        if data.len() > 1 {
            assert_eq!(RegistryInstruction::unpack(&data[..data.len() - 1]), Err(invalid.clone()));
        }
        data.push(0);
        assert_eq!(RegistryInstruction::unpack(&data), Err(invalid.clone()));
    }
    assert_eq!(RegistryInstruction::unpack(&[]), Err(invalid.clone()));
    assert_eq!(RegistryInstruction::unpack(&[99]), Err(invalid));
}

#[test]
fn accounts_round_trip_and_one_kind_is_not_read_as_another() {
    let config = Config {
        bump: 1,
        vault_bump: 2,
        authority: Pubkey::new_unique(),
        stake_mint: Pubkey::new_unique(),
        treasury: Pubkey::new_unique(),
        slasher: [5; 20],
        min_stake: 6,
        unbonding_delay: 7,
        total_staked: 8,
        slashed_total: 9,
    };
    let mut buf = vec![0; Config::LEN];
    config.pack(&mut buf);
    assert_eq!(Config::unpack(&buf).unwrap(), config);
    assert!(Provider::unpack(&buf).is_err());

    let provider = Provider {
        bump: 3,
        provider: Pubkey::new_unique(),
        operator: Pubkey::new_unique(),
        stake: 10,
        unbonding: 11,
        release_at: 12,
        endpoint_count: 2,
    };
    let mut buf = vec![0; Provider::LEN];
    provider.pack(&mut buf);
    assert_eq!(Provider::unpack(&buf).unwrap(), provider);
    assert!(Config::unpack(&buf).is_err());

    let endpoint = Endpoint {
        bump: 4,
        provider: Pubkey::new_unique(),
        service_id: [1; 32],
        chain: "eip155:1".into(),
        kind: "json-rpc".into(),
        url: "https://a.example".into(),
        metadata_hash: [2; 32],
    };
    let mut buf = vec![0; Endpoint::LEN];
    endpoint.pack(&mut buf);
    assert_eq!(Endpoint::unpack(&buf).unwrap(), endpoint);
    assert!(Endpoint::unpack(&vec![0; Endpoint::LEN]).is_err());
}

#[test]
fn events_round_trip_and_unknown_or_padded_records_are_none() {
    let e = Event::Slashed {
        provider: Pubkey::new_unique(),
        amount: 1,
        nonce: [2; 32],
        reason: 3,
        receipt_id: [4; 32],
    };
    assert_eq!(Event::decode(e.name(), &e.payload()), Some(e.clone()));
    let mut padded = e.payload();
    padded.push(0);
    assert_eq!(Event::decode(e.name(), &padded), None);
    assert_eq!(Event::decode(b"Other", &e.payload()), None);
}

fn commitment() -> cairn_solana_interface::instruction::BatchCommitment {
    cairn_solana_interface::instruction::BatchCommitment {
        batch_id: 1,
        prev_hash: [2; 32],
        window_start: 3,
        window_end: 4,
        intents_root: [5; 32],
        deltas_root: [6; 32],
        intent_count: 7,
        delta_count: 2,
        receipt_id: [8; 32],
    }
}

#[test]
fn vault_instructions_round_trip_and_reject_trailing_or_short_data() {
    let all = [
        RegistryInstruction::InitializeVault { signer: [1; 20], withdrawal_delay: 2 },
        RegistryInstruction::OpenBalance { owner: Pubkey::new_unique() },
        RegistryInstruction::Deposit { amount: 3 },
        RegistryInstruction::RequestWithdrawal { amount: 4 },
        RegistryInstruction::WithdrawBalance,
        RegistryInstruction::SettleBatch {
            commitment: commitment(),
            signature: [9; 64],
            recovery_id: 1,
            deltas: vec![-5, i64::MIN, i64::MAX],
        },
        RegistryInstruction::SettleBatch {
            commitment: commitment(),
            signature: [9; 64],
            recovery_id: 0,
            deltas: vec![],
        },
        RegistryInstruction::BeginBatch {
            commitment: commitment(),
            signature: [10; 64],
            recovery_id: 28,
        },
        RegistryInstruction::StageDeltas { deltas: vec![1, -1, 7] },
        RegistryInstruction::FinalizeBatch,
        RegistryInstruction::ApplyStaged,
        RegistryInstruction::CancelBatch,
    ];
    let invalid = ProgramError::from(CairnError::InvalidInstruction);
    for ix in all {
        let mut data = ix.pack();
        assert_eq!(RegistryInstruction::unpack(&data).unwrap(), ix);
        if data.len() > 1 {
            assert_eq!(RegistryInstruction::unpack(&data[..data.len() - 1]), Err(invalid.clone()));
        }
        data.push(0);
        assert_eq!(RegistryInstruction::unpack(&data), Err(invalid.clone()));
    }
}

#[test]
fn vault_accounts_round_trip_and_are_not_read_as_another_kind() {
    use cairn_solana_interface::state::{Balance, Settlement};
    let s = Settlement {
        bump: 1,
        vault_bump: 2,
        authority: Pubkey::new_unique(),
        signer: [3; 20],
        mint: Pubkey::new_unique(),
        withdrawal_delay: 4,
        last_batch_id: 5,
        last_commitment_hash: [6; 32],
        total_balance: 7,
        staging: true,
    };
    let mut buf = vec![0; Settlement::LEN];
    s.pack(&mut buf);
    assert_eq!(Settlement::unpack(&buf).unwrap(), s);
    assert!(Balance::unpack(&buf).is_err());
    assert!(Config::unpack(&buf).is_err());

    let b = Balance {
        bump: 8,
        owner: Pubkey::new_unique(),
        mint: Pubkey::new_unique(),
        amount: 9,
        pending: 10,
        ready_at: 11,
    };
    let mut buf = vec![0; Balance::LEN];
    b.pack(&mut buf);
    assert_eq!(Balance::unpack(&buf).unwrap(), b);
    assert!(Settlement::unpack(&buf).is_err());
    assert!(Provider::unpack(&buf).is_err());
    assert!(Balance::unpack(&[0; Balance::LEN]).is_err());
}

#[test]
fn vault_events_round_trip_and_padded_records_are_none() {
    let (owner, mint) = (Pubkey::new_unique(), Pubkey::new_unique());
    let all = [
        Event::VaultInitialized {
            authority: Pubkey::new_unique(),
            mint,
            signer: [1; 20],
            withdrawal_delay: 2,
        },
        Event::BalanceOpened { owner, mint },
        Event::Deposited { owner, mint, amount: 3, balance: 4 },
        Event::WithdrawalRequested { owner, mint, amount: 5, ready_at: 6 },
        Event::BalanceWithdrawn { owner, mint, amount: 7, balance: 8 },
        Event::BatchSettled {
            batch_id: 9,
            commitment_hash: [10; 32],
            intents_root: [11; 32],
            deltas_root: [12; 32],
            receipt_id: [13; 32],
            window_start: 14,
            window_end: 15,
            intent_count: 16,
            delta_count: 17,
        },
        Event::BalanceChanged { batch_id: 18, owner, mint, delta: -19, balance: 20 },
        Event::BatchStaged { batch_id: 21, commitment_hash: [22; 32] },
        Event::BatchCancelled { batch_id: 23 },
    ];
    for e in all {
        assert_eq!(Event::decode(e.name(), &e.payload()), Some(e.clone()));
        let mut padded = e.payload();
        padded.push(0);
        assert_eq!(Event::decode(e.name(), &padded), None);
    }
}

#[test]
fn a_staged_batch_round_trips_with_its_entries() {
    use cairn_solana_interface::{digest::MerkleFrontier, state::StagedBatch};
    let mut frontier = MerkleFrontier::default();
    for i in 0..5u8 {
        frontier.push([i; 32]).unwrap();
    }
    let b = StagedBatch {
        bump: 1,
        stage: 2,
        payer: Pubkey::new_unique(),
        commitment: commitment(),
        digest: [3; 32],
        seen: 2,
        last_mint: Pubkey::new_unique(),
        last_owner: Pubkey::new_unique(),
        sum: -4,
        frontier,
        cursor: 1,
    };
    let mut buf = vec![0; StagedBatch::HEADER_LEN + 2 * StagedBatch::ENTRY_LEN];
    b.pack(&mut buf);
    let (k0, k1) = (Pubkey::new_unique(), Pubkey::new_unique());
    StagedBatch::write_entry(&mut buf, 0, &k0, -9);
    StagedBatch::write_entry(&mut buf, 1, &k1, i64::MAX);
    assert_eq!(StagedBatch::unpack(&buf).unwrap(), b);
    assert_eq!(StagedBatch::entry(&buf, 0).unwrap(), (k0, -9));
    assert_eq!(StagedBatch::entry(&buf, 1).unwrap(), (k1, i64::MAX));
    assert!(StagedBatch::entry(&buf, 2).is_err());
    assert!(Config::unpack(&buf).is_err());
}
