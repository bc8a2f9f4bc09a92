//! authd's load generator: drives one RPC against a running server and reports throughput
//! and latency percentiles. Numbers for notes and the README come from here, measured in
//! one run, never from timed assertions in tests.
//!
//! ```sh
//! cargo run --release &                                    # the server under test
//! cargo run --release --example loadgen -- --rpc get-me --concurrency 64 --duration 10s
//! ```
//!
//! Every run first registers and logs in its own users (names prefixed by a random run id),
//! so it can be pointed at any authd without setup.

#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark tool: fail loudly

use std::time::{Duration, Instant};

use authd::pb::{
    GetMeRequest, LoginRequest, RefreshRequest, RegisterRequest,
    auth_service_client::AuthServiceClient,
};
use clap::{Parser, ValueEnum};
use tonic::{Request, transport::Channel};

#[derive(Parser, Debug)]
struct Args {
    /// Server to load.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    target: String,
    /// The RPC to repeat.
    #[arg(long, value_enum, default_value = "get-me")]
    rpc: Rpc,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// HTTP/2 connections the requests are spread over.
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// How long to run, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Rpc {
    /// GetMe with a valid access token (JWT verify + one indexed read).
    GetMe,
    /// Login with the right password (one argon2 verify + one write).
    Login,
    /// Login with a wrong password for an existing user.
    LoginWrongPassword,
    /// Login for a username that does not exist (verifies against the dummy hash).
    LoginUnknownUser,
    /// Register a new user each time (one argon2 hash + one write).
    Register,
    /// Refresh, each worker following its own rotation chain (one write).
    Refresh,
}

const PASSWORD: &str = "load-test-passphrase-1";

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let run_id = format!(
        "{:08x}",
        std::process::id() ^ Instant::now().elapsed().subsec_nanos()
    );
    let mut channels = Vec::new();
    for _ in 0..args.connections.max(1) {
        channels.push(
            Channel::from_shared(args.target.clone())
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.concurrency {
        let client = AuthServiceClient::new(channels[worker % channels.len()].clone());
        let name = format!("load{run_id}w{worker}");
        workers.push(tokio::spawn(run_worker(client, args.rpc, name, deadline)));
    }
    let mut latencies = Vec::new();
    let mut errors = 0usize;
    for worker in workers {
        let (mut samples, failed) = worker.await.unwrap();
        latencies.append(&mut samples);
        errors += failed;
    }
    let elapsed = started.elapsed().as_secs_f64();
    report(&args, &mut latencies, errors, elapsed);
}

/// Sets up this worker's user, then repeats the RPC until the deadline.
async fn run_worker(
    mut client: AuthServiceClient<Channel>,
    rpc: Rpc,
    name: String,
    deadline: Instant,
) -> (Vec<u32>, usize) {
    let setup_needed = !matches!(rpc, Rpc::Register | Rpc::LoginUnknownUser);
    let mut access = String::new();
    let mut refresh = String::new();
    if setup_needed {
        let register = RegisterRequest {
            username: name.clone(),
            email: format!("{name}@example.com"),
            password: PASSWORD.into(),
        };
        client.register(register).await.expect("setup: register");
        let login = LoginRequest {
            username: name.clone(),
            password: PASSWORD.into(),
        };
        let tokens = client
            .login(login)
            .await
            .expect("setup: login")
            .into_inner()
            .tokens
            .unwrap();
        access = format!("Bearer {}", tokens.access_token);
        refresh = tokens.refresh_token;
    }
    let mut samples = Vec::new();
    let mut failed = 0;
    let mut sequence = 0u64;
    while Instant::now() < deadline {
        sequence += 1;
        let start = Instant::now();
        let ok = match rpc {
            Rpc::GetMe => {
                let mut request = Request::new(GetMeRequest {});
                request
                    .metadata_mut()
                    .insert("authorization", access.parse().unwrap());
                client.get_me(request).await.is_ok()
            }
            Rpc::Login => client.login(login(&name, PASSWORD)).await.is_ok(),
            Rpc::LoginWrongPassword => client
                .login(login(&name, "wrong-passphrase"))
                .await
                .is_err(),
            Rpc::LoginUnknownUser => client
                .login(login(&format!("{name}x"), PASSWORD))
                .await
                .is_err(),
            Rpc::Register => {
                let username = format!("{name}n{sequence}");
                let request = RegisterRequest {
                    email: format!("{username}@example.com"),
                    username,
                    password: PASSWORD.into(),
                };
                client.register(request).await.is_ok()
            }
            Rpc::Refresh => {
                let request = RefreshRequest {
                    refresh_token: refresh.clone(),
                };
                match client.refresh(request).await {
                    Ok(response) => {
                        refresh = response.into_inner().tokens.unwrap().refresh_token;
                        true
                    }
                    Err(_) => false,
                }
            }
        };
        samples.push(start.elapsed().as_micros().min(u32::MAX as u128) as u32);
        if !ok {
            failed += 1;
        }
    }
    (samples, failed)
}

fn login(username: &str, password: &str) -> LoginRequest {
    LoginRequest {
        username: username.into(),
        password: password.into(),
    }
}

fn report(args: &Args, latencies: &mut [u32], errors: usize, elapsed: f64) {
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    println!(
        "rpc={:?} concurrency={} connections={} seconds={:.1} requests={} unexpected={} rate={:.0}/s \
         p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms",
        args.rpc,
        args.concurrency,
        args.connections,
        elapsed,
        latencies.len(),
        errors,
        latencies.len() as f64 / elapsed,
        percentile(0.50),
        percentile(0.90),
        percentile(0.99),
        percentile(1.0),
    );
}
