use cairn_solana_interface::{CairnError, endpoint_address, event::Event, state::Endpoint};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::{next, provider};
use crate::checks;

pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    service_id: [u8; 32],
) -> ProgramResult {
    let it = &mut accounts.iter();
    let operator = next(it)?;
    let provider_account = next(it)?;
    let endpoint_account = next(it)?;

    checks::signer(operator)?;
    checks::writable(operator)?;
    let mut record = provider(program_id, provider_account)?;
    if record.operator != *operator.key {
        return Err(CairnError::NotOperator.into());
    }
    let (expected, _) = endpoint_address(program_id, &record.provider, &service_id);
    checks::address(endpoint_account, &expected)?;
    checks::owned_by(endpoint_account, program_id)?;
    checks::writable(endpoint_account)?;
    let endpoint = Endpoint::unpack(&endpoint_account.try_borrow_data()?)?;
    if endpoint.provider != record.provider {
        return Err(CairnError::WrongAddress.into());
    }

    checks::close(endpoint_account, operator)?;
    record.endpoint_count = record.endpoint_count.checked_sub(1).ok_or(CairnError::Overflow)?;
    record.pack(&mut provider_account.try_borrow_mut_data()?);
    checks::emit(&Event::EndpointRemoved { provider: record.provider, service_id });
    Ok(())
}
