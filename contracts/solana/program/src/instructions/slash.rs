use cairn_solana_interface::{
    CairnError,
    digest::{eth_address_of_key, slash_digest},
    event::Event,
    instruction::{SlashOrder, spl_token_id},
    nonce_address, provider_address, seeds,
    state::{KIND_NONCE, NONCE_LEN},
};
use solana_program::{
    account_info::AccountInfo, entrypoint::ProgramResult, program_error::ProgramError,
    pubkey::Pubkey, secp256k1_recover::secp256k1_recover,
};

use super::{next, provider};
use crate::checks;

/// Half the secp256k1 group order: signatures with a larger `s` are the
/// malleated twin of a valid one. The syscall accepts them and OpenZeppelin's
/// ECDSA (the EVM registry) does not, so the program refuses them too.
const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// Who signed `digest`, as an Ethereum address. `recovery_id` is 0 or 1, or
/// 27 or 28 as Ethereum signers write `v`.
pub(crate) fn recover_signer(
    digest: &[u8; 32],
    signature: &[u8; 64],
    recovery_id: u8,
) -> Result<[u8; 20], ProgramError> {
    let rid = match recovery_id {
        0 | 1 => recovery_id,
        27 | 28 => recovery_id - 27,
        _ => return Err(CairnError::InvalidSignature.into()),
    };
    if signature[32..] > HALF_ORDER[..] {
        return Err(CairnError::InvalidSignature.into());
    }
    let key =
        secp256k1_recover(digest, rid, signature).map_err(|_| CairnError::InvalidSignature)?;
    Ok(eth_address_of_key(&key.to_bytes()))
}

/// Applies a slash order signed by the slasher: bonded stake goes first,
/// then unbonding stake, to the treasury; the nonce account records the
/// order as used.
pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    provider_key: &Pubkey,
    order: &SlashOrder,
    signature: &[u8; 64],
    recovery_id: u8,
) -> ProgramResult {
    let it = &mut accounts.iter();
    let payer = next(it)?;
    let config_account = next(it)?;
    let provider_account = next(it)?;
    let vault = next(it)?;
    let treasury = next(it)?;
    let nonce_account = next(it)?;
    let token_program = next(it)?;
    let system_program = next(it)?;

    checks::signer(payer)?;
    checks::address(token_program, &spl_token_id())?;
    checks::system(system_program)?;
    let mut config = checks::config(program_id, config_account)?;
    checks::writable(config_account)?;
    checks::vault(program_id, &config, vault)?;
    checks::address(treasury, &config.treasury)?;
    checks::writable(treasury)?;
    checks::address(provider_account, &provider_address(program_id, provider_key).0)?;
    let mut record = provider(program_id, provider_account)?;

    let digest = slash_digest(program_id, provider_key, order);
    if recover_signer(&digest, signature, recovery_id)? != config.slasher {
        return Err(CairnError::NotSlasher.into());
    }
    if checks::now()? > order.deadline {
        return Err(CairnError::SlashExpired.into());
    }
    let (nonce_key, nonce_bump) = nonce_address(program_id, &order.nonce);
    checks::address(nonce_account, &nonce_key)?;
    if checks::uninitialized(nonce_account).is_err() {
        return Err(CairnError::NonceUsed.into());
    }
    if order.amount == 0 {
        return Err(CairnError::ZeroAmount.into());
    }
    if order.amount > record.slashable() {
        return Err(CairnError::SlashExceedsSlashable.into());
    }
    let from_stake = order.amount.min(record.stake);
    record.stake -= from_stake;
    record.unbonding -= order.amount - from_stake;
    if record.unbonding == 0 {
        record.release_at = 0;
    }
    config.total_staked =
        config.total_staked.checked_sub(order.amount).ok_or(CairnError::Overflow)?;
    config.slashed_total =
        config.slashed_total.checked_add(order.amount).ok_or(CairnError::Overflow)?;

    checks::transfer_from_vault(
        &config,
        vault,
        treasury,
        config_account,
        token_program,
        order.amount,
    )?;
    checks::create_pda(
        payer,
        nonce_account,
        system_program,
        program_id,
        NONCE_LEN,
        &[seeds::NONCE, &order.nonce, &[nonce_bump]],
    )?;
    nonce_account.try_borrow_mut_data()?.copy_from_slice(&[KIND_NONCE, nonce_bump]);
    record.pack(&mut provider_account.try_borrow_mut_data()?);
    config.pack(&mut config_account.try_borrow_mut_data()?);
    checks::emit(&Event::Slashed {
        provider: *provider_key,
        amount: order.amount,
        nonce: order.nonce,
        reason: order.reason,
        receipt_id: order.receipt_id,
    });
    Ok(())
}
