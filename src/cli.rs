//! The command line: `authd` alone (or `authd serve`) serves with [`Config`]'s flags; the
//! other subcommands administer the database the same flags name, and exit.
//!
//! Serving stays the default so every existing command line, script and container keeps
//! working: with no subcommand, the top level takes exactly the serving flags. The admin
//! subcommands take only what they use: the database and its key-encryption key
//! ([`StoreArgs`], the same flags and `AUTHD_*` variables as serving), plus their own. Every
//! other setting of the core they open (the argon2 parameters a new password is hashed with,
//! say) comes from its `AUTHD_*` variable, as for the server beside them. A password is
//! never a flag value: a command line is visible to every local user.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::{
    auth::sealing::KeyEncryptionKey,
    config::{Config, DatabaseUrl, KekParser, parse_duration},
};

#[derive(Parser, Debug)]
#[command(
    name = "authd",
    version,
    about = "Authentication service: gRPC, grpc-web and Django-compatible REST on one port.",
    long_about = "Authentication service: gRPC, grpc-web and Django-compatible REST on one \
        port.\n\nWith no subcommand, authd serves (as `authd serve`), taking the flags below.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// The serving flags, when no subcommand is given.
    #[command(flatten)]
    pub serve: Config,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve gRPC, grpc-web and REST on one port (what `authd` alone does).
    // Boxed: the serving settings dwarf every admin subcommand's.
    Serve(Box<Config>),
    #[command(flatten)]
    Admin(AdminCommand),
}

