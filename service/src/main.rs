use std::process::ExitCode;

use clap::Parser;

/// A backfill makes and drops millions of short strings per range. jemalloc
/// keeps freed pages for seconds, so the next range reuses them; with
/// glibc's allocator the store's calling thread took about half as long
/// again, and with mimalloc (which hands pages back after 10 ms, to fault
/// them in again zeroed) about a third (docs/benchmarks.md, "Indexer").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
