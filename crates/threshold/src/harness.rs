//! A whole group in one process, each party on its own loopback socket:
//! what the crate's tests, the benchmark and `cairn signer dev-group` use.
//! The parties still talk only over TCP with signed messages.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
};

use tokio::net::TcpListener;

use crate::{
    ThresholdError,
    config::{GroupConfig, PartyConfig, PartyEntry},
    identity::Identity,
    party::{Party, RunningParty},
    policy::Policy,
    share::write_private_file,
};

#[derive(Debug)]
pub struct LocalGroup {
    pub dir: PathBuf,
    pub group: GroupConfig,
    pub configs: Vec<PartyConfig>,
    pub identities: Vec<Identity>,
    running: Vec<Option<RunningParty>>,
}

impl LocalGroup {
    /// Writes identities and configs for a `threshold`-of-`n` group under
    /// `dir` and starts every party. A party picks up `share-<i>.json` and
    /// `primes-<i>.json` from `dir` when they are there.
    pub async fn start(
        dir: &Path,
        threshold: u16,
        n: u16,
        policy: Policy,
        session_timeout_ms: u64,
    ) -> Result<Self, ThresholdError> {
        let mut listeners = Vec::new();
        let mut parties = Vec::new();
        let mut identities = Vec::new();
        for index in 0..n {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| ThresholdError::Network(e.to_string()))?;
            let addr = listener.local_addr().map_err(|e| ThresholdError::Network(e.to_string()))?;
            let identity = Identity::generate();
            parties.push(PartyEntry { index, addr, identity: identity.address() });
            identities.push(identity);
            listeners.push(listener);
        }
        let group = GroupConfig {
            threshold,
            parties,
            session_timeout_ms,
            keygen_timeout_ms: 900_000,
            connect_timeout_ms: 500,
        };
        group.validate()?;
        let configs = write_group_files(dir, &identities, &group, &policy)?;
        let mut running = Vec::new();
        for (config, listener) in configs.iter().zip(listeners) {
            let party = Party::open(config.clone())?;
            running.push(Some(party.spawn_on(listener)?));
        }
        Ok(Self { dir: dir.to_owned(), group, configs, identities, running })
    }

    pub fn addr(&self, index: u16) -> SocketAddr {
        self.group.parties[usize::from(index)].addr
    }

    pub fn party(&self, index: u16) -> Option<&Party> {
        self.running[usize::from(index)].as_ref().map(|r| &r.party)
    }

    /// Stops party `index` as if its process died.
    pub fn stop(&mut self, index: u16) {
        if let Some(running) = self.running[usize::from(index)].take() {
            running.stop();
        }
    }

    /// Starts party `index` again from its files, on the same address.
    pub async fn restart(&mut self, index: u16) -> Result<(), ThresholdError> {
        self.stop(index);
        let party = Party::open(self.configs[usize::from(index)].clone())?;
        let mut last = None;
        // The old listener's socket may take a moment to go.
        for _ in 0..50 {
            match party.clone().spawn(self.addr(index)).await {
                Ok(running) => {
                    self.running[usize::from(index)] = Some(running);
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Err(last.expect("at least one attempt"))
    }
}

/// Writes every party's identity key (mode 600) and `party-<i>.toml`, and
/// `group.toml`, under `dir`. A party's primes are `primes-<i>.json` in `dir`
/// when that file exists.
pub fn write_group_files(
    dir: &Path,
    identities: &[Identity],
    group: &GroupConfig,
    policy: &Policy,
) -> Result<Vec<PartyConfig>, ThresholdError> {
    let mut configs = Vec::new();
    for (index, identity) in identities.iter().enumerate() {
        let identity_key_file = dir.join(format!("identity-{index}.key"));
        write_private_file(&identity_key_file, identity.secret_hex().as_bytes())?;
        let primes = dir.join(format!("primes-{index}.json"));
        let config = PartyConfig {
            index: index as u16,
            identity_key_file,
            share_file: dir.join(format!("share-{index}.json")),
            primes_file: primes.exists().then_some(primes),
            record_file: dir.join(format!("record-{index}.json")),
            policy: policy.clone(),
            group: group.clone(),
        };
        let path = dir.join(format!("party-{index}.toml"));
        let text = toml::to_string(&config).map_err(|e| ThresholdError::Config(e.to_string()))?;
        std::fs::write(&path, text).map_err(|source| ThresholdError::File { path, source })?;
        configs.push(config);
    }
    let path = dir.join("group.toml");
    let text = toml::to_string(group).map_err(|e| ThresholdError::Config(e.to_string()))?;
    std::fs::write(&path, text).map_err(|source| ThresholdError::File { path, source })?;
    Ok(configs)
}

/// `cairn signer init`: a group of `n` parties on 127.0.0.1 from `base_port`
/// up, with fresh identity keys, written under `dir`.
pub fn init_group(
    dir: &Path,
    threshold: u16,
    n: u16,
    base_port: u16,
    session_timeout_ms: u64,
) -> Result<GroupConfig, ThresholdError> {
    let identities: Vec<Identity> = (0..n).map(|_| Identity::generate()).collect();
    let parties = identities
        .iter()
        .enumerate()
        .map(|(i, identity)| PartyEntry {
            index: i as u16,
            addr: SocketAddr::from(([127, 0, 0, 1], base_port + i as u16)),
            identity: identity.address(),
        })
        .collect();
    let group = GroupConfig {
        threshold,
        parties,
        session_timeout_ms,
        keygen_timeout_ms: 900_000,
        connect_timeout_ms: 1_000,
    };
    group.validate()?;
    write_group_files(dir, &identities, &group, &Policy::default())?;
    Ok(group)
}

impl Drop for LocalGroup {
    fn drop(&mut self) {
        for running in self.running.iter().flatten() {
            running.stop();
        }
    }
}