/// The subcommands that administer the database and exit.
#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create or update the database schema, then exit (for deployments that migrate
    /// before they roll out).
    Migrate(StoreArgs),
    /// Create, list, disable and enable users, and set their passwords.
    #[command(subcommand)]
    Users(UsersCommand),
    /// List a user's sessions, and end them.
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// Delete the records of sessions and tokens that ended long ago.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// List, rotate and retire the keys that sign tokens.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Ask a running authd whether it is ready (`GET /readyz`): exit 0 if it is, 1 if not
    /// or if it does not answer. For container HEALTHCHECKs, where no curl is installed.
    Health {
        /// The address authd listens on (an unspecified address such as `0.0.0.0` means
        /// this machine).
        #[arg(long, env = "AUTHD_LISTEN", default_value = "127.0.0.1:50051")]
        address: std::net::SocketAddr,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        timeout: i64,
    },
    /// Bring users across from a Django database: `auth_user` (or `--user-table`), their
    /// password hashes (verified at login, upgraded to argon2id then) and DRF token keys.
    /// Users whose username or email an authd user already holds (ignoring case) are
    /// skipped and listed; running it again imports nothing twice.
    ImportDjango {
        #[command(flatten)]
        store: StoreArgs,
        /// The Django database: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Only
        /// read, never written.
        #[arg(long = "from", value_name = "URL", hide_env_values = true)]
        from: DatabaseUrl,
        /// A custom user table with `id`, `username`, `email` and `password` columns (as
        /// seed 2's `jwt_api_member`), instead of `auth_user`.
        #[arg(long, value_name = "NAME", default_value = "auth_user")]
        user_table: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SessionsCommand {
    /// List the live sessions of a user, newest first.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// The user whose sessions to list.
        #[arg(long = "user", value_name = "USERNAME", allow_hyphen_values = true)]
        user: String,
        /// `text` (columns) or `json` (an array of objects).
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// End every live session of a user, or one session by its id; its tokens stop working
    /// on every running node at their next request. API keys are left alone (`users
    /// disable` ends those too).
    #[command(group(clap::ArgGroup::new("which").required(true).args(["user", "session"])))]
    Revoke {
        #[command(flatten)]
        store: StoreArgs,
        /// End all the sessions of this user.
        #[arg(long = "user", value_name = "USERNAME", allow_hyphen_values = true)]
        user: Option<String>,
        /// End this one session (its id from `sessions list` or ListSessions).
        #[arg(long = "session", value_name = "ID")]
        session: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List the signing keys: the active one, rotated ones (still verifying) and retired
    /// ones, and whether the JWKS publishes each.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// `text` (columns) or `json` (an array of objects).
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Make a new active signing key. Every running node signs with it within seconds,
    /// without a restart, and keeps verifying the old one until its tokens have expired.
    Rotate {
        #[command(flatten)]
        store: StoreArgs,
        /// The new key's algorithm; by default the active key's own.
        #[arg(long, value_enum)]
        algorithm: Option<KeyAlgorithmArg>,
    },
    /// Withdraw a key that leaked: the tokens it signed stop working on every node at once,
    /// and it leaves the JWKS. The active key cannot be retired: rotate first.
    Retire {
        #[command(flatten)]
        store: StoreArgs,
        /// The key's `kid`, as `keys list` shows it (a base64url thumbprint may begin
        /// with `-`).
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
}

/// The key-pair algorithms `keys rotate --algorithm` takes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithmArg {
    Eddsa,
    Es256,
}

/// What one invocation of `authd` does.
#[derive(Debug)]
pub enum Invocation {
    Serve(Box<Config>),
    Admin(AdminCommand),
}

impl Cli {
    /// Serving (with no subcommand, or `serve`), or one admin subcommand.
    pub fn invocation(self) -> Invocation {
        match self.command {
            None => Invocation::Serve(Box::new(self.serve)),
            Some(Command::Serve(config)) => Invocation::Serve(config),
            Some(Command::Admin(command)) => Invocation::Admin(command),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum UsersCommand {
    /// Create a user, held to the same rules as one registered over the API.
    Create {
        #[command(flatten)]
        store: StoreArgs,
        /// The new user's username.
        #[arg(long, allow_hyphen_values = true)]
        username: String,
        /// The new user's email address. Without it the user has none (as the DRF token
        /// API's `/api/create/` allows).
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// List every user.
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// `text`: one line per user; `json`: one JSON array.
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Stop a user from logging in, and end all their sessions and API keys at once.
    Disable {
        #[command(flatten)]
        store: StoreArgs,
        /// The username (Django's rules allow one that begins with `-`).
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Let a disabled user log in again (their ended sessions stay ended).
    Enable {
        #[command(flatten)]
        store: StoreArgs,
        /// The username (Django's rules allow one that begins with `-`).
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Give a user a new password (held to the password policy), and end all their
    /// sessions and API keys.
    SetPassword {
        #[command(flatten)]
        store: StoreArgs,
        /// The username (Django's rules allow one that begins with `-`).
        #[arg(allow_hyphen_values = true)]
        username: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokensCommand {
    /// Delete the records of sessions, tokens and API keys that ended (revoked, or expired)
    /// more than `--older-than` ago, and forgotten login failures, in small batches; print
    /// how many of each.
    Purge {
        #[command(flatten)]
        store: StoreArgs,
        /// How long ago a record must have ended (e.g. 30d, 12h, 90m).
        #[arg(long, default_value = "30d", value_parser = parse_duration)]
        older_than: i64,
    },
}

/// How a list is printed.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
}

/// Where a new password comes from: standard input, or a prompt that does not echo.
#[derive(Args, Debug, Clone, Copy)]
pub struct PasswordArgs {
    /// Read the password from standard input (everything up to the end, less one trailing
    /// newline), for scripts: `printf '%s' "$PASSWORD" | authd users …`. Without it, authd
    /// prompts for it twice, without echo, when standard input is a terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

/// The database an admin subcommand works on and the key that opens its signing keys: the
/// same flags and variables as serving.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`, as for serving.
    #[arg(
        long,
        env = "AUTHD_DATABASE_URL",
        default_value = "sqlite://authd.db",
        hide_env_values = true
    )]
    pub database_url: DatabaseUrl,

    /// The key-encryption key that seals the signing keys (64 hex characters); give it as
    /// the variable, not the flag. As for serving.
    #[arg(
        long,
        env = "AUTHD_KEY_ENCRYPTION_KEY",
        hide_env_values = true,
        value_parser = KekParser,
        conflicts_with = "key_encryption_key_file"
    )]
    pub key_encryption_key: Option<KeyEncryptionKey>,

    /// A file holding the key-encryption key. Default: `DATABASE.kek` beside a SQLite file,
    /// `./authd.kek` for PostgreSQL, as for serving.
    #[arg(long, env = "AUTHD_KEY_ENCRYPTION_KEY_FILE", value_name = "PATH")]
    pub key_encryption_key_file: Option<PathBuf>,
}

impl StoreArgs {
    /// The settings the core is opened with: every `AUTHD_*` variable as serving reads
    /// them, with this subcommand's database and key.
    pub fn config(&self) -> Result<Config, clap::Error> {
        let mut config = Config::try_parse_from(["authd"])?;
        config.database_url = self.database_url.clone();
        config.key_encryption_key = self.key_encryption_key.clone();
        config.key_encryption_key_file = self.key_encryption_key_file.clone();
        // One command needs one connection, not a server's pool.
        config.database_max_connections = 2;
        config.keep_signing_algorithm = true;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    #[test]
    fn no_subcommand_serves_with_every_serving_flag() {
        let Invocation::Serve(config) =
            parse(&["authd", "--listen", "127.0.0.1:0", "--ip-limit", "0"]).invocation()
        else {
            panic!("no subcommand serves");
        };
        assert_eq!(config.listen.to_string(), "127.0.0.1:0");
        assert_eq!(config.ip_limit, 0);
        let Invocation::Serve(config) =
            parse(&["authd", "serve", "--listen", "127.0.0.1:7"]).invocation()
        else {
            panic!("serve parses as serve");
        };
        assert_eq!(config.listen.to_string(), "127.0.0.1:7");
    }

    #[test]
    fn admin_subcommands_name_the_database_and_default_as_serving_does() {
        let cli = parse(&["authd", "users", "list", "--database-url", "sqlite://x.db"]);
        let Invocation::Admin(AdminCommand::Users(UsersCommand::List { store, output })) =
            cli.invocation()
        else {
            panic!("users list");
        };
        assert_eq!(store.database_url.expose(), "sqlite://x.db");
        assert_eq!(output, Output::Text);
        let Invocation::Admin(AdminCommand::Migrate(store)) =
            parse(&["authd", "migrate"]).invocation()
        else {
            panic!("migrate");
        };
        let serving = Config::try_parse_from(["authd"]).unwrap();
        assert_eq!(
            store.database_url.expose(),
            serving.database_url.expose(),
            "one default database for serving and administering"
        );
    }

    #[test]
    fn kids_and_usernames_may_begin_with_a_hyphen() {
        let cli = parse(&[
            "authd",
            "keys",
            "retire",
            "-Wx9_a",
            "--database-url",
            "sqlite://x.db",
        ]);
        let Invocation::Admin(AdminCommand::Keys(KeysCommand::Retire { kid, store })) =
            cli.invocation()
        else {
            panic!("keys retire");
        };
        assert_eq!(kid, "-Wx9_a");
        assert_eq!(store.database_url.expose(), "sqlite://x.db");
        let cli = parse(&["authd", "users", "disable", "-bob"]);
        let Invocation::Admin(AdminCommand::Users(UsersCommand::Disable { username, .. })) =
            cli.invocation()
        else {
            panic!("users disable");
        };
        assert_eq!(username, "-bob");
        let cli = parse(&["authd", "sessions", "list", "--user", "-bob"]);
        let Invocation::Admin(AdminCommand::Sessions(SessionsCommand::List { user, .. })) =
            cli.invocation()
        else {
            panic!("sessions list");
        };
        assert_eq!(user, "-bob");
    }

    #[test]
    fn a_password_is_never_a_flag_value() {
        assert!(
            Cli::try_parse_from([
                "authd",
                "users",
                "create",
                "--username",
                "a",
                "--password",
                "x"
            ])
            .is_err()
        );
        let cli = parse(&[
            "authd",
            "users",
            "set-password",
            "alice",
            "--password-stdin",
        ]);
        let Invocation::Admin(AdminCommand::Users(UsersCommand::SetPassword { password, .. })) =
            cli.invocation()
        else {
            panic!("set-password");
        };
        assert!(password.password_stdin);
    }

    #[test]
    fn purges_default_to_30_days() {
        let Invocation::Admin(AdminCommand::Tokens(TokensCommand::Purge { older_than, .. })) =
            parse(&["authd", "tokens", "purge"]).invocation()
        else {
            panic!("tokens purge");
        };
        assert_eq!(older_than, 30 * 86_400);
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
