//! The admin subcommands: each opens the database the flags name, through the same
//! `server::build` as serving (so the same migrations, key-encryption key and signing key),
//! calls the core, prints one line per thing it did to standard output, and exits.
//!
//! This is an adapter like `grpc` and `rest`: it decodes a command line, calls one method of
//! [`Auth`] and words the result; no rule about users, passwords or
//! tokens lives here. A failure is printed to standard error in the core's own words (a
//! field error as `field: message`, exactly the message the API would return) and the exit
//! code is 1. `migrate` alone stops at the store: it must not create a signing key or a
//! key-encryption key, only the schema.

mod health;
mod import;
mod keys;
mod password;
mod sessions;
mod tokens;
mod users;

use std::{process::ExitCode, sync::Arc};

use crate::{
    auth::Auth,
    cli::{AdminCommand, StoreArgs},
    clock::SystemClock,
    error::{Error, Field},
    server,
    store::{PoolSettings, Store},
};

/// Runs one admin subcommand to completion; what it did is on standard output, why it
/// failed on standard error.
pub async fn run(command: AdminCommand) -> ExitCode {
    let done = match command {
        AdminCommand::Migrate(store) => migrate(&store).await,
        AdminCommand::Users(command) => users::run(command).await,
        AdminCommand::Sessions(command) => sessions::run(command).await,
        AdminCommand::Tokens(command) => tokens::run(command).await,
        AdminCommand::Keys(command) => keys::run(command).await,
        AdminCommand::Health { address, timeout } => health::run(address, timeout).await,
        AdminCommand::ImportDjango {
            store,
            from,
            user_table,
        } => import::run(&store, &from, &user_table).await,
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            for line in failure.lines() {
                eprintln!("authd: {line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Why a subcommand did not do what it was asked.
enum Failure {
    /// The core refused or failed.
    Core(Error),
    /// The command line or its input could not be used (no password, no such user).
    Usage(String),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Core(error)
    }
}

impl Failure {
    /// The lines to print: one per field message, or one for the whole failure.
    fn lines(&self) -> Vec<String> {
        match self {
            Failure::Usage(problem) => vec![problem.clone()],
            Failure::Core(error) => match error.field_errors() {
                Some(fields) => fields
                    .iter()
                    .flat_map(|(field, messages)| {
                        messages
                            .iter()
                            .map(move |message| format!("{}: {message}", field_name(field)))
                    })
                    .collect(),
                None => vec![error.with_cause()],
            },
        }
    }
}

/// A field as an operator typed it: the flag's name.
fn field_name(field: Field) -> &'static str {
    match field {
        Field::Username => "username",
        Field::Email => "email",
        Field::Password => "password",
        Field::RefreshToken => "refresh token",
        Field::CurrentPassword => "current password",
        Field::NewPassword => "password",
        Field::NewPasswordConfirmation => "password (again)",
        Field::SessionId => "session",
        Field::Token => "token",
        Field::Request => "request",
    }
}

/// The core on the database `store` names, opened as a server opens it.
async fn open(store: &StoreArgs) -> Result<Arc<Auth>, Failure> {
    let config = store
        .config()
        .map_err(|e| Failure::Usage(format!("the AUTHD_* settings: {e}")))?;
    let app = server::build(&config, Arc::new(SystemClock)).await?;
    Ok(app.auth)
}

/// Applies every migration the database lacks, and nothing else.
async fn migrate(store: &StoreArgs) -> Result<(), Failure> {
    let url = &store.database_url;
    let opened = Store::connect(url.expose(), PoolSettings { max_connections: 1 }).await?;
    println!(
        "the schema of {url:?} is up to date ({})",
        opened.engine_version().await?
    );
    Ok(())
}

/// `1 session` / `2 sessions`.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `value` as indented JSON on standard output.
fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let json = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Usage(format!("writing JSON: {e}")))?;
    println!("{json}");
    Ok(())
}

fn no_such_user(username: &str) -> Failure {
    Failure::Usage(format!("no user named {username:?}"))
}
