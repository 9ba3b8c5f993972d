//! The bank, the stake mint and the keys every test starts from.

use alloy_primitives::{B256, U256};
use alloy_sol_types::SolStruct;
use base64::{Engine, prelude::BASE64_STANDARD};
use cairn_solana_interface::{
    CairnError, ID, config_address,
    event::Event,
    instruction::{self as ix, BatchCommitment, SlashOrder},
    provider_address,
    state::{Config, Provider},
};
use k256::ecdsa::SigningKey;
use solana_program::{
    account_info::AccountInfo, clock::Clock, entrypoint::ProgramResult, instruction::Instruction,
    program_pack::Pack, program_stubs::SyscallStubs, pubkey::Pubkey,
};
use solana_program_test::{ProgramTest, ProgramTestContext, processor};
use solana_sdk::{
    signature::{Keypair, Signer},
    transaction::{Transaction, TransactionError},
};
use spl_token_interface::state::{Account as TokenAccount, Mint};

pub(crate) const MIN_STAKE: u64 = 1_000;
pub(crate) const DELAY: u64 = 7 * 24 * 3600;

/// program-test's native stubs print `sol_log_data` to stdout instead of the
/// transaction log; this forwards it to the log as the runtime writes it
/// (`Program data: <base64>…`, behind program-test's `Program log: `
/// prefix), so tests read events from real transaction metadata.
struct LogData(Box<dyn SyscallStubs>);

impl SyscallStubs for LogData {
    fn sol_log(&self, m: &str) {
        self.0.sol_log(m)
    }
    fn sol_log_compute_units(&self) {
        self.0.sol_log_compute_units()
    }
    fn sol_remaining_compute_units(&self) -> u64 {
        self.0.sol_remaining_compute_units()
    }
    fn sol_invoke_signed(
        &self,
        i: &Instruction,
        a: &[AccountInfo<'_>],
        s: &[&[&[u8]]],
    ) -> ProgramResult {
        self.0.sol_invoke_signed(i, a, s)
    }
    fn sol_get_sysvar(&self, id: *const u8, var: *mut u8, offset: u64, length: u64) -> u64 {
        self.0.sol_get_sysvar(id, var, offset, length)
    }
    fn sol_get_clock_sysvar(&self, v: *mut u8) -> u64 {
        self.0.sol_get_clock_sysvar(v)
    }
    fn sol_get_epoch_schedule_sysvar(&self, v: *mut u8) -> u64 {
        self.0.sol_get_epoch_schedule_sysvar(v)
    }
    fn sol_get_fees_sysvar(&self, v: *mut u8) -> u64 {
        self.0.sol_get_fees_sysvar(v)
    }
    fn sol_get_rent_sysvar(&self, v: *mut u8) -> u64 {
        self.0.sol_get_rent_sysvar(v)
    }
    fn sol_get_epoch_rewards_sysvar(&self, v: *mut u8) -> u64 {
        self.0.sol_get_epoch_rewards_sysvar(v)
    }
    fn sol_get_last_restart_slot(&self, v: *mut u8) -> u64 {
        self.0.sol_get_last_restart_slot(v)
    }
    fn sol_get_epoch_stake(&self, v: *const u8) -> u64 {
        self.0.sol_get_epoch_stake(v)
    }
    fn sol_get_return_data(&self) -> Option<(Pubkey, Vec<u8>)> {
        self.0.sol_get_return_data()
    }
    fn sol_set_return_data(&self, d: &[u8]) {
        self.0.sol_set_return_data(d)
    }
    fn sol_log_data(&self, fields: &[&[u8]]) {
        let encoded: Vec<String> = fields.iter().map(|f| BASE64_STANDARD.encode(f)).collect();
        self.0.sol_log(&format!("Program data: {}", encoded.join(" ")));
    }
    fn sol_get_processed_sibling_instruction(&self, i: usize) -> Option<Instruction> {
        self.0.sol_get_processed_sibling_instruction(i)
    }
    fn sol_get_stack_height(&self) -> u64 {
        self.0.sol_get_stack_height()
    }
}

static LOG_DATA: std::sync::Once = std::sync::Once::new();

pub(crate) struct Env {
    pub(crate) ctx: ProgramTestContext,
    pub(crate) mint: Pubkey,
    pub(crate) mint_authority: Keypair,
    pub(crate) authority: Keypair,
    pub(crate) treasury: Pubkey,
    pub(crate) slasher: SigningKey,
}

/// What a transaction did: its result, events and compute units.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) result: Result<(), TransactionError>,
    pub(crate) events: Vec<Event>,
    pub(crate) compute_units: u64,
    pub(crate) logs: Vec<String>,
}

