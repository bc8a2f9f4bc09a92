//! `authd users …`: create, list, disable, enable, set-password, each one core call.
//!
//! `create` is the core's `register`, so the shell gets the API's rules and messages; the
//! email rule is the gRPC one when `--email` is given, and the DRF token API's ("none") when
//! it is not. `list --output json` prints one array of objects whose fields are the
//! text columns' names.

use serde::Serialize;

use super::{Failure, count, no_such_user, open, password::new_password, print_json};
use crate::{
    auth::{Caller, EmailRule, Registration, fields::Input, model::Revoked},
    cli::{Output, UsersCommand},
};

/// One user as `users list --output json` prints it.
#[derive(Serialize)]
struct Listed<'a> {
    id: i64,
    username: &'a str,
    email: Option<&'a str>,
    active: bool,
    /// Unix seconds, as the database holds it.
    created_at: i64,
}

pub(super) async fn run(command: UsersCommand) -> Result<(), Failure> {
    match command {
        UsersCommand::Create {
            store,
            username,
            email,
            password,
        } => {
            let password = new_password(password).map_err(Failure::Usage)?;
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let form = Registration {
                username: Input::Text(&username),
                email: email.as_deref().map_or(Input::Missing, Input::Text),
                password: Input::Text(&password),
                email_rule: match email {
                    Some(_) => EmailRule::Required,
                    None => EmailRule::Optional,
                },
            };
            let user = auth.register(&ctx, form).await?;
            println!("created user {} (id {})", user.username, user.id);
        }
        UsersCommand::List { store, output } => {
            let auth = open(&store).await?;
            let accounts = auth.accounts().await?;
            let listed: Vec<Listed<'_>> = accounts
                .iter()
                .map(|account| Listed {
                    id: account.user.id,
                    username: &account.user.username,
                    email: account.user.email.as_deref(),
                    active: account.is_active,
                    created_at: account.user.created_at,
                })
                .collect();
            match output {
                Output::Json => print_json(&listed)?,
                Output::Text => print_table(&listed),
            }
        }
        UsersCommand::Disable { store, username } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let (user, revoked) = auth
                .disable_user(&ctx, &username)
                .await?
                .ok_or_else(|| no_such_user(&username))?;
            println!("disabled {}: {}", user.username, ended(revoked));
        }
        UsersCommand::Enable { store, username } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let user = auth
                .enable_user(&ctx, &username)
                .await?
                .ok_or_else(|| no_such_user(&username))?;
            println!("enabled {}", user.username);
        }
        UsersCommand::SetPassword {
            store,
            username,
            password,
        } => {
            let password = new_password(password).map_err(Failure::Usage)?;
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let (user, revoked) = auth
                .set_password(&ctx, &username, Input::Text(&password))
                .await?
                .ok_or_else(|| no_such_user(&username))?;
            println!("set the password of {}: {}", user.username, ended(revoked));
        }
    }
    Ok(())
}

/// `ended 2 sessions and 1 API key`.
fn ended(revoked: Revoked) -> String {
    format!(
        "ended {} and {}",
        count(revoked.sessions, "session", "sessions"),
        count(revoked.api_keys, "API key", "API keys")
    )
}

/// A header and one line per user, in columns.
fn print_table(listed: &[Listed<'_>]) {
    let width = |column: &dyn Fn(&Listed<'_>) -> usize, title: &str| {
        listed
            .iter()
            .map(column)
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let username = width(&|user| user.username.chars().count(), "USERNAME");
    let email = width(&|user| user.email.map_or(1, |e| e.chars().count()), "EMAIL");
    println!(
        "{:>6}  {:username$}  {:email$}  {:8}  CREATED_AT",
        "ID", "USERNAME", "EMAIL", "ACTIVE"
    );
    for user in listed {
        println!(
            "{:>6}  {:username$}  {:email$}  {:8}  {}",
            user.id,
            user.username,
            user.email.unwrap_or("-"),
            if user.active { "active" } else { "disabled" },
            user.created_at
        );
    }
}
