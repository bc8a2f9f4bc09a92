//! `authd keys …`: the signing keys, their rotation and their retirement, from the shell.
//! Running nodes pick a change up by themselves (see `auth::keys`); nothing restarts.

use serde::Serialize;

use super::{Failure, open};
use crate::{
    auth::{
        Caller,
        key_admin::{KeyState, KeyStatus},
        model::{KeyAlgorithm, Retirement},
    },
    cli::{KeyAlgorithmArg, KeysCommand, Output},
    utc::utc_timestamp,
};

/// One key as `keys list --output json` prints it.
#[derive(Serialize)]
struct Listed<'a> {
    kid: &'a str,
    algorithm: &'static str,
    state: &'static str,
    created_at: String,
    /// When it was rotated out or retired.
    since: Option<String>,
    published: bool,
}

impl<'a> From<&'a KeyStatus> for Listed<'a> {
    fn from(key: &'a KeyStatus) -> Self {
        let (state, since) = match key.state {
            KeyState::Active => ("active", None),
            KeyState::Rotated { at } => ("rotated", Some(utc_timestamp(at))),
            KeyState::Retired { at } => ("retired", Some(utc_timestamp(at))),
        };
        Self {
            kid: &key.kid,
            algorithm: key.algorithm.as_str(),
            state,
            created_at: utc_timestamp(key.created_at),
            since,
            published: key.published,
        }
    }
}

pub(super) async fn run(command: KeysCommand) -> Result<(), Failure> {
    match command {
        KeysCommand::List { store, output } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let keys = auth.signing_keys(&ctx).await?;
            let listed: Vec<Listed<'_>> = keys.iter().map(Listed::from).collect();
            match output {
                Output::Json => super::print_json(&listed)?,
                Output::Text => print_table(&listed),
            }
        }
        KeysCommand::Rotate { store, algorithm } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let algorithm = algorithm.map(|algorithm| match algorithm {
                KeyAlgorithmArg::Eddsa => KeyAlgorithm::EdDsa,
                KeyAlgorithmArg::Es256 => KeyAlgorithm::Es256,
            });
            let kid = auth.rotate_signing_key(&ctx, algorithm).await?;
            println!(
                "rotated: new signing key {kid}; the previous one verifies until its tokens expire"
            );
        }
        KeysCommand::Retire { store, kid } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            match auth.retire_signing_key(&ctx, &kid).await? {
                Retirement::Retired => {
                    println!("retired {kid}: the tokens it signed are refused from now on");
                }
                Retirement::Active => {
                    return Err(Failure::Usage(format!(
                        "{kid} is the active signing key: run `authd keys rotate` first, then retire it"
                    )));
                }
                Retirement::AlreadyRetired => println!("{kid} was already retired"),
                Retirement::Unknown => {
                    return Err(Failure::Usage(format!("no signing key {kid:?}")));
                }
            }
        }
    }
    Ok(())
}

fn print_table(listed: &[Listed<'_>]) {
    println!(
        "{:43}  {:9}  {:8}  {:20}  {:20}  PUBLISHED",
        "KID", "ALGORITHM", "STATE", "CREATED_AT", "SINCE"
    );
    for key in listed {
        println!(
            "{:43}  {:9}  {:8}  {:20}  {:20}  {}",
            key.kid,
            key.algorithm,
            key.state,
            key.created_at,
            key.since.as_deref().unwrap_or("-"),
            if key.published { "yes" } else { "no" }
        );
    }
}
