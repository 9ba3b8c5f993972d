use cairn_solana_interface::{
    CairnError,
    digest::service_id,
    endpoint_address,
    event::Event,
    seeds,
    state::{Endpoint, MAX_ENDPOINTS, validate_endpoint},
};
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, pubkey::Pubkey};

use super::{next, provider};
use crate::checks;

pub(crate) fn process(
    program_id: &Pubkey,
    accounts: &[AccountInfo<'_>],
    chain: &str,
    kind: &str,
    url: &str,
    metadata_hash: [u8; 32],
) -> ProgramResult {
    let it = &mut accounts.iter();
    let operator = next(it)?;
    let provider_account = next(it)?;
    let endpoint_account = next(it)?;
    let system_program = next(it)?;

    checks::signer(operator)?;
    checks::system(system_program)?;
    let mut record = provider(program_id, provider_account)?;
    if record.operator != *operator.key {
        return Err(CairnError::NotOperator.into());
    }
    validate_endpoint(chain, kind, url)?;
    if record.endpoint_count >= MAX_ENDPOINTS {
        return Err(CairnError::InvalidEndpoint.into());
    }
    let id = service_id(&record.provider, chain, kind, url);
    let (expected, bump) = endpoint_address(program_id, &record.provider, &id);
    checks::address(endpoint_account, &expected)?;
    checks::uninitialized(endpoint_account)?;

    checks::create_pda(
        operator,
        endpoint_account,
        system_program,
        program_id,
        Endpoint::LEN,
        &[seeds::ENDPOINT, record.provider.as_ref(), &id, &[bump]],
    )?;
    let endpoint = Endpoint {
        bump,
        provider: record.provider,
        service_id: id,
        chain: chain.into(),
        kind: kind.into(),
        url: url.into(),
        metadata_hash,
    };
    endpoint.pack(&mut endpoint_account.try_borrow_mut_data()?);
    record.endpoint_count += 1;
    record.pack(&mut provider_account.try_borrow_mut_data()?);
    checks::emit(&Event::EndpointAdded {
        provider: record.provider,
        service_id: id,
        chain: endpoint.chain,
        kind: endpoint.kind,
        url: endpoint.url,
        metadata_hash,
    });
    Ok(())
}
