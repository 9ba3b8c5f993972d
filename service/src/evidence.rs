//! `cairn evidence verify FILE`: an evidence record checked offline, with
//! nothing trusted but the record itself (the checks are
//! `cairn_core::evidence`, the wording `cairn_gateway::evidence`).

use crate::{CliError, cli::EvidenceVerifyArgs};

pub(crate) fn verify(args: &EvidenceVerifyArgs) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&args.file).map_err(|e| CliError::BadArgument {
        flag: "FILE",
        message: format!("cannot read {}: {e}", args.file.display()),
    })?;
    let (evidence, verdict) = cairn_gateway::evidence::verify_text(&text).map_err(|e| {
        CliError::EvidenceInvalid { path: args.file.clone(), message: e.to_string() }
    })?;
    print!("{}", cairn_gateway::evidence::describe(&evidence, &verdict));
    Ok(())
}
