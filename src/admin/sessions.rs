//! `authd sessions …`: a user's live sessions, and ending them from the shell. The same
//! store rows the API reads, so an end takes effect on every node's next request.

use serde::Serialize;

use super::{Failure, count, no_such_user, open};
use crate::{
    auth::{Caller, model::SessionInfo},
    cli::{Output, SessionsCommand},
    utc::utc_timestamp,
};

/// One session as `sessions list --output json` prints it (ListSessions' fields).
#[derive(Serialize)]
struct Listed<'a> {
    id: &'a str,
    created_at: String,
    expires_at: String,
    last_used_at: String,
    user_agent: Option<&'a str>,
    ip: Option<&'a str>,
}

impl<'a> From<&'a SessionInfo> for Listed<'a> {
    fn from(session: &'a SessionInfo) -> Self {
        Self {
            id: &session.id,
            created_at: utc_timestamp(session.created_at),
            expires_at: utc_timestamp(session.expires_at),
            last_used_at: utc_timestamp(session.last_used_at),
            user_agent: session.user_agent.as_deref(),
            ip: session.ip.as_deref(),
        }
    }
}

pub(super) async fn run(command: SessionsCommand) -> Result<(), Failure> {
    match command {
        SessionsCommand::List {
            store,
            user,
            output,
        } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            let (_, sessions) = auth
                .sessions_of(&ctx, &user)
                .await?
                .ok_or_else(|| no_such_user(&user))?;
            let listed: Vec<Listed<'_>> = sessions.iter().map(Listed::from).collect();
            match output {
                Output::Json => super::print_json(&listed)?,
                Output::Text => print_table(&listed),
            }
        }
        SessionsCommand::Revoke {
            store,
            user,
            session,
        } => {
            let auth = open(&store).await?;
            let ctx = auth.context(Caller::default());
            match (user, session) {
                (_, Some(id)) => {
                    if !auth.end_session_by_id(&ctx, &id).await? {
                        return Err(Failure::Usage(format!("no live session with id {id:?}")));
                    }
                    println!("ended session {id}");
                }
                (Some(user), None) => {
                    let (user, ended) = auth
                        .end_sessions_of(&ctx, &user)
                        .await?
                        .ok_or_else(|| no_such_user(&user))?;
                    println!(
                        "ended {} of {}",
                        count(ended, "session", "sessions"),
                        user.username
                    );
                }
                (None, None) => {
                    return Err(Failure::Usage("give --user or --session".into()));
                }
            }
        }
    }
    Ok(())
}

fn print_table(listed: &[Listed<'_>]) {
    println!(
        "{:32}  {:20}  {:20}  {:20}  {:15}  USER_AGENT",
        "ID", "CREATED_AT", "LAST_USED_AT", "EXPIRES_AT", "IP"
    );
    for session in listed {
        println!(
            "{:32}  {:20}  {:20}  {:20}  {:15}  {}",
            session.id,
            session.created_at,
            session.last_used_at,
            session.expires_at,
            session.ip.unwrap_or("-"),
            session.user_agent.unwrap_or("-")
        );
    }
}