impl Outcome {
    pub(crate) fn ok(&self) -> &Self {
        assert_eq!(self.result, Ok(()), "transaction failed; logs: {:#?}", self.logs);
        self
    }

    /// The program's error code, if the transaction failed with one.
    pub(crate) fn custom(&self) -> Option<u32> {
        match &self.result {
            Err(TransactionError::InstructionError(
                _,
                solana_sdk::instruction::InstructionError::Custom(c),
            )) => Some(*c),
            _ => None,
        }
    }

    pub(crate) fn err(&self, e: CairnError) {
        assert_eq!(
            self.custom(),
            Some(e as u32),
            "expected {e:?}; got {:?}; logs: {:#?}",
            self.result,
            self.logs
        );
    }
}

/// Decodes the program's events from a transaction log.
pub(crate) fn events(logs: &[String]) -> Vec<Event> {
    logs.iter()
        .filter_map(|l| {
            let l = l.strip_prefix("Program log: ").unwrap_or(l);
            let rest = l.strip_prefix("Program data: ")?;
            let mut fields = rest.split(' ').map(|f| BASE64_STANDARD.decode(f).unwrap());
            let name = fields.next()?;
            let payload = fields.next()?;
            Event::decode(&name, &payload)
        })
        .collect()
}

impl Env {
    /// A bank with the SPL Token program, the program, a stake mint and a
    /// treasury token account; the registry is not initialised yet.
    pub(crate) async fn new() -> Self {
        let mut pt = ProgramTest::new(
            "cairn_solana_program",
            ID,
            processor!(cairn_solana_program::process_instruction),
        );
        pt.prefer_bpf(false);
        // A processor! program has no ProgramData; add the one a deploy by
        // `authority` would leave, so `initialize` can check it.
        let authority = Keypair::new();
        let mut program_data = vec![0u8; 45];
        program_data[..4].copy_from_slice(&3u32.to_le_bytes());
        program_data[12] = 1;
        program_data[13..].copy_from_slice(authority.pubkey().as_ref());
        pt.add_account(
            cairn_solana_interface::program_data_address(&ID),
            solana_sdk::account::Account {
                lamports: 1_000_000_000,
                data: program_data,
                owner: cairn_solana_interface::BPF_LOADER_UPGRADEABLE,
                executable: false,
                rent_epoch: 0,
            },
        );
        let ctx = pt.start_with_context().await;
        LOG_DATA.call_once(|| {
            let stubs = solana_program::program_stubs::set_syscall_stubs(Box::new(NoStubs));
            solana_program::program_stubs::set_syscall_stubs(Box::new(LogData(stubs)));
        });
        let mut env = Self {
            ctx,
            mint: Pubkey::default(),
            mint_authority: Keypair::new(),
            authority,
            treasury: Pubkey::default(),
            slasher: SigningKey::from_slice(&[7u8; 32]).unwrap(),
        };
        env.mint = env.create_mint().await;
        env.treasury = env.token_account(&Pubkey::new_unique()).await;
        env
    }

    /// `Env::new` plus `initialize` with the default parameters.
    pub(crate) async fn initialized() -> Self {
        let mut env = Self::new().await;
        let ix = env.initialize_ix(MIN_STAKE, DELAY);
        let authority = env.authority.insecure_clone();
        env.send(&[ix], &[&authority]).await.ok();
        env
    }

    pub(crate) fn slasher_address(&self) -> [u8; 20] {
        let point = self.slasher.verifying_key().to_encoded_point(false);
        cairn_solana_interface::digest::eth_address_of_key(
            point.as_bytes()[1..].try_into().unwrap(),
        )
    }

    pub(crate) fn initialize_ix(&self, min_stake: u64, delay: u64) -> Instruction {
        self.initialize_ix_for(min_stake, delay, self.slasher_address())
    }

    pub(crate) fn initialize_ix_for(
        &self,
        min_stake: u64,
        delay: u64,
        slasher: [u8; 20],
    ) -> Instruction {
        ix::initialize(
            &ID,
            &self.ctx.payer.pubkey(),
            &self.authority.pubkey(),
            &self.mint,
            &self.treasury,
            min_stake,
            delay,
            slasher,
        )
    }

