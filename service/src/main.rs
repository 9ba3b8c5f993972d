use std::process::ExitCode;

use clap::Parser;

/// The store's write path makes millions of short-lived strings in a
/// backfill; glibc's allocator spent about a tenth of the indexer's time on
/// them (see docs/benchmarks.md, "Indexer").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
