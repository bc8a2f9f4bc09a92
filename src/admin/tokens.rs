//! `authd tokens purge`: the retention pass `serve` runs on its own, once, with the age
//! given on the command line.

use super::{Failure, count, open};
use crate::cli::TokensCommand;

pub(super) async fn run(command: TokensCommand) -> Result<(), Failure> {
    match command {
        TokensCommand::Purge { store, older_than } => {
            let auth = open(&store).await?;
            let purged = auth.purge_ended(older_than).await?;
            println!("deleted {}", count(purged.sessions, "session", "sessions"));
            println!("deleted {}", count(purged.tokens, "token", "tokens"));
            println!("deleted {}", count(purged.api_keys, "API key", "API keys"));
            println!(
                "deleted {}",
                count(
                    purged.login_attempts,
                    "forgotten login-failure record",
                    "forgotten login-failure records"
                )
            );
            Ok(())
        }
    }
}