    pub(crate) async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Outcome {
        let blockhash = self.ctx.banks_client.get_latest_blockhash().await.unwrap();
        // What `send_tx` waits to move past: the hash this transaction uses,
        // not an older one the next transaction could still share.
        self.ctx.last_blockhash = blockhash;
        let mut all: Vec<&Keypair> = vec![&self.ctx.payer];
        all.extend_from_slice(signers);
        let tx = Transaction::new_signed_with_payer(
            ixs,
            Some(&self.ctx.payer.pubkey()),
            &all,
            blockhash,
        );
        self.send_tx(tx).await
    }

    pub(crate) async fn send_tx(&mut self, tx: Transaction) -> Outcome {
        let out = self.ctx.banks_client.process_transaction_with_metadata(tx).await.unwrap();
        let (logs, compute_units) =
            out.metadata.map_or((Vec::new(), 0), |m| (m.log_messages, m.compute_units_consumed));
        // A fresh blockhash per transaction, so two identical transactions
        // are two transactions and not a rejected duplicate.
        self.ctx.get_new_latest_blockhash().await.unwrap();
        Outcome { result: out.result, events: events(&logs), compute_units, logs }
    }

    pub(crate) async fn create_mint(&mut self) -> Pubkey {
        let mint = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let token = spl_token_interface::ID;
        let ixs = [
            solana_system_interface::instruction::create_account(
                &self.ctx.payer.pubkey(),
                &mint.pubkey(),
                rent.minimum_balance(Mint::LEN),
                Mint::LEN as u64,
                &token,
            ),
            spl_token_interface::instruction::initialize_mint2(
                &token,
                &mint.pubkey(),
                &self.mint_authority.pubkey(),
                None,
                6,
            )
            .unwrap(),
        ];
        self.send(&ixs, &[&mint]).await.ok();
        mint.pubkey()
    }

    /// A token account of the stake mint owned by `owner`.
    pub(crate) async fn token_account(&mut self, owner: &Pubkey) -> Pubkey {
        self.token_account_of(&self.mint.clone(), owner).await
    }

    pub(crate) async fn token_account_of(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = Keypair::new();
        let rent = self.ctx.banks_client.get_rent().await.unwrap();
        let token = spl_token_interface::ID;
        let ixs = [
            solana_system_interface::instruction::create_account(
                &self.ctx.payer.pubkey(),
                &account.pubkey(),
                rent.minimum_balance(TokenAccount::LEN),
                TokenAccount::LEN as u64,
                &token,
            ),
            spl_token_interface::instruction::initialize_account3(
                &token,
                &account.pubkey(),
                mint,
                owner,
            )
            .unwrap(),
        ];
        self.send(&ixs, &[&account]).await.ok();
        account.pubkey()
    }

    pub(crate) async fn mint_to(&mut self, to: &Pubkey, amount: u64) {
        let ix = spl_token_interface::instruction::mint_to(
            &spl_token_interface::ID,
            &self.mint,
            to,
            &self.mint_authority.pubkey(),
            &[],
            amount,
        )
        .unwrap();
        let auth = self.mint_authority.insecure_clone();
        self.send(&[ix], &[&auth]).await.ok();
    }

    pub(crate) async fn balance(&mut self, token_account: &Pubkey) -> u64 {
        let a = self.ctx.banks_client.get_account(*token_account).await.unwrap().unwrap();
        TokenAccount::unpack(&a.data).unwrap().amount
    }

    pub(crate) async fn config(&mut self) -> Config {
        let a = self.ctx.banks_client.get_account(config_address(&ID).0).await.unwrap().unwrap();
        Config::unpack(&a.data).unwrap()
    }

    pub(crate) async fn provider(&mut self, provider: &Pubkey) -> Option<Provider> {
        let a =
            self.ctx.banks_client.get_account(provider_address(&ID, provider).0).await.unwrap()?;
        Provider::unpack(&a.data).ok()
    }

    /// A funded provider with `balance` stake tokens, not yet registered.
    pub(crate) async fn funded(&mut self, balance: u64) -> Staker {
        let key = Keypair::new();
        let operator = Keypair::new();
        // The operator pays the rent of the endpoint accounts it opens.
        let fund = [&key, &operator].map(|k| {
            solana_system_interface::instruction::transfer(
                &self.ctx.payer.pubkey(),
                &k.pubkey(),
                1_000_000_000,
            )
        });
        self.send(&fund, &[]).await.ok();
        let token = self.token_account(&key.pubkey()).await;
        self.mint_to(&token, balance).await;
        Staker { key, token, operator }
    }

