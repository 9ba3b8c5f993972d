use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cairn_service::cli::Cli::parse();
    match cairn_service::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(err.exit_code())
        }
    }
}
