//! Tests of the `cairn` binary as a user runs it, one module per behaviour.

mod cli_end_to_end;
mod cli_pay;
mod client_resolve;
mod config_errors;
mod deploy_evm;
mod gateway_acceptance;
mod help;
mod http_discovery;
mod http_discovery_evidence;
mod http_discovery_probed;
mod http_gateway;
mod http_intents;
mod http_intents_junk;
mod http_negative;
mod http_operations;
mod http_signin;
mod icp_signer;
mod index_crash;
mod index_metrics;
mod index_once;
mod openapi_schemas;
mod provider_serve;
mod settlement_crashes;
mod settlement_end_to_end;
mod settlement_threshold;
mod slashing_crashes;
mod slashing_threshold;
mod stack;
mod status_indexer;
mod status_page;
mod store_backup;
mod support;
mod threshold_processes;
mod unavailable_commands;
mod usage_metering;

use std::{
    path::PathBuf,
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

/// Runs `cairn` with `args` in an empty directory and an environment that
/// holds only `env`, so no stray `cairn.toml` or `CAIRN_*` variable leaks in.
pub(crate) fn cairn(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    cairn_with_dir(dir.path(), args, env)
}

/// Runs `cairn` in `dir` with only `env` set.
pub(crate) fn cairn_with_dir(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("cairn runs")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A long-running `cairn` process, killed when the test ends. Its stderr
/// goes to a log file, printed if the test fails so CI shows why.
pub(crate) struct Running {
    pub(crate) child: Child,
    log: PathBuf,
    /// Where this process's output starts in a log file earlier runs of the
    /// same command appended to.
    log_start: usize,
}

impl Running {
    /// What the process has written to stderr so far.
    pub(crate) fn log(&self) -> String {
        let all = std::fs::read(&self.log).unwrap_or_default();
        String::from_utf8_lossy(all.get(self.log_start..).unwrap_or_default()).into_owned()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- {} ---\n{}", self.log.display(), self.log());
        }
    }
}

/// Starts `cairn` in `dir` with only `env` set; stdout is dropped, stderr is
/// appended to `dir/cairn-<first arg>.log`.
pub(crate) fn spawn_cairn(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Running {
    let log = dir.join(format!("cairn-{}.log", args.first().copied().unwrap_or("none")));
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&log).expect("log file");
    let log_start = file.metadata().map_or(0, |m| m.len() as usize);
    let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .expect("cairn starts");
    Running { child, log, log_start }
}

/// Whether something accepts connections on loopback `port`.
pub(crate) fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// Polls `check` every 100 ms for up to 30 s.
pub(crate) fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}