    /// A provider registered with `stake`.
    pub(crate) async fn registered(&mut self, stake: u64) -> Staker {
        let s = self.funded(stake).await;
        let ix = ix::register(&ID, &s.key.pubkey(), &s.token, &s.operator.pubkey(), stake);
        self.send(&[ix], &[&s.key]).await.ok();
        s
    }

    pub(crate) async fn now(&mut self) -> u64 {
        let clock: Clock = self.ctx.banks_client.get_sysvar().await.unwrap();
        clock.unix_timestamp as u64
    }

    pub(crate) async fn warp(&mut self, seconds: u64) {
        let mut clock: Clock = self.ctx.banks_client.get_sysvar().await.unwrap();
        clock.unix_timestamp += seconds as i64;
        self.ctx.set_sysvar(&clock);
    }

    /// `order` against `provider`, signed with `key` over the digest
    /// `cairn_core` builds (alloy's EIP-712), not the program's own.
    pub(crate) fn sign(key: &SigningKey, provider: &Pubkey, order: &SlashOrder) -> ([u8; 64], u8) {
        let message = cairn_core::eip712::Slash {
            provider: cairn_core::eip712::solana_provider_address(&provider.to_bytes()),
            amount: U256::from(order.amount),
            reason: order.reason,
            evidenceHash: B256::from(order.evidence_hash),
            receiptId: B256::from(order.receipt_id),
            nonce: U256::from_be_bytes(order.nonce),
            deadline: order.deadline,
        };
        let digest =
            message.eip712_signing_hash(&cairn_core::eip712::solana_registry_domain(ID.to_bytes()));
        let (sig, rid) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
        (sig.to_bytes().into(), rid.to_byte())
    }

    pub(crate) fn order(&self, amount: u64, nonce: u64, deadline: u64) -> SlashOrder {
        let mut n = [0u8; 32];
        n[24..].copy_from_slice(&nonce.to_be_bytes());
        SlashOrder {
            amount,
            reason: 2,
            evidence_hash: [0xee; 32],
            receipt_id: [0xaa; 32],
            nonce: n,
            deadline,
        }
    }

    pub(crate) fn slash_ix(
        &self,
        provider: &Pubkey,
        order: SlashOrder,
        key: &SigningKey,
    ) -> Instruction {
        let (sig, rid) = Self::sign(key, provider, &order);
        ix::slash(&ID, &self.ctx.payer.pubkey(), provider, &self.treasury, order, sig, rid)
    }
}

struct NoStubs;
impl SyscallStubs for NoStubs {}

pub(crate) struct Staker {
    pub(crate) key: Keypair,
    pub(crate) token: Pubkey,
    pub(crate) operator: Keypair,
}

pub(crate) const WITHDRAWAL_DELAY: u64 = 24 * 3600;

/// A payer or payee of the settlement vault: its key and a token account of
/// the vault's mint.
pub(crate) struct Payer {
    pub(crate) key: Keypair,
    pub(crate) token: Pubkey,
}

impl Payer {
    pub(crate) fn pubkey(&self) -> Pubkey {
        self.key.pubkey()
    }
}

impl Env {
    /// `Env::new` plus `initialize_vault` for the stake mint, signed by the
    /// slasher key (any Ethereum key will do for the settlement signer).
    pub(crate) async fn vault() -> Self {
        let mut env = Self::new().await;
        let i = env.initialize_vault_ix(env.slasher_address());
        let authority = env.authority.insecure_clone();
        env.send(&[i], &[&authority]).await.ok();
        env
    }

    pub(crate) fn initialize_vault_ix(&self, signer: [u8; 20]) -> Instruction {
        ix::initialize_vault(
            &ID,
            &self.ctx.payer.pubkey(),
            &self.authority.pubkey(),
            &self.mint,
            signer,
            WITHDRAWAL_DELAY,
        )
    }

    /// A key with lamports and `tokens` of the mint in its own token account.
    pub(crate) async fn payer_with(&mut self, tokens: u64) -> Payer {
        let key = Keypair::new();
        let fund = solana_system_interface::instruction::transfer(
            &self.ctx.payer.pubkey(),
            &key.pubkey(),
            1_000_000_000,
        );
        self.send(&[fund], &[]).await.ok();
        let token = self.token_account(&key.pubkey()).await;
        if tokens > 0 {
            self.mint_to(&token, tokens).await;
        }
        Payer { key, token }
    }

