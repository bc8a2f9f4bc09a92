//! `authd`: parse the settings, start logging, bind, serve until SIGINT or SIGTERM; or, given
//! an admin subcommand (`authd users …`), run it and exit.

use std::{process::ExitCode, sync::Arc};

use authd::telemetry::logs::LogFormat;
use authd::{
    admin,
    cli::{Cli, Invocation},
    clock::SystemClock,
    config::Config,
    listener::Tls,
    server,
};
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let invocation = Cli::parse().invocation();
    // `--log` / `AUTHD_LOG`, else `RUST_LOG`, else (or when the filter does not parse) info;
    // an admin subcommand, whose output is its own lines, logs only warnings by default.
    let (directives, default, format) = match &invocation {
        Invocation::Serve(config) => (config.log.clone(), "info", config.log_format),
        Invocation::Admin(_) => (
            std::env::var("AUTHD_LOG").ok(),
            "warn",
            LogFormat::from_env(),
        ),
    };
    let filter = match directives {
        Some(directives) => EnvFilter::try_new(directives).ok(),
        None => EnvFilter::try_from_default_env().ok(),
    }
    .unwrap_or_else(|| EnvFilter::new(default));
    // Held to the end of `main`: dropping it writes the log lines still waiting.
    let log_flushing = authd::telemetry::logs::init(filter, format);
    let config = match invocation {
        Invocation::Serve(config) => config,
        Invocation::Admin(command) => return admin::run(command).await,
    };
    match serve(*config, &log_flushing).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "authd stopped");
            ExitCode::FAILURE
        }
    }
}

/// Checks the settings, binds the port, and only then opens (or creates) the database, so a
/// mistake or a taken port is reported before anything is written.
async fn serve(
    config: Config,
    log: &authd::telemetry::logs::Flushing<std::io::Stderr>,
) -> Result<(), Box<dyn std::error::Error>> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(format!("invalid configuration: {}", problems.join("; ")).into());
    }
    // A certificate or key that does not load is the operator's mistake, named as one and
    // before the port or the database; `server::build` loads the files it serves from.
    if let Some(files) = config.tls_settings() {
        Tls::load(files).map_err(|problem| format!("invalid configuration: {problem}"))?;
    }
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    tracing::info!(database = ?config.database_url, "opening the database");
    let app = server::build(&config, Arc::new(SystemClock))
        .await
        .map_err(|e| e.with_cause())?;
    let tls = config.tls_settings().is_some();
    // From here a SIGINT or SIGTERM is a graceful shutdown, which writes every log line.
    let shutdown = shutdown_signal();
    tracing::info!(address = %listener.local_addr()?, tls, "authd listening");
    if let Some(path) = &config.address_file {
        write_address_file(path, listener.local_addr()?)?;
    }
    log.batch_from_now();
    server::run(listener, app, shutdown)
        .await
        .map_err(|e| e.with_cause())?;
    tracing::info!("authd stopped cleanly");
    Ok(())
}

/// Writes `address` and a newline to `path` through `PATH.tmp` and a rename, so whoever
/// waits for the file never reads half of it.
fn write_address_file(path: &std::path::Path, address: std::net::SocketAddr) -> Result<(), String> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".tmp");
    let partial = std::path::PathBuf::from(partial);
    std::fs::write(&partial, format!("{address}\n"))
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|error| {
            let _ = std::fs::remove_file(&partial);
            format!("cannot write the address file {}: {error}", path.display())
        })
}

/// Completes on the first SIGINT (Ctrl-C) or SIGTERM (what `docker stop` and systemd send).
/// Both are caught from the call on, not from the first poll.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt());
    let terminate = signal(SignalKind::terminate());
    async move {
        let (mut interrupt, mut terminate) = match (interrupt, terminate) {
            (Ok(interrupt), Ok(terminate)) => (interrupt, terminate),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "cannot listen for SIGINT and SIGTERM");
                return std::future::pending().await;
            }
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down");
    }
}

/// jemalloc rather than glibc's malloc: a request's buffers are made on one async worker
/// and often freed or grown on the other (tasks move between workers), and glibc then
/// takes the arena lock of the thread that made them, so the two workers waited on each
/// other's locks (9 % of the server's samples under `/healthz` load). jemalloc's per-thread
/// caches do not. Measured in BENCHMARKS.md: GetMe ×1.16 on SQLite and ×1.41 on
/// PostgreSQL, idle RSS +2 MiB.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
