//! `cairn signer …`: argument handling around `cairn-threshold`.

use cairn_threshold::{
    GroupConfig, Party, PartyConfig, SigningRequest, ThresholdError, ThresholdSigner,
    read_group_key, write_group_key, write_private_file,
};

use crate::{
    CliError,
    cli::{SignerCommand, SignerInitArgs},
};

pub(crate) async fn signer(command: &SignerCommand) -> Result<(), CliError> {
    match command {
        SignerCommand::Init(args) => init(args),
        SignerCommand::Party(args) => {
            let config = PartyConfig::read(&args.party)?;
            let addr = config
                .group
                .party(config.index)
                .map(|p| p.addr)
                .ok_or_else(|| ThresholdError::Config("index not in group".into()))?;
            let index = config.index;
            let party = Party::open(config)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| CliError::Listen { address: addr, source })?;
            match party.group_key() {
                Some(key) => {
                    println!("party {index} listening on {addr}; group address {}", key.address)
                }
                None => println!(
                    "party {index} listening on {addr}; no share yet (run cairn signer keygen)"
                ),
            }
            tokio::select! {
                () = party.serve(listener) => {}
                () = cairn_sidecar::shutdown_signal() => println!("party {index} stopping"),
            }
            Ok(())
        }
        SignerCommand::Keygen(args) => {
            let group = read_group(&args.group)?;
            let started = std::time::Instant::now();
            let outcome = cairn_threshold::keygen(&group).await?;
            write_group_key(&args.out, &outcome.group_key)?;
            println!("public key {}", outcome.group_key.public_key);
            println!("address {}", outcome.group_key.address);
            println!(
                "{}-of-{} keygen took {:.1} s; group key written to {}",
                group.threshold,
                group.parties.len(),
                started.elapsed().as_secs_f64(),
                args.out.display()
            );
            Ok(())
        }
        SignerCommand::Sign(args) => {
            let group = read_group(&args.group)?;
            let key = read_group_key(&args.group_key)?;
            let text = std::fs::read(&args.request)
                .map_err(|source| ThresholdError::File { path: args.request.clone(), source })?;
            let request: SigningRequest = serde_json::from_slice(&text)
                .map_err(|e| CliError::BadArgument { flag: "--request", message: e.to_string() })?;
            let signer = ThresholdSigner::new(group, key)?;
            let signature = signer.sign_request(&request).await?;
            println!("0x{}", hex_encode(&signature.to_bytes()));
            Ok(())
        }
    }
}

fn init(args: &SignerInitArgs) -> Result<(), CliError> {
    std::fs::create_dir_all(&args.dir)
        .map_err(|source| ThresholdError::File { path: args.dir.clone(), source })?;
    if let Some(primes) = &args.primes_dir {
        for i in 0..args.parties {
            let from = primes.join(format!("primes-{i}.json"));
            let bytes = std::fs::read(&from)
                .map_err(|source| ThresholdError::File { path: from.clone(), source })?;
            write_private_file(&args.dir.join(format!("primes-{i}.json")), &bytes)?;
        }
    }
    let group = cairn_threshold::harness::init_group(
        &args.dir,
        args.threshold,
        args.parties,
        args.base_port,
        args.session_timeout_ms,
    )?;
    for party in &group.parties {
        println!("party {} on {} identity {}", party.index, party.addr, party.identity);
    }
    println!("group config: {}", args.dir.join("group.toml").display());
    Ok(())
}

fn read_group(path: &std::path::Path) -> Result<GroupConfig, CliError> {
    Ok(GroupConfig::read(path)?)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