    /// A payer that has deposited `amount` (or only opened its balance, for 0).
    pub(crate) async fn depositor(&mut self, amount: u64) -> Payer {
        let p = self.payer_with(amount).await;
        if amount == 0 {
            let i = ix::open_balance(&ID, &self.ctx.payer.pubkey(), &p.pubkey(), &self.mint);
            self.send(&[i], &[]).await.ok();
        } else {
            let i = ix::deposit(&ID, &p.pubkey(), &p.token, &self.mint, amount);
            self.send(&[i], &[&p.key]).await.ok();
        }
        p
    }

    pub(crate) async fn settlement(&mut self) -> cairn_solana_interface::state::Settlement {
        let a = self
            .ctx
            .banks_client
            .get_account(cairn_solana_interface::settlement_address(&ID).0)
            .await
            .unwrap()
            .unwrap();
        cairn_solana_interface::state::Settlement::unpack(&a.data).unwrap()
    }

    pub(crate) async fn vault_balance(
        &mut self,
        owner: &Pubkey,
    ) -> Option<cairn_solana_interface::state::Balance> {
        let mint = self.mint;
        let a = self
            .ctx
            .banks_client
            .get_account(cairn_solana_interface::balance_address(&ID, owner, &mint).0)
            .await
            .unwrap()?;
        cairn_solana_interface::state::Balance::unpack(&a.data).ok()
    }

    /// The next commitment over `deltas` (sorted by the caller), naming the
    /// vault's last batch.
    pub(crate) async fn next_commitment(
        &mut self,
        deltas: &[(Pubkey, Pubkey, i64)],
    ) -> BatchCommitment {
        let s = self.settlement().await;
        commitment(s.last_batch_id + 1, s.last_commitment_hash, deltas)
    }

    /// `settle_batch` for `c` and `deltas`, signed by `key`.
    pub(crate) fn settle_ix(
        key: &SigningKey,
        c: &BatchCommitment,
        deltas: &[(Pubkey, Pubkey, i64)],
    ) -> Instruction {
        let (sig, rid) = sign_batch(key, c);
        ix::settle_batch(&ID, c.clone(), sig, rid, deltas)
    }
}

/// A commitment over `deltas` with their root, in the order given.
pub(crate) fn commitment(
    batch_id: u64,
    prev_hash: [u8; 32],
    deltas: &[(Pubkey, Pubkey, i64)],
) -> BatchCommitment {
    BatchCommitment {
        batch_id,
        prev_hash,
        window_start: 1_000,
        window_end: 2_000,
        intents_root: [0x11; 32],
        deltas_root: cairn_solana_interface::digest::deltas_root(deltas),
        intent_count: 3,
        delta_count: deltas.len() as u32,
        receipt_id: [0x22; 32],
    }
}

/// `cairn_core`'s `BatchCommitment` for `c`: what the settlement signer signs.
pub(crate) fn core_commitment(c: &BatchCommitment) -> cairn_core::eip712::BatchCommitment {
    cairn_core::eip712::BatchCommitment {
        batchId: c.batch_id,
        prevHash: B256::from(c.prev_hash),
        windowStart: c.window_start,
        windowEnd: c.window_end,
        intentsRoot: B256::from(c.intents_root),
        deltasRoot: B256::from(c.deltas_root),
        intentCount: c.intent_count,
        deltaCount: c.delta_count,
        receiptId: B256::from(c.receipt_id),
    }
}

/// `c` signed with `key` over the digest `cairn_core` builds (alloy's
/// EIP-712 under the Solana settlement domain), not the program's own.
pub(crate) fn sign_batch(key: &SigningKey, c: &BatchCommitment) -> ([u8; 64], u8) {
    let digest = core_commitment(c)
        .eip712_signing_hash(&cairn_core::eip712::solana_settlement_domain(ID.to_bytes()));
    let (sig, rid) = key.sign_prehash_recoverable(digest.as_slice()).unwrap();
    (sig.to_bytes().into(), rid.to_byte())
}

/// Sorts deltas the way a valid batch orders them: by (mint, owner).
pub(crate) fn sorted(mut deltas: Vec<(Pubkey, Pubkey, i64)>) -> Vec<(Pubkey, Pubkey, i64)> {
    deltas.sort_by_key(|d| (d.1, d.0));
    deltas
}
